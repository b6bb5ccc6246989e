"""A folder of PNG/JPEG images, read recursively in path order, resized to size x size."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engines.core.frames import as_u8
from engines.data import split_dataset
from engines.data.base import DataError, ImageDataset

EXTENSIONS = (".png", ".jpg", ".jpeg")


def to_8bit(image: Image.Image) -> Image.Image:
    """An image in a mode Pillow converts faithfully: 16- and 32-bit integer and float greys are
    scaled to 0..255 from their full range (Pillow's own conversion clips them, so a 16-bit PNG
    would come out almost white), palettes become RGB(A), CMYK becomes RGB; alpha is dropped
    (composited on black, as a digit on its background)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image)
        if image.mode == "F":
            lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
            scaled = (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
        else:
            scaled = array.astype(np.float64) / (65535 if image.mode.startswith("I;16") else 2**32 - 1)
            if image.mode == "I" and array.max() <= 65535:
                scaled = array.astype(np.float64) / 65535      # 16-bit PNGs often open as "I"
        return Image.fromarray(as_u8(scaled), "L")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        background = Image.new(image.mode.replace("a", "A").replace("A", ""), image.size, 0)
        background.paste(image.convert(background.mode), mask=image.getchannel("A"))
        return background
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def pil_to_array(image: Image.Image, size: int, grey: bool) -> np.ndarray:
    """One PIL image as uint8 (C, size, size): "L" if grey else "RGB", LANCZOS-resized."""
    image = to_8bit(image).convert("L" if grey else "RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if grey else array.transpose(2, 0, 1)


def _image_files(root: Path) -> list[Path]:
    def fail(err: OSError) -> None:
        raise DataError(f"cannot read folder '{err.filename}': {err.strerror or err}") from err

    files = [Path(d) / f for d, _, names in os.walk(root, onerror=fail)
             for f in names if f.lower().endswith(EXTENSIONS)]
    return sorted(f for f in files if f.is_file())      # regular files only: a pipe would block


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
