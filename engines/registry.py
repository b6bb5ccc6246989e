"""Which engines exist, and how to build one from a model name, a dataset spec and overrides."""
from __future__ import annotations

import importlib

from typing import TYPE_CHECKING

from engines.core.config import ConfigError, to_dict, with_overrides

if TYPE_CHECKING:  # torch loads only when an engine is built: the studio shows its window first
    from engines.core.engine import Engine

# name -> "module:class"; imported only when asked for, so `list` and the studio start fast.
MODELS = {
    "rbm": "engines.boltzmann.rbm:RBMEngine",
}


def engine_class(model: str) -> type["Engine"]:
    if model not in MODELS:
        raise ConfigError(f"unknown model '{model}' (known: {', '.join(sorted(MODELS))})")
    module, _, cls = MODELS[model].partition(":")
    return getattr(importlib.import_module(module), cls)


def build_engine(model: str, data: str = "mnist", device: str = "auto", seed: int = 0,
                 overrides: dict | None = None) -> "Engine":
    """Check the config first (cheap), then load the data and build the engine on its device."""
    from engines.core.device import resolve_device, seed_everything
    from engines.data import load_dataset

    cls = engine_class(model)
    config = with_overrides(cls.Config(), overrides or {})
    dev = resolve_device(device)
    dataset = load_dataset(data, size=getattr(config, "image_size", 28),
                           grey=getattr(config, "grey", True))
    seed_everything(seed)
    return cls(config, dataset, dev, seed)


def describe(engine: "Engine", data: str) -> dict:
    """What a run store records about a run so that it can be rebuilt later."""
    return {"model": engine.name, "data": data, "seed": engine.seed, "device": str(engine.device),
            "config": to_dict(engine.config)}
