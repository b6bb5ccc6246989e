"""scikit-learn's 1,797 handwritten 8x8 digits (values 0..16), split every 10th index to test."""
from __future__ import annotations

import numpy as np

from engines.data import split_dataset
from engines.data.base import ImageDataset


def load_digits() -> ImageDataset:
    """Images (N, 1, 8, 8) float32 in [0, 1] with int64 labels."""
    from sklearn.datasets import load_digits as sklearn_digits
    bunch = sklearn_digits()
    images = (bunch.images[:, None] / 16).astype(np.float32)
    return split_dataset("digits", images, bunch.target.astype(np.int64))
