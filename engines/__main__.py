"""python -m engines train|eval|list"""
import sys

from engines.cli import main

sys.exit(main())
