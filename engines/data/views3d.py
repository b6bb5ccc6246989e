"""Datasets of procedurally rendered objects (``toys3d``, ``chairs3d``): the dataset type that
keeps each image's view labels (and silhouette masks) beside it, and their on-disk cache.

A spec is ``NAME`` or ``NAME:SIZE`` (e.g. ``toys3d:64``); the images are rendered once by
:mod:`engines.data.render3d`, deterministically from a seed, and cached as uint8 arrays in a
compressed ``.npz`` under :func:`engines.data.cache_dir` (:func:`engines.data.artefacts.cached`:
built once, whoever asks first, and reported while it is built). A cache that cannot be read is
rebuilt; another version of the builder writes another file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engines.data.artefacts import cached
from engines.data.base import DataError, ImageDataset

SIZES = (16, 24, 32, 48, 64, 96, 128)


@dataclass(frozen=True)
class ViewDataset(ImageDataset):
    """An :class:`ImageDataset` of rendered views. ``train_info`` / ``test_info`` map a label name
    (e.g. ``"class"``, ``"instance"``, ``"azimuth"``, ``"elevation"``, ``"lighting"``, ``"model"``)
    to one value per image; ``train_masks`` / ``test_masks`` (N, H, W) in [0, 1] are the objects'
    silhouettes, or None."""
    train_info: dict | None = None
    test_info: dict | None = None
    train_masks: np.ndarray | None = None
    test_masks: np.ndarray | None = None


def parse_spec(spec: str, default_size: int) -> tuple[str, int]:
    """``"toys3d:64"`` -> ``("toys3d", 64)``; a size not in :data:`SIZES` is a DataError."""
    name, _, size = spec.partition(":")
    if not size:
        return name, default_size
    try:
        value = int(size)
    except ValueError:
        value = None
    if value not in SIZES:
        raise DataError(f"{name} size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
    return name, value


def cached_arrays(filename: str, what: str, total: int, unit: str,
                  build: Callable[..., dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored in ``cache_dir()/filename``, or ``build(progress)``'s (``total``
    ``unit`` of work, reported as ``what``), written there (:func:`engines.data.artefacts.cached`)."""
    return cached(filename, what, total, unit, build, _read_arrays, _write_arrays)


def _read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception:  # missing, truncated, not a zip: rebuild
        return None


def _write_arrays(arrays: dict[str, np.ndarray], f) -> None:
    np.savez_compressed(f, **arrays)


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, 3) -> float32 (N, C, H, W) in [0, 1]."""
    x = images.astype(np.float32) / 255
    return np.ascontiguousarray(x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2))


def load_rendered(spec: str) -> ViewDataset:
    """``toys3d[:SIZE]`` or ``chairs3d[:SIZE]``."""
    name = spec.partition(":")[0]
    if name == "toys3d":
        from engines.data.toys3d import load_toys3d
        return load_toys3d(*parse_spec(spec, 32)[1:])
    if name == "chairs3d":
        from engines.data.chairs3d import load_chairs3d
        return load_chairs3d(*parse_spec(spec, 64)[1:])
    raise DataError(f"unknown rendered dataset '{spec}'")
