"""``multi-mnist``: 60×60 canvases holding one or two of the embedded MNIST digits at random places
(the generation task of the DRAW paper, where attention pays: most of the canvas is empty).

Canvas i is made from digit i of a split (4,500 train canvases from the train digits, 500 test
canvases from the test digits, so the fixed split of REFERENCE.md carries over) plus, with
probability 1/2, a second digit drawn from the same split. Each 28×28 digit goes at a uniformly
random top-left corner in [0, 32]²; where two digits overlap the brighter pixel wins (max). Labels
are the first digit's. Everything is a function of the seed (``multi-mnist:SEED``, default 0):
the same seed gives the same canvases, bit for bit. Building it takes well under a second, so it
is not cached.
"""
from __future__ import annotations

import numpy as np

from engines.data.base import DataError, ImageDataset

CANVAS = 60
DIGIT = 28


def parse_seed(spec: str, name: str) -> int:
    """The seed of ``name`` or ``name:SEED`` (default 0)."""
    _, sep, text = spec.partition(":")
    if not sep:
        return 0
    try:
        seed = int(text)
    except ValueError:
        raise DataError(f"{name} takes a whole-number seed ({name}:SEED), not {text!r}") from None
    if seed < 0:
        raise DataError(f"{name} seed must be >= 0, got {seed}")
    return seed


def paste(canvases: np.ndarray, index: np.ndarray, digits: np.ndarray, rows: np.ndarray, cols: np.ndarray,
          mode: str) -> None:
    """Paste ``digits[k]`` (28×28) into ``canvases[index[k]]`` at (rows[k], cols[k]), in place:
    ``max`` keeps the brighter pixel, ``over`` overwrites."""
    for i, digit, r, c in zip(index, digits, rows, cols, strict=True):
        window = canvases[i, r:r + DIGIT, c:c + DIGIT]
        window[...] = np.maximum(window, digit) if mode == "max" else digit


def scatter(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One canvas per digit (N, 60, 60), a second digit from the same set on half of them."""
    n = len(digits)
    canvases = np.zeros((n, CANVAS, CANVAS), dtype=np.float32)
    top = CANVAS - DIGIT + 1
    paste(canvases, np.arange(n), digits, rng.integers(0, top, n), rng.integers(0, top, n), "max")
    second = np.flatnonzero(rng.random(n) < 0.5)
    partner = rng.integers(0, n, len(second))
    paste(canvases, second, digits[partner], rng.integers(0, top, len(second)),
          rng.integers(0, top, len(second)), "max")
    return canvases, labels


def load_multi_mnist(seed: int = 0) -> ImageDataset:
    """(N, 1, 60, 60) float32 in [0, 1]: 4,500 train / 500 test canvases."""
    from engines.data.mnist import load_mnist

    mnist = load_mnist()
    train, train_labels = scatter(mnist.train[:, 0], mnist.train_labels, np.random.default_rng([seed, 0]))
    test, test_labels = scatter(mnist.test[:, 0], mnist.test_labels, np.random.default_rng([seed, 1]))
    return ImageDataset(f"multi-mnist:{seed}", train[:, None], test[:, None], train_labels, test_labels)
