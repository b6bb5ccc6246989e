"""The dataset type every engine trains on, and the fixed split/binarization rules of REFERENCE.md."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


class DataError(ValueError):
    """A dataset a user asked for that cannot be loaded; the message says why, in one line."""


@dataclass(frozen=True)
class ImageDataset:
    """Images as float32 in [0, 1], shaped (N, C, H, W).

    ``test_binary`` is the test set binarized once with a fixed seed, so every binary-likelihood
    metric is computed on the same bits: ``default_rng(0).random(test.shape) < test``.
    """
    name: str
    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])

    @cached_property
    def test_binary(self) -> np.ndarray:
        return (np.random.default_rng(0).random(self.test.shape) < self.test).astype(np.float32)
