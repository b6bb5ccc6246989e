"""Launch the studio: ``python main.py [--model rbm] [--data mnist] [--set key=value ...] [--open RUN_DIR]``."""
import sys

if __name__ == "__main__":   # the guard matters: the training process re-imports this file (spawn)
    from studio.app import main

    sys.exit(main())
