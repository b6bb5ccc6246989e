"""``vae``: the dense VAE of Kingma & Welling (2014) on dynamically binarized digits.

Encoder ``x → hidden layers → (μ, log σ²)``, decoder ``z → mirrored hidden layers → ℓ`` with a
Bernoulli ``p(x|z)`` (pixel probabilities ``σ(ℓ)``); see :mod:`engines.vae.model` for the bounds
and :mod:`engines.vae.engine` for training, pictures and evaluation.
"""
from __future__ import annotations

import numpy as np

from engines.vae.engine import VAEEngineBase, binary_digits_only
from engines.vae.model import VAE, Bernoulli, DenseDecoder, DenseEncoder
from engines.vae.spec import VAE_SPEC


class VAEEngine(VAEEngineBase):
    spec = VAE_SPEC
    smoke_overrides = {"hidden": (32,), "batch_size": 32, "iwae_k": 8, "grid_size": 4}

    @classmethod
    def load_data(cls, spec: str, config):
        """Grey images at 28x28 (or their own size for mnist/digits). Folders and torchvision sets
        are read in colour first, so a colour dataset is refused instead of silently greyed."""
        from engines.data import load_dataset

        grey = not spec.startswith(("folder:", "torchvision:"))
        return binary_digits_only(load_dataset(spec, size=28, grey=grey), spec, cls.name)

    def build_model(self) -> VAE:
        cfg = self.config
        n = int(np.prod(self.shape))
        return VAE(DenseEncoder(n, cfg.hidden, cfg.latent_dim, cfg.activation),
                   DenseDecoder(cfg.latent_dim, cfg.hidden, n, cfg.activation), Bernoulli(), cfg.latent_dim)
