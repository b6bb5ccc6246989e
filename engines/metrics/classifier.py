"""The project's digit classifier: the fixed feature extractor of every Fréchet distance and class
spread measured on 28×28 grey digits (REFERENCE.md: "use one classifier trained by the project on
the embedded data, fix it, and only compare numbers made with the same classifier").

A small CNN, ``[conv3×3(16), BN, ReLU, pool] → [conv3×3(32), BN, ReLU, pool] → dense(64), ReLU →
dense(10)``, trained on the
4,500 embedded MNIST train digits with light augmentation (random rotations of ±10°, scalings of
±10 % and shifts of ±2 px), deterministically from a seed on the CPU. Its 64 penultimate ReLU units
are the features. The trained weights and the held-out accuracy are cached in
``<cache_dir>/digit-classifier-v1-seed<S>.pt``, keyed by a hash of the training images, so every
run and every machine with the same data use the same classifier. It is built through
:func:`engines.data.artefacts.cached`: in the same autograd, device and random context whoever asks
first (a GAN's first sample check asks from inside ``torch.no_grad()``), and reported epoch by epoch.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engines.data.artefacts import cached
from engines.data.base import ImageDataset

VERSION = 1
FEATURES = 64
EPOCHS = 12
BATCH = 64


class DigitClassifier(nn.Module):
    """``logits = W₂ · relu(W₁ · flatten(block₂(block₁(x))))`` with ``block = pool ∘ relu ∘ BN ∘
    conv3×3``; the inner ``relu(W₁ ·)`` (64 units) is :meth:`features`. Input (N, 1, 28, 28) in
    [0, 1]."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.hidden = nn.Linear(32 * 7 * 7, FEATURES)
        self.out = nn.Linear(FEATURES, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return F.relu(self.hidden(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image rotated by U(−10°, 10°), scaled by U(0.9, 1.1) and shifted by U(−2, 2) pixels
    (one affine map per image, bilinear resampling, zeros outside)."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator) * 2 - 1
    angle, scale = u[:, 0] * math.radians(10), 1 + 0.1 * u[:, 1]
    shift = u[:, 2:] * (2 * 2 / x.shape[-1])          # 2 px in affine_grid's [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def train_classifier(data: ImageDataset, seed: int = 0, epochs: int = EPOCHS,
                     progress=None) -> tuple[DigitClassifier, float]:
    """Train on ``data.train`` (Adam, lr 2e-3 decayed by cosine to 0, cross-entropy, batch 64) on
    the CPU; returns the model (eval mode) and its accuracy on ``data.test``. Needs autograd on
    (:func:`engines.data.artefacts.neutral_torch` sees to it); ``progress.advance()`` after each
    epoch."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier()
    x = torch.from_numpy(data.train)
    y = torch.from_numpy(data.train_labels)
    steps = epochs * math.ceil(len(x) / BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            loss = F.cross_entropy(model(augment(x[idx], generator)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress is not None:
            progress.advance()
    model.eval()
    return model, accuracy(model, data)


@torch.no_grad()
def accuracy(model: DigitClassifier, data: ImageDataset) -> float:
    """Fraction of ``data.test`` classified right."""
    device = next(model.parameters()).device
    logits = model(torch.from_numpy(data.test).to(device))
    return float((logits.argmax(1).cpu() == torch.from_numpy(data.test_labels)).float().mean())


def _fingerprint(data: ImageDataset) -> str:
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(data.train).tobytes())
    h.update(np.ascontiguousarray(data.train_labels).tobytes())
    return h.hexdigest()


def _read_cache(path: Path, fingerprint: str) -> tuple[DigitClassifier, float] | None:
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["version"] != VERSION or saved["data"] != fingerprint:
            return None
        model = DigitClassifier()
        model.load_state_dict(saved["state"])
        return model, float(saved["accuracy"])
    except Exception:  # missing, truncated, foreign or stale file: any of them means retrain
        return None


def digit_classifier(device: torch.device | str = "cpu", seed: int = 0) -> tuple[DigitClassifier, float]:
    """The project's classifier for the embedded MNIST digits and its held-out accuracy: read from
    the cache, or trained (about half a minute on one CPU core) and cached."""
    from engines.data.mnist import load_mnist

    data = load_mnist()
    fingerprint = _fingerprint(data)
    model, acc = cached(
        f"digit-classifier-v{VERSION}-seed{seed}.pt", "the digit classifier for Fréchet distances", EPOCHS, "epochs",
        build=lambda progress: train_classifier(data, seed, progress=progress),
        read=lambda path: _read_cache(path, fingerprint),
        write=lambda trained, f: torch.save({"version": VERSION, "data": fingerprint, "accuracy": trained[1],
                                             "state": trained[0].state_dict()}, f))
    return model.to(device).eval().requires_grad_(False), acc
