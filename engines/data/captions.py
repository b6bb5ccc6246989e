"""``mnist-captions``: 60×60 canvases of the embedded MNIST digits with captions, in the layouts
of Mansimov et al. 2015 (alignDRAW's MNIST with captions).

Eight layouts, each with its caption (A is the digit the caption names first)::

    left          "the digit A is on the left of the digit B"     A rows 16–18, cols 0–4;   B rows 16–18, cols 28–32
    right         "the digit A is on the right of the digit B"    A rows 16–18, cols 28–32; B rows 16–18, cols 0–4
    top           "the digit A is at the top of the digit B"      A rows 0–2, cols 16–18;   B rows 30–32, cols 16–18
    bottom        "the digit A is at the bottom of the digit B"   A rows 30–32, cols 16–18; B rows 0–2, cols 16–18
    top left      "the digit A is at the top left of the image"   rows 0–2,   cols 0–4
    top right     "the digit A is at the top right of the image"  rows 0–2,   cols 28–32
    bottom left   "the digit A is at the bottom left of the image" rows 30–32, cols 0–4
    bottom right  "the digit A is at the bottom right of the image" rows 30–32, cols 28–32

(the top-left corner of each 28×28 digit, uniform in the given ranges; A is pasted first, B over
it). The vocabulary has 21 words (``the digit is on at of left right top bottom image`` and
``0``–``9``); every caption is 11 words long.

Novel compositions: the pairs (A, layout) with ``(A + layout index) % 5 == 0`` (2 digits of 10
per layout, 16 of the 80 pairs) never occur in training. Three sets, all functions of the seed
(``mnist-captions:SEED``, default 0):

- train: one canvas per train digit (4,500), the digit as A in a layout allowed for it, B any
  train digit; regenerated every epoch (:meth:`CaptionDataset.epoch`, epoch 0 is ``train``);
- test: 500 canvases from the test digits, seen (A, layout) pairs, fixed;
- novel: 500 canvases from the test digits, held-out pairs only, fixed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engines.data.base import ImageDataset
from engines.data.multi_mnist import CANVAS, paste

VOCABULARY = ("the", "digit", "is", "on", "at", "of", "left", "right", "top", "bottom", "image",
              *map(str, range(10)))
WORD_INDEX = {w: i for i, w in enumerate(VOCABULARY)}
CAPTION_WORDS = 11
WORD = re.compile(r"[a-z0-9]+")

# name, caption, (rows, cols) ranges of A, of B (None: one digit)
LAYOUTS = (
    ("left", "the digit {a} is on the left of the digit {b}", ((16, 18), (0, 4)), ((16, 18), (28, 32))),
    ("right", "the digit {a} is on the right of the digit {b}", ((16, 18), (28, 32)), ((16, 18), (0, 4))),
    ("top", "the digit {a} is at the top of the digit {b}", ((0, 2), (16, 18)), ((30, 32), (16, 18))),
    ("bottom", "the digit {a} is at the bottom of the digit {b}", ((30, 32), (16, 18)), ((0, 2), (16, 18))),
    ("top left", "the digit {a} is at the top left of the image", ((0, 2), (0, 4)), None),
    ("top right", "the digit {a} is at the top right of the image", ((0, 2), (28, 32)), None),
    ("bottom left", "the digit {a} is at the bottom left of the image", ((30, 32), (0, 4)), None),
    ("bottom right", "the digit {a} is at the bottom right of the image", ((30, 32), (28, 32)), None),
)


def held_out(digit: int, layout: int) -> bool:
    """Whether (digit A, layout) is a novel composition, never shown in training."""
    return (digit + layout) % 5 == 0


def caption(layout: int, a: int, b: int | None = None) -> str:
    return LAYOUTS[layout][1].format(a=a, b=b)


def split_words(text: str) -> list[str]:
    """A caption's words: lower case, split on anything that is not a letter or a digit."""
    return WORD.findall(text.lower())


def encode(text: str) -> tuple[list[int], list[str]]:
    """Token ids of the known words of ``text`` and the list of its unknown words."""
    words = split_words(text)
    return [WORD_INDEX[w] for w in words if w in WORD_INDEX], [w for w in words if w not in WORD_INDEX]


def decode(tokens) -> str:
    return " ".join(VOCABULARY[int(t)] for t in tokens)


