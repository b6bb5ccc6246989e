"""What the GANs are, without their engines (no torch): their configs (every GAN's player
settings, the image GANs' fields, each model's own), views and specs (:mod:`engines.core.spec`).
The engines are :mod:`engines.gan.gan_engine`, :mod:`engines.gan.dcgan_engine`, :mod:`engines.gan.lapgan_engine` and
:mod:`engines.gan.gan2d_engine` (on :mod:`engines.gan.image_engine` and :mod:`engines.gan.engine`)."""
from __future__ import annotations

from dataclasses import dataclass

from engines.core.config import live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View
from engines.gan.frames import GANSamples, PointField, PyramidLevels

LOSSES = ("minimax", "non-saturating", "least-squares")        # the objectives of engines.gan.model
PLAYER_CONTROLS = ("d_steps", "loss", "lr_d", "lr_g")
PLAYER_ACTIONS = ("step_discriminator", "step_generator")
WATCH_SAMPLES = 256          # samples of an image GAN's live check (class spread, Fréchet distance)


@dataclass
class GANConfig:
    loss: str = live("non-saturating", "objective: minimax (G minimises log(1−D(G(z)))), non-saturating "
                     "(G minimises −log D(G(z))) or least-squares", LOSSES)
    d_steps: int = live(1, "discriminator updates per generator update", low=1, high=100)
    lr_d: float = live(2e-4, "discriminator's Adam learning rate", low=0, low_open=True, high=1)
    lr_g: float = live(2e-4, "generator's Adam learning rate", low=0, low_open=True, high=1)
    beta1_d: float = live(0.5, "discriminator's Adam β1", low=0, high=1, high_open=True)
    beta2_d: float = live(0.999, "discriminator's Adam β2", low=0, high=1, high_open=True)
    beta1_g: float = live(0.5, "generator's Adam β1", low=0, high=1, high_open=True)
    beta2_g: float = live(0.999, "generator's Adam β2", low=0, high=1, high_open=True)
    z_dim: int = param(100, "noise dimensions", low=1, high=4096)
    noise: str = param("gaussian", "noise distribution: N(0, I) or uniform in [−1, 1]", ("gaussian", "uniform"))
    batch_size: int = param(128, "examples per update (real and generated alike)", low=1, high=4096)


@dataclass
class ImageGANConfig(GANConfig):
    image_size: int = param(28, "image side in pixels (the data are resized to it)", (28, 32, 64))
    grey: bool = param(True, "grey images (else RGB; grey data are repeated over 3 channels)")
    samples: int = param(64, "fixed-noise samples shown live", low=1, high=256)
    watch_every: int = live(100, "steps between live checks of the samples' class spread and Fréchet "
                            f"distance ({WATCH_SAMPLES} samples; digits only; 0: never)", low=0, high=1_000_000)
    eval_samples: int = param(10_000, "generated images the metrics use (Parzen window: all of them)",
                              low=20, high=200_000)


@dataclass
class DenseGANConfig(ImageGANConfig):
    noise: str = param("uniform", "noise distribution: N(0, I) or uniform in [−1, 1]", ("gaussian", "uniform"))
    g_hidden: tuple[int, ...] = param((1200, 1200), "generator's hidden layer sizes (ReLU)", low=1, high=8192)
    g_batchnorm: bool = param(True, "batchnorm in the generator's hidden layers (not in the 2014 paper: "
                              "false for the original; with it G collapses far less)")
    d_units: tuple[int, ...] = param((240, 240), "discriminator's maxout layer sizes", low=1, high=8192)
    pieces: int = param(5, "linear pieces per maxout unit", low=1, high=32)
    dropout: float = param(0.5, "dropout between the discriminator's maxout layers", low=0, high=1, high_open=True)


@dataclass
class DCGANConfig(ImageGANConfig):
    width: int = param(32, "channels of D's first layer (and G's last hidden layer); ×2 per resolution step",
                       low=1, high=1024)
    channels_last: bool = param(True, "NHWC memory layout (faster convolutions: oneDNN on the CPU, tensor cores)")
    mixed_precision: bool = param(False, "CUDA only: bfloat16 autocast for the networks (losses stay float32)")


