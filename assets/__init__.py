"""The studio's non-code resources: the application icon and the stylesheet. Found the same way
from a checkout and from an installed wheel (they are package data of this package)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

ICON = "genstudio.svg"
STYLESHEET = "studio.qss"


def path(name: str) -> Path:
    """The file ``name`` of the assets (as a real path on disk)."""
    return Path(str(resources.files(__name__) / name))


def text(name: str) -> str:
    return (resources.files(__name__) / name).read_text(encoding="utf-8")