def novel_captions() -> list[str]:
    """One caption per held-out (A, layout) pair (B chosen as A + 3 mod 10): compositions to try."""
    return [caption(k, a, (a + 3) % 10) for k in range(len(LAYOUTS)) for a in range(10) if held_out(a, k)]


def compose(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, novel: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Canvases (N, 60, 60), tokens (N, 11), first digits A (N,) and layouts (N,): digit ``i`` of
    a permutation is A, in a layout drawn uniformly among those allowed for it (held-out pairs
    only if ``novel``, never otherwise); B is any digit of the set."""
    n = len(digits)
    first = rng.permutation(n)
    a = labels[first]
    allowed = np.array([[held_out(d, k) == novel for k in range(len(LAYOUTS))] for d in range(10)])
    choice = rng.random((n, len(LAYOUTS))) * allowed[a]
    layout = choice.argmax(1)
    second = rng.integers(0, len(digits), n)
    canvases = np.zeros((n, CANVAS, CANVAS), dtype=np.float32)
    tokens = np.zeros((n, CAPTION_WORDS), dtype=np.int64)
    corner = np.empty((2, 2, n), dtype=np.int64)
    for k, (_, _, pos_a, pos_b) in enumerate(LAYOUTS):
        for which, pos in enumerate((pos_a, pos_b)):
            if pos is not None:
                for axis in range(2):
                    corner[which, axis, layout == k] = rng.integers(pos[axis][0], pos[axis][1] + 1,
                                                                    int((layout == k).sum()))
    paste(canvases, np.arange(n), digits[first], corner[0, 0], corner[0, 1], "over")
    two = np.flatnonzero(np.array([LAYOUTS[k][3] is not None for k in range(len(LAYOUTS))])[layout])
    paste(canvases, two, digits[second[two]], corner[1, 0, two], corner[1, 1, two], "over")
    for i in range(n):
        tokens[i] = encode(caption(layout[i], a[i], labels[second[i]]))[0]
    return canvases, tokens, a, layout


@dataclass(frozen=True)
class CaptionDataset(ImageDataset):
    """Images (N, 1, 60, 60) with ``*_tokens`` (N, 11) captions; ``train`` is epoch 0 of the
    training set (:meth:`epoch` makes any other), ``test`` the fixed seen-composition set and
    ``novel`` the fixed novel-composition set."""
    train_tokens: np.ndarray | None = None
    test_tokens: np.ndarray | None = None
    novel: np.ndarray | None = None
    novel_tokens: np.ndarray | None = None
    train_layouts: np.ndarray | None = None
    test_layouts: np.ndarray | None = None
    novel_labels: np.ndarray | None = None
    novel_layouts: np.ndarray | None = None
    digits: np.ndarray | None = None          # the train digits (N, 28, 28) every epoch is made of
    digit_labels: np.ndarray | None = None
    seed: int = 0

    def epoch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Images (4500, 1, 60, 60) and tokens of training epoch ``index`` (0 is ``train``)."""
        if index == 0:
            return self.train, self.train_tokens
        images, tokens, _, _ = compose(self.digits, self.digit_labels, np.random.default_rng([self.seed, 0, index]),
                                       novel=False)
        return images[:, None], tokens

    @cached_property
    def novel_binary(self) -> np.ndarray:
        """The novel set binarized once, as ``test_binary``."""
        return (np.random.default_rng(0).random(self.novel.shape) < self.novel).astype(np.float32)


def load_mnist_captions(seed: int = 0) -> CaptionDataset:
    from engines.data.mnist import load_mnist

    mnist = load_mnist()
    digits, labels = mnist.train[:, 0], mnist.train_labels
    train, train_tokens, train_a, train_layouts = compose(digits, labels, np.random.default_rng([seed, 0, 0]), False)
    test, test_tokens, test_a, test_layouts = compose(mnist.test[:, 0], mnist.test_labels,
                                                      np.random.default_rng([seed, 1]), False)
    novel, novel_tokens, novel_a, novel_layouts = compose(mnist.test[:, 0], mnist.test_labels,
                                                          np.random.default_rng([seed, 2]), True)
    return CaptionDataset(f"mnist-captions:{seed}", train[:, None], test[:, None], train_a, test_a,
                          train_tokens=train_tokens, test_tokens=test_tokens, novel=novel[:, None],
                          novel_tokens=novel_tokens, train_layouts=train_layouts, test_layouts=test_layouts,
                          novel_labels=novel_a, novel_layouts=novel_layouts, digits=digits, digit_labels=labels,
                          seed=seed)
