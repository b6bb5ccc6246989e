"""Datasets from ``torchvision.datasets`` (optional extra; needs a network the first time).

They download into ``<cache_dir>/torchvision`` and keep their own train/test split; images are
converted like folder images (grey or RGB, size x size). Train is capped at 60,000 images.
"""
from __future__ import annotations

import numpy as np

from engines.data import cache_dir
from engines.data.base import DataError, ImageDataset
from engines.data.folder import pil_to_array

KNOWN = {name.lower(): name for name in ("MNIST", "FashionMNIST", "SVHN", "CIFAR10", "CelebA")}
SPLIT_ARG = {"SVHN", "CelebA"}  # these take split='train'/'test' instead of train=True/False
MAX_TRAIN = 60_000


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _import_datasets(spec: str):
    try:
        from torchvision import datasets
    except ImportError:
        reason = "which is not installed"
    except Exception as exc:  # installed but built for another torch: fails with RuntimeError etc.
        reason = f"which failed to import ({_first_line(exc)})"
    else:
        return datasets
    raise DataError(f"{spec} needs torchvision, {reason}: pip install 'genstudio[torchvision]'")


def _convert(dataset, limit: int, size: int, grey: bool, labelled: bool):
    n = min(len(dataset), limit)
    items = [dataset[i] for i in range(n)]
    images = np.stack([pil_to_array(img, size, grey) for img, _ in items]).astype(np.float32) / 255
    labels = np.array([int(y) for _, y in items], dtype=np.int64) if labelled else None
    return images, labels


def load_torchvision(name: str, size: int = 28, grey: bool = True) -> ImageDataset:
    """Train/test as the source splits them; labels for all but CelebA (whose targets are attributes)."""
    canonical = KNOWN.get(name.lower())
    if canonical is None:
        raise DataError(f"unknown torchvision dataset '{name}' (known: {', '.join(KNOWN.values())})")
    spec = f"torchvision:{canonical}"
    cls = getattr(_import_datasets(spec), canonical)
    root = cache_dir() / "torchvision"
    labelled = canonical != "CelebA"
    try:
        splits = []
        for train in (True, False):
            kw = {"split": "train" if train else "test"} if canonical in SPLIT_ARG else {"train": train}
            dataset = cls(str(root), download=True, **kw)
            splits.append(_convert(dataset, MAX_TRAIN if train else len(dataset), size, grey, labelled))
    except Exception as exc:  # network, checksum, disk or format errors from torchvision
        raise DataError(f"{spec}: could not download or read it into '{root}' ({_first_line(exc)})") from exc
    (train_x, train_y), (test_x, test_y) = splits
    return ImageDataset(spec, train_x, test_x, train_y, test_y)
