"""A folder of PNG/JPEG images, read recursively in path order, resized to size x size."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engines.data import split_dataset
from engines.data.base import DataError, ImageDataset

EXTENSIONS = (".png", ".jpg", ".jpeg")


def pil_to_array(image: Image.Image, size: int, grey: bool) -> np.ndarray:
    """One PIL image as uint8 (C, size, size): "L" if grey else "RGB", LANCZOS-resized."""
    image = image.convert("L" if grey else "RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if grey else array.transpose(2, 0, 1)


def _image_files(root: Path) -> list[Path]:
    def fail(err: OSError) -> None:
        raise DataError(f"cannot read folder '{err.filename}': {err.strerror or err}") from err

    files = [Path(d) / f for d, _, names in os.walk(root, onerror=fail)
             for f in names if f.lower().endswith(EXTENSIONS)]
    return sorted(files)


def _read(path: Path, size: int, grey: bool) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return pil_to_array(ImageOps.exif_transpose(image), size, grey)
    except Exception as exc:  # Pillow reports bad files as OSError, SyntaxError, ValueError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot decode image '{path}': {reason}") from exc


def load_folder(path: str, size: int = 28, grey: bool = True) -> ImageDataset:
    """Images (N, 1 or 3, size, size) float32 in [0, 1], no labels; every 10th file is test."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"image folder '{root}' does not exist")
    if not root.is_dir():
        raise DataError(f"'{root}' is not a folder")
    files = _image_files(root)
    if not files:
        raise DataError(f"no PNG or JPEG images in folder '{root}'")
    if len(files) < 2:
        raise DataError(f"folder '{root}' has 1 image; it needs at least 2 (one to train, one to test)")
    images = np.stack([_read(f, size, grey) for f in files]).astype(np.float32) / 255
    return split_dataset(f"folder:{root}", images)
