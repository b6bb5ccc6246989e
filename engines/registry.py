"""Which models exist, what each one is (its spec), and how to build its engine from a model
name, a dataset spec and overrides.

Built-in models are listed in :data:`BUILTIN_MODELS`, each by its torch-free
:class:`~engines.core.spec.ModelSpec`; more can be plugged in without editing this package through
``GENSTUDIO_ENGINES="name=package.module:NAME_SPEC,..."`` (the tests add a toy engine this way, and
child processes inherit it). Listing models and reading their specs imports neither torch nor any
engine: the studio imports the catalog directly.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np

from engines.core.config import ConfigError, check_seed, to_dict, with_overrides
from engines.core.plugins import plugin_models
from engines.core.spec import ModelSpec

if TYPE_CHECKING:  # torch loads only when an engine is built: the studio shows its window first
    from engines.core.engine import Engine

# name -> "module:NAME"; the spec modules import no torch, their engines are imported when built
BUILTIN_MODELS = {
    "rbm": "engines.boltzmann.spec:RBM_SPEC", "dbm": "engines.boltzmann.spec:DBM_SPEC",
    "chairs": "engines.deconv.spec:CHAIRS_SPEC",
    "vae": "engines.vae.spec:VAE_SPEC", "conv-vae": "engines.vae.spec:CONV_VAE_SPEC",
    "draw": "engines.draw.spec:DRAW_SPEC", "aligndraw": "engines.draw.spec:ALIGNDRAW_SPEC",
    "gan": "engines.gan.spec:GAN_SPEC", "dcgan": "engines.gan.spec:DCGAN_SPEC",
    "lapgan": "engines.gan.spec:LAPGAN_SPEC", "gan2d": "engines.gan.spec:GAN2D_SPEC",
}
DEFAULT_MODEL = "rbm"          # what `python main.py` trains when no model is named


def models() -> dict[str, str]:
    """Every registered model, ``name -> "module:NAME"``: built-in ones, then plug-ins (read each
    time, so a test or a launcher may set the variable after import)."""
    return {**BUILTIN_MODELS, **plugin_models()}


def model_spec(model: str) -> ModelSpec:
    """The spec of ``model`` (imports its family's spec module, not its engine)."""
    known = models()
    if model not in known:
        raise ConfigError(f"unknown model '{model}' (known: {', '.join(sorted(known))})")
    module, _, name = known[model].partition(":")
    spec = getattr(importlib.import_module(module), name)
    if not isinstance(spec, ModelSpec) or spec.name != model:
        raise ConfigError(f"{known[model]} is not the ModelSpec of '{model}'")
    return spec


def engine_class(model: str) -> type["Engine"]:
    """The engine class that trains ``model`` (imports it, and torch)."""
    return model_spec(model).engine_class()


def build_engine(model: str, data: str | None = None, device: str = "auto", seed: int = 0,
                 overrides: dict | None = None, shard: tuple[int, int] = (0, 1)) -> "Engine":
    """Check the config first (cheap), then load the data and build the engine on its device.
    ``shard = (rank, world size)``: every process of a torchrun job builds the same engine from the
    same seed, on the whole dataset (statistics of the training set are the same on every rank),
    then draws its own noise; its batch sampler takes its shard of the training set
    (:func:`engines.core.distributed.rows`)."""
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
        if not cls.runs_under_torchrun:
            raise ConfigError(f"{model} cannot train under torchrun: its engine does not say how its processes "
                              "stay one model (Engine.runs_under_torchrun, engines.core.distributed)")
    check_batch(config, dataset, spec)
    seed_everything(seed)
    engine = cls(config, dataset, dev, seed)
    if rank:
        draw_own_noise(engine, rank)
    return engine


def draw_own_noise(engine: "Engine", rank: int) -> None:
    """Rank ``rank``'s random streams (torch generator and NumPy's), from the seed, the rank and
    the step: its own noise and batches, the same for a given seed and world size."""
    from engines.core.distributed import rank_seed

    seed = rank_seed(engine.seed, rank) + 1_000_003 * engine.step
    engine.generator.manual_seed(seed)
    engine.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state


def check_batch(config, dataset, spec: str) -> None:
    """An engine that trains on minibatches needs at least one full batch of training images."""
    batch = getattr(config, "batch_size", None)
    train = getattr(dataset, "train", None)
    if batch is not None and train is not None and len(train) < batch:
        raise ConfigError(f"batch_size={batch} is larger than the {len(train)} training images of {spec}; "
                          f"use --set batch_size={max(1, len(train))} or more images")


def catalog() -> dict[str, dict]:
    """Every registered model's :meth:`~engines.core.spec.ModelSpec.catalog_entry` (imports the
    spec modules only: no engine, no torch). A model whose spec cannot be read (a broken plug-in)
    is listed with the reason, so the others still work."""
    out = {}
    for name in models():
        try:
            out[name] = model_spec(name).catalog_entry()
        except (ImportError, AttributeError, ConfigError) as exc:
            out[name] = {"summary": f"unavailable: {type(exc).__name__}: {exc}", "default_data": "",
                         "fields": [], "views": [], "error": str(exc)}
    return out


def describe(engine: "Engine", data: str) -> dict:
    """What a run store records about a run: enough to rebuild it, and to show and export it
    without importing the engine (its views and config fields)."""
    return {"model": engine.name, "data": data, "seed": engine.seed, "device": str(engine.device),
            "config": to_dict(engine.config), **type(engine).spec.catalog_entry()}