@dataclass
class LAPGANConfig(ImageGANConfig):
    noise: str = param("uniform", "noise distribution: N(0, I) or uniform in [−1, 1]", ("gaussian", "uniform"))
    levels: int = param(3, "pyramid levels; the coarsest is image_size / 2^(levels−1) pixels (≥ 4)", low=2, high=4)
    coarse_hidden: tuple[int, ...] = param((600, 600), "hidden layers of the coarsest level's dense G (BN, ReLU)",
                                           low=1, high=8192)
    coarse_units: tuple[int, ...] = param((240,), "maxout layers of the coarsest level's D (5 pieces)",
                                          low=1, high=8192)
    width: int = param(32, "channels of the finer levels' convolutional G and D", low=1, high=512)


@dataclass
class GAN2DConfig(GANConfig):
    lr_d: float = live(1e-3, "discriminator's Adam learning rate", low=0, low_open=True, high=1)
    lr_g: float = live(1e-3, "generator's Adam learning rate", low=0, low_open=True, high=1)
    z_dim: int = param(2, "noise dimensions (the grid lines span the first two)", low=1, high=64)
    noise: str = param("uniform", "noise distribution: N(0, I) or uniform in [−1, 1]", ("gaussian", "uniform"))
    batch_size: int = param(256, "points per update (real and generated alike)", low=1, high=65536)
    hidden: tuple[int, ...] = param((128, 128), "hidden layer sizes of G and of D", low=1, high=4096)
    points_shown: int = param(512, "real and generated points drawn", low=1, high=20000)
    heat_resolution: int = param(64, "heat-map cells per side", low=4, high=512)
    eval_samples: int = param(10_000, "generated points the metrics use", low=20, high=1_000_000)
    steps_per_s: float = live(0.0, "training speed: at most this many steps a second, to watch the game "
                                   "slowly (0: as fast as it goes)", low=0, high=1000)


IMAGE_GAN_VIEWS = (
    View("samples", "Samples (fixed noise)", kinds=(GANSamples,), controls=PLAYER_CONTROLS, actions=PLAYER_ACTIONS,
         area="main"),
    View("interpolation", "Latent interpolation", kinds=(ImageGrid,), loop="interpolation_loop"),
)
LAPGAN_VIEWS = (*IMAGE_GAN_VIEWS, View("pyramid", "Pyramid levels (coarse → fine)", kinds=(PyramidLevels,)))
GAN2D_VIEWS = (
    View("field", "Plane: data, samples, D(x), G's noise grid", kinds=(PointField,),
         controls=(*PLAYER_CONTROLS, "steps_per_s"),
         actions=(*PLAYER_ACTIONS, "set_points"), area="main"),
)


GAN_SPEC = ModelSpec("gan", "GAN with dense networks (Goodfellow et al. 2014): maxout D, ReLU G", DenseGANConfig,
                     IMAGE_GAN_VIEWS, engine="engines.gan.gan_engine:DenseGANEngine")
DCGAN_SPEC = ModelSpec("dcgan", "Deep convolutional GAN (Radford et al. 2016), 28/32/64 px, grey or colour",
                       DCGANConfig, IMAGE_GAN_VIEWS, engine="engines.gan.dcgan_engine:DCGANEngine")
LAPGAN_SPEC = ModelSpec("lapgan", "Laplacian pyramid of conditional GANs (Denton et al. 2015), one G/D pair per level",
                        LAPGANConfig, LAPGAN_VIEWS, engine="engines.gan.lapgan_engine:LAPGANEngine")
GAN2D_SPEC = ModelSpec("gan2d", "GAN on 2-D points (ring, grid, a CSV or drawn points): D's heat map and G's noise "
                       "grid, live", GAN2DConfig, GAN2D_VIEWS, engine="engines.gan.gan2d_engine:GAN2DEngine",
                       default_data="ring")
