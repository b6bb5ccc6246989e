"""``conv-vae``: a convolutional VAE for 28x28 grey and 32x32 or 64x64 colour images.

Encoder: 4×4 stride-2 convolutions (each halving the side, doubling the channels) and a fully
connected layer to ``(μ, log σ²)``; decoder: the mirror image with transposed convolutions. The
decoder distribution is Bernoulli for grey images (trained on dynamically binarized pixels, like
``vae``), or, for grey and colour images alike, a Gaussian with fixed or learned per-pixel σ, or the
continuous Bernoulli (:mod:`engines.vae.model`).
"""
from __future__ import annotations

import numpy as np
import torch

from engines.core.config import ConfigError
from engines.data.base import ImageDataset
from engines.vae.engine import VAEEngineBase, resize_images
from engines.vae.model import VAE, ConvDecoder, ConvEncoder, make_likelihood
from engines.vae.spec import CONV_VAE_SPEC, ConvVAEConfig

class ConvVAEEngine(VAEEngineBase):
    spec = CONV_VAE_SPEC
    smoke_overrides = {"channels": 4, "hidden": (16,), "latent_dim": 3, "batch_size": 16, "iwae_k": 4,
                       "grid_size": 3}

    @classmethod
    def load_data(cls, spec: str, config: ConvVAEConfig) -> ImageDataset:
        """The dataset at ``image_size`` (datasets of a fixed size, mnist and digits, are resized)."""
        data = super().load_data(spec, config)
        size = (config.image_size, config.image_size)
        if data.shape[1:] == size:
            return data

        def resize(images: np.ndarray) -> np.ndarray:
            return resize_images(torch.from_numpy(images), size).numpy()

        return ImageDataset(data.name, resize(data.train), resize(data.test), data.train_labels, data.test_labels)

    def likelihood_name(self) -> str:
        name, colour = self.config.likelihood, self.shape[0] > 1
        if name == "auto":
            return "gaussian" if colour else "bernoulli"
        if name == "bernoulli" and colour:
            raise ConfigError("likelihood=bernoulli models binarized grey images; for colour images use "
                              "gaussian, gaussian-learned or continuous-bernoulli")
        return name

    def build_model(self) -> VAE:
        cfg = self.config
        args = (self.shape, cfg.channels, cfg.hidden, cfg.latent_dim, cfg.activation)
        likelihood = make_likelihood(self.likelihood_name(), int(np.prod(self.shape)), cfg.sigma)
        return VAE(ConvEncoder(*args), ConvDecoder(*args), likelihood, cfg.latent_dim)
