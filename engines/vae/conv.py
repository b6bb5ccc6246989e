"""``conv-vae``: a convolutional VAE for 28x28 grey and 32x32 or 64x64 colour images.

Encoder: 4×4 stride-2 convolutions (each halving the side, doubling the channels) and a fully
connected layer to ``(μ, log σ²)``; decoder: the mirror image with transposed convolutions. The
decoder distribution is Bernoulli for grey images (trained on dynamically binarized pixels, like
``vae``), or, for grey and colour images alike, a Gaussian with fixed or learned per-pixel σ, or the
continuous Bernoulli (:mod:`engines.vae.model`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engines.core.config import ConfigError, param
from engines.data.base import ImageDataset
from engines.vae.engine import VAEConfig, VAEEngineBase, resize_images
from engines.vae.model import VAE, ConvDecoder, ConvEncoder, make_likelihood

LIKELIHOODS = ("auto", "bernoulli", "gaussian", "gaussian-learned", "continuous-bernoulli")


@dataclass
class ConvVAEConfig(VAEConfig):
    latent_dim: int = param(16, "latent dimensions", low=1, high=1024)
    hidden: tuple[int, ...] = param((256,), "fully connected layers between the convolutions and the latent",
                                    low=1, high=16384)
    batch_size: int = param(64, "images per step", low=1, high=8192)
    iwae_k: int = param(500, "importance samples per test image for the IWAE bound (evaluation; 5000 is the "
                             "standard figure, ~10x slower: worth it on a GPU)", low=1, high=100_000)
    channels: int = param(32, "channels of the first convolution (doubled at each halving, at most 512)",
                          low=1, high=512)
    image_size: int = param(28, "side the images are resized to", (28, 32, 64))
    grey: bool = param(True, "grey images (false: colour, where the dataset has it)")
    likelihood: str = param("auto", "decoder distribution p(x|z); auto: bernoulli (binarized pixels) for grey "
                                    "images, gaussian for colour", LIKELIHOODS)
    sigma: float = param(0.1, "standard deviation of the gaussian likelihood (start value for gaussian-learned)",
                         low=0.01, high=10)


class ConvVAEEngine(VAEEngineBase):
    name = "conv-vae"
    summary = "Convolutional VAE: grey or colour images, Bernoulli/Gaussian/continuous-Bernoulli decoder"
    Config = ConvVAEConfig
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
