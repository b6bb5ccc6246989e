"""Which engines exist, and how to build one from a model name, a dataset spec and overrides.

Built-in engines are listed in :data:`BUILTIN_MODELS`; more can be plugged in without editing this package
through ``GENSTUDIO_ENGINES="name=package.module:Class,..."`` (the tests add a toy engine this way,
and child processes inherit it). Nothing here imports torch: the studio lists models at once.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from typing import TYPE_CHECKING

import numpy as np

from engines.core.config import ConfigError, check_seed, fields_of, to_dict, with_overrides
from engines.core.plugins import plugin_models

if TYPE_CHECKING:  # torch loads only when an engine is built: the studio shows its window first
    from engines.core.engine import Engine

# name -> "module:class"; imported only when asked for, so `list` and the studio start fast.
BUILTIN_MODELS = {
    "rbm": "engines.boltzmann.rbm:RBMEngine",
    "dbm": "engines.boltzmann.dbm_engine:DBMEngine",
    "chairs": "engines.deconv.engine:ChairsEngine",
    "vae": "engines.vae.dense:VAEEngine",
    "conv-vae": "engines.vae.conv:ConvVAEEngine",
    "draw": "engines.draw.engine:DRAWEngine",
    "aligndraw": "engines.draw.aligndraw:AlignDRAWEngine",
    "gan": "engines.gan.dense:DenseGANEngine", "dcgan": "engines.gan.dcgan:DCGANEngine",
    "lapgan": "engines.gan.lapgan:LAPGANEngine", "gan2d": "engines.gan.gan2d:GAN2DEngine",
}
DEFAULT_MODEL = "rbm"          # what `python main.py` trains when no model is named


def models() -> dict[str, str]:
    """Every registered engine, ``name -> "module:Class"``: built-in ones, then plug-ins (read
    each time, so a test or a launcher may set the variable after import)."""
    return {**BUILTIN_MODELS, **plugin_models()}


def engine_class(model: str) -> type["Engine"]:
    known = models()
    if model not in known:
        raise ConfigError(f"unknown model '{model}' (known: {', '.join(sorted(known))})")
    module, _, cls = known[model].partition(":")
    return getattr(importlib.import_module(module), cls)


def build_engine(model: str, data: str | None = None, device: str = "auto", seed: int = 0,
                 overrides: dict | None = None, shard: tuple[int, int] = (0, 1)) -> "Engine":
    """Check the config first (cheap), then load the data and build the engine on its device.
    ``shard = (rank, world size)``: a process of a torchrun job trains on every world-size-th
    training example from its rank on; all start from the same parameters (same seed), then draw
    their own noise and batches."""
    from engines.core.device import flush_denormals, resolve_device, seed_everything

    cls = engine_class(model)
    config = with_overrides(cls.Config(), overrides or {})
    check_seed(seed)
    dev = resolve_device(device)
    flush_denormals()
    spec = cls.default_data if data is None else data       # '' names no dataset: refused, not the default
    dataset = cls.load_data(spec, config)
    rank, world_size = shard
    if world_size > 1:
        if cls.distributed != "gradients":
            raise ConfigError(f"{model} cannot train under torchrun: {cls.distributed}")
        dataset = dataclasses.replace(dataset, train=dataset.train[rank::world_size],
                                      train_labels=None if dataset.train_labels is None
                                      else dataset.train_labels[rank::world_size])
    check_batch(config, dataset, spec)
    seed_everything(seed)
    engine = cls(config, dataset, dev, seed)
    if rank:
        engine.generator.manual_seed(seed + 7919 * rank)
        engine.rng.bit_generator.state = np.random.default_rng(seed + 7919 * rank).bit_generator.state
    return engine


def check_batch(config, dataset, spec: str) -> None:
    """An engine that trains on minibatches needs at least one full batch of training images."""
    batch = getattr(config, "batch_size", None)
    train = getattr(dataset, "train", None)
    if batch is not None and train is not None and len(train) < batch:
        raise ConfigError(f"batch_size={batch} is larger than the {len(train)} training images of {spec}; "
                          f"use --set batch_size={max(1, len(train))} or more images")


def catalog_entry(cls) -> dict:
    """A model as plain data: summary, default dataset, config fields and views (what the studio
    shows before and while a run trains, and what a run store keeps)."""
    return {"summary": cls.summary, "default_data": cls.default_data,
            "fields": [f.to_dict() for f in fields_of(cls.Config)],
            "views": [v.to_dict() for v in cls.views]}


def catalog() -> dict[str, dict]:
    """Every registered model's :func:`catalog_entry` (imports the engines, hence torch). An engine
    that cannot be imported (a broken plug-in) is listed with the reason, so the others still work."""
    out = {}
    for name in models():
        try:
            out[name] = catalog_entry(engine_class(name))
        except (ImportError, AttributeError) as exc:
            out[name] = {"summary": f"unavailable: {type(exc).__name__}: {exc}", "default_data": "",
                         "fields": [], "views": [], "error": str(exc)}
    return out


def describe(engine: "Engine", data: str) -> dict:
    """What a run store records about a run: enough to rebuild it, and to show and export it
    without importing the engine (its views and config fields)."""
    return {"model": engine.name, "data": data, "seed": engine.seed, "device": str(engine.device),
            "config": to_dict(engine.config), **catalog_entry(type(engine))}
