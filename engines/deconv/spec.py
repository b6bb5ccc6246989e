"""What the ``chairs`` model is, without its engine (no torch): config, views and spec
(:mod:`engines.core.spec`). The engine is :mod:`engines.deconv.engine`."""
from __future__ import annotations

from dataclasses import dataclass

from engines.core.config import live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View
from engines.deconv.frames import ChairView, Turntable


@dataclass
class ChairsConfig:
    lr: float = live(1e-3, "Adam learning rate", low=0, low_open=True, high=1)
    batch_size: int = param(64, "views per update", low=1, high=1024)
    width: int = param(128, "channels of the 4x4 map (halved by each up-convolution)", low=8, high=1024)
    hidden: int = param(512, "width of the fully connected layers", low=16, high=8192)
    mask_weight: float = live(0.1, "weight of the mask's cross-entropy beside the image's squared error",
                              low=0, high=100)
    augment: float = live(0.5, "fraction of training views given a random zoom/shift/brightness/hue",
                          low=0, high=1)
    turntable_chair: int = live(0, "chair shown on the turntable (clamped to the chairs there are)",
                                low=0, high=100_000)
    morph_from: int = live(0, "first chair of the morph", low=0, high=100_000)
    morph_to: int = live(1, "last chair of the morph", low=0, high=100_000)


CHAIRS_VIEWS = (
    View("sliders", "Chair from sliders: generated | mask | true render", kinds=(ChairView,),
         calls=("set_view",), area="main"),
    View("turntable", "Turntable (generated)", kinds=(Turntable,), controls=("turntable_chair",),
         loop="turntable_spin"),
    View("morph", "Morph between two chairs", kinds=(ImageGrid,), controls=("morph_from", "morph_to"),
         loop="morph_loop"),
    View("heldout", "Held-out views: truth / generated / nearest training view", kinds=(ImageGrid,)),
)


CHAIRS_SPEC = ModelSpec("chairs", "Deconvolutional generator (Dosovitskiy et al.): chairs from model id, view and "
                        "transformation", ChairsConfig, CHAIRS_VIEWS, engine="engines.deconv.engine:ChairsEngine",
                        default_data="chairs3d")
