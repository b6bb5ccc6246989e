"""What the VAEs are, without their engines (no torch): the dense and the convolutional VAE's
configs, their shared views and their specs (:mod:`engines.core.spec`). The engines are
:mod:`engines.vae.vae_engine` and :mod:`engines.vae.conv_vae_engine` (on :mod:`engines.vae.engine`)."""
from __future__ import annotations

from dataclasses import dataclass

from engines.core.config import live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View
from engines.vae.frames import Drawing, LatentGrid, LatentScatter, LatentStats

LIKELIHOODS = ("auto", "bernoulli", "gaussian", "gaussian-learned", "continuous-bernoulli")


@dataclass
class VAEConfig:
    latent_dim: int = param(2, "latent dimensions (2: the latent grid is the classic manifold)", low=1, high=1024)
    hidden: tuple[int, ...] = param((512, 256), "hidden layer sizes of the encoder (the decoder mirrors them)",
                                    low=1, high=16384)
    activation: str = param("relu", "hidden activation", ("relu", "tanh", "softplus"))
    lr: float = live(1e-3, "Adam learning rate", low=0, low_open=True, high=10)
    batch_size: int = param(128, "images per step", low=1, high=8192)
    warmup: int = live(0, "KL warm-up: steps over which the KL weight rises from 0 to 1 (0: none)",
                       low=0, high=10_000_000)
    iwae_k: int = param(5000, "importance samples per test image for the IWAE bound (evaluation)",
                        low=1, high=100_000)
    grid_size: int = live(15, "points per side of the latent grid", low=2, high=40)
    grid_span: float = live(1.0, "latent grid extent: 1 spans the 5%-95% quantiles of N(0,1) "
                                 "(of the test means along principal directions)", low=0, low_open=True, high=10)
    grid_plane: str = live("pca", "plane shown when the latent has more than 2 dimensions: the two principal "
                                  "directions of the test posterior means, or grid_dims", ("pca", "dims"))
    grid_dims: tuple[int, ...] = live((0, 1), "the two latent dimensions of the plane when grid_plane=dims",
                                      low=0, high=1023)
    grid_centre: str = live("origin", "centre of the latent grid: z = 0, the mean of the test posterior means, "
                                      "or the probe point", ("origin", "mean", "probe"))
    morph_from: int = live(150, "interpolation: first test image (index, modulo the test set size)",
                           low=0, high=1_000_000)
    morph_to: int = live(400, "interpolation: last test image (index, modulo the test set size)",
                         low=0, high=1_000_000)


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


VAE_VIEWS = (
    View("latent_grid", "Latent grid", kinds=(LatentGrid,),
         controls=("grid_size", "grid_span", "grid_plane", "grid_dims", "grid_centre"), area="main",
         loop="latent_grid_walk"),
    View("latent_scatter", "Latent scatter · drag the probe", kinds=(LatentScatter,), calls=("set_probe",),
         area="main"),
    View("draw", "Draw to encode", kinds=(Drawing,), calls=("encode_drawing",)),
    View("traversals", "Traversals (most active dimensions, −3…3 around the probe)", kinds=(ImageGrid,),
         loop="traversals_sweep"),
    View("morph", "Interpolation between two test images", kinds=(ImageGrid,),
         controls=("morph_from", "morph_to")),
    View("latent_stats", "KL per dimension (active units)", kinds=(LatentStats,)),
    View("reconstructions", "Reconstructions (test images above)", kinds=(ImageGrid,)),
    View("samples", "Samples from fixed prior noise", kinds=(ImageGrid,), loop="samples_loop"),
)


VAE_SPEC = ModelSpec("vae", "Variational autoencoder, dense, Bernoulli decoder on binarized digits; latent grid, "
                     "IWAE bound", VAEConfig, VAE_VIEWS, engine="engines.vae.vae_engine:VAEEngine")
CONV_VAE_SPEC = ModelSpec("conv-vae", "Convolutional VAE: grey or colour images, Bernoulli/Gaussian/"
                          "continuous-Bernoulli decoder", ConvVAEConfig, VAE_VIEWS,
                          engine="engines.vae.conv_vae_engine:ConvVAEEngine")
