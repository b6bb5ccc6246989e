"""What DRAW and alignDRAW are, without their engines (no torch): configs, views and specs
(:mod:`engines.core.spec`). The engines are :mod:`engines.draw.draw_engine` and
:mod:`engines.draw.aligndraw_engine`."""
from __future__ import annotations

from dataclasses import dataclass

from engines.core.config import live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View
from engines.draw.frames import CaptionTrace, GlimpseTrace


@dataclass
class DRAWConfig:
    T: int = param(10, "glimpses: canvas updates per image (paper: 64)", low=1, high=1000)
    enc_size: int = param(256, "encoder LSTM units (paper: 256)", low=1, high=4096)
    dec_size: int = param(256, "decoder LSTM units (paper: 256)", low=1, high=4096)
    z_size: int = param(16, "latent units per glimpse (paper: 100)", low=1, high=1024)
    attention: bool = param(True, "read and write through N×N Gaussian filter grids; false: the paper's "
                                  "no-attention DRAW (reads the whole image, writes a whole canvas update)")
    read_n: int = param(2, "read grid N×N (paper: 2)", low=1, high=64)
    write_n: int = param(5, "write grid N×N (paper: 5)", low=1, high=64)
    likelihood: str = param("auto", "decoder likelihood: bernoulli (binarized grey images), gaussian (continuous, "
                                    "e.g. colour), auto = bernoulli for grey, gaussian for colour",
                            ("auto", "bernoulli", "gaussian"))
    batch_size: int = param(64, "images per update", low=1, high=4096)
    lr: float = live(1e-3, "Adam learning rate", low=0, low_open=True, high=1)
    grad_clip: float = live(10.0, "clip the gradient norm to this (0: no clipping)", low=0, high=1e6)
    trace_images: int = param(4, "test images reconstructed and prior samples drawn in the attention canvas",
                              low=1, high=16)
    image_size: int = param(28, "side of folder / torchvision images", low=4, high=256)
    grey: bool = param(True, "folder / torchvision images in grey (false: colour)")


@dataclass
class AlignDRAWConfig:
    T: int = param(16, "glimpses: canvas updates per image (paper: 32)", low=1, high=1000)
    enc_size: int = param(128, "inference LSTM units (paper: 300)", low=1, high=4096)
    dec_size: int = param(128, "generative LSTM units (paper: 300)", low=1, high=4096)
    z_size: int = param(16, "latent units per glimpse (paper: 150)", low=1, high=1024)
    read_n: int = param(8, "read grid N×N (paper: 8)", low=1, high=64)
    write_n: int = param(8, "write grid N×N (paper: 8)", low=1, high=64)
    embed_size: int = param(32, "word embedding size", low=1, high=1024)
    lang_size: int = param(64, "units of each direction of the caption's BiLSTM (paper: 128)", low=1, high=2048)
    align_size: int = param(128, "size of the alignment's hidden layer (paper: 512)", low=1, high=4096)
    batch_size: int = param(64, "images per update", low=1, high=4096)
    lr: float = live(1e-3, "Adam learning rate", low=0, low_open=True, high=1)
    grad_clip: float = live(10.0, "clip the gradient norm to this (0: no clipping)", low=0, high=1e6)
    samples_per_caption: int = param(3, "images drawn for each shown caption (fixed noise)", low=1, high=8)


DRAW_VIEWS = (
    View("attention", "Attention canvas", kinds=(GlimpseTrace,), area="main", motion="playback"),
    View("samples", "Samples", kinds=(ImageGrid,)),
)
ALIGNDRAW_VIEWS = (
    View("captions", "Images from captions", kinds=(CaptionTrace,), calls=("set_caption",), area="main",
         motion="playback"),
)


DRAW_SPEC = ModelSpec("draw", "DRAW: recurrent VAE that draws over T glimpses through Gaussian read/write attention",
                      DRAWConfig, DRAW_VIEWS, engine="engines.draw.draw_engine:DRAWEngine")
ALIGNDRAW_SPEC = ModelSpec("aligndraw", "alignDRAW: DRAW conditioned on a caption through an alignment over its words",
                           AlignDRAWConfig, ALIGNDRAW_VIEWS, engine="engines.draw.aligndraw_engine:AlignDRAWEngine",
                           default_data="mnist-captions")
