"""The toy model's declaration (no torch): config, views, spec. Its engine is
:mod:`tests.toy.engine`; ``GENSTUDIO_ENGINES=toy=tests.toy.spec:TOY_SPEC`` registers it."""
from __future__ import annotations

from dataclasses import dataclass

from engines.core.config import live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View
from tests.toy.frames import Bars


@dataclass
class ToyConfig:
    lr: float = live(0.1, "learning rate", low=0, low_open=True, high=10)
    batch_size: int = param(16, "images per step", low=1, high=1024)
    bars: int = live(8, "bars drawn", low=1, high=64)
    fail_at: int = param(0, "raise an error at this step (0: never)", low=0, high=10**9)


TOY_SPEC = ModelSpec("toy", "Toy: the mean image by gradient descent (tests only)", ToyConfig,
                     (View("mean", "Mean image", kinds=(ImageGrid,), area="main"),
                      View("bars", "Bars", kinds=(Bars,), controls=("bars",), calls=("poke",), actions=("jump",))),
                     engine="tests.toy.engine:ToyEngine", default_data="digits")
