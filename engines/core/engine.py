"""The Engine protocol every model family implements, and the helpers they share.

An engine owns one model, its optimiser state, the data and the step count. The Runner drives it:
``train_step()`` once per step, ``frames()`` when a panel or the run store wants a picture,
``evaluate()`` for held-out metrics, ``state_dict()`` for checkpoints.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch

from engines.core.commands import CallMethod, SetField
from engines.core.config import coerce, field_info, fields_of
from engines.core.frames import Frame
from engines.core.spec import ModelSpec
from engines.core.views import View
from engines.data.base import ImageDataset


class Engine(ABC):
    """Base of all engines. A concrete engine names its :class:`~engines.core.spec.ModelSpec`
    (``spec = RBM_SPEC``), from which it takes ``name``, ``summary``, ``Config``, ``views`` and
    ``default_data``, and implements the abstract methods; the model itself is an ``nn.Module``
    kept separate from the engine. ``smoke_overrides`` is a config that trains in about a second (tests, quick checks);
    ``steady_overrides`` puts a fresh run straight into the regime it spends most of its training in
    (speed benchmarks compare runs of different ages: a phase that lasts only the first steps and
    runs at another speed would make them disagree)."""

    spec: ClassVar[ModelSpec]
    name: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type]
    views: ClassVar[tuple[View, ...]] = ()
    # whether the engine keeps the ranks of a torchrun job one model (engines.core.distributed)
    runs_under_torchrun: ClassVar[bool] = False
    # whether evaluate() shares its work among the ranks of a torchrun job (then every rank calls it)
    evaluates_across_ranks: ClassVar[bool] = False
    default_data: ClassVar[str] = "mnist"
    smoke_data: ClassVar[str] = "digits"
    smoke_overrides: ClassVar[dict] = {}
    steady_overrides: ClassVar[dict] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.name, cls.summary, cls.Config = spec.name, spec.summary, spec.Config
            cls.views, cls.default_data = spec.views, spec.default_data

    def __init__(self, config, data: ImageDataset, device: torch.device, seed: int = 0):
        self.config = config
        self.data = data
        self.device = device
        self.seed = seed
        self.step = 0
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    @classmethod
    def load_data(cls, spec: str, config) -> ImageDataset:
        """The dataset ``spec`` names, sized for this engine (``image_size`` and ``grey`` config
        fields where the engine has them). Engines that train on something else override it."""
        from engines.data import load_dataset

        return load_dataset(spec, size=getattr(config, "image_size", 28), grey=getattr(config, "grey", True))

    @abstractmethod
    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns the step's scalars (loss and friends) as floats."""

    @abstractmethod
    def frames(self, wanted: set[str] | None = None) -> list[Frame]:
        """A cheap, no-grad snapshot of the model for the panels. ``wanted`` names the frames a
        display shows now (None: all, as the run store records them); an engine may skip making
        the others (see :func:`wants`)."""

    def monitor(self) -> dict[str, float]:
        """Costlier training diagnostics, asked for every few steps by the Runner (default none)."""
        return {}

    def step_interval(self) -> float:
        """Seconds the Runner lets pass between the starts of two steps: ``1 / steps_per_s`` for an
        engine whose config has a ``steps_per_s`` field above 0 (a speed a user sets, to watch
        training slowly), else 0 (as fast as it goes)."""
        rate = getattr(self.config, "steps_per_s", 0) or 0
        return 1.0 / rate if rate > 0 else 0.0

    def parameter_modules(self) -> dict[str, torch.nn.Module]:
        """The modules whose parameters the weights-and-gradients view shows, by a name that
        prefixes their tensors' ("" for none): the engine's ``model`` by default."""
        model = getattr(self, "model", None)
        return {"": model} if isinstance(model, torch.nn.Module) else {}

    def prepare_training(self) -> None:
        """Build what training will need that a first use builds once per machine (the digit
        classifier of a sample check), before the first step: while the run is still starting, not
        mid-run, where it held up training and a quit (default nothing)."""

    @abstractmethod
    def evaluate(self) -> dict:
        """Held-out metrics on the fixed test split: numbers, and for an estimate that can fail to
        converge a ``…_converged`` flag (the runs table marks a run whose flag is false)."""

    @staticmethod
    def metric_notes(metrics: dict) -> list[str]:
        """Lines that say what :meth:`evaluate`'s figures are, printed under them by ``eval``."""
        return []

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume: tensors, numbers, strings, lists and dicts only
        (so a checkpoint loads with ``torch.load(weights_only=True)``)."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        ...

    def picture_state(self) -> dict:
        """The part of the training state the pictures are drawn from: what the studio copies to its
        display copy, between two steps, each time that copy draws the training state (so it should
        be no more than the pictures need: an optimiser's moments are not). The whole state unless
        an engine says less."""
        return self.state_dict()

    def load_picture_state(self, state: dict) -> None:
        """Take :meth:`picture_state` of another engine of the same config. ``state``'s tensors are
        shared memory that the next copy overwrites: what is kept of them must be copied. This
        default copies all of them first; an engine whose loading copies anyway
        (``nn.Module.load_state_dict`` copies into the parameters) loads them as they are."""
        self.load_state_dict(_copied(state))

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.data.train) // getattr(self.config, "batch_size", 1))

    def set_live(self, name: str, value) -> None:
        """Change a live-editable config field between two steps; the value is checked first."""
        info = field_info(type(self.config), name)
        if not info.live:
            raise ValueError(f"{name} cannot change during a run")
        self.config = dataclasses.replace(self.config, **{name: coerce(info, value)})

    @classmethod
    def callable_methods(cls) -> set[str]:
        """The methods the engine's views may call or run (and no others)."""
        return {name for view in cls.views for name in (*view.calls, *view.actions)}

    def apply(self, command: SetField | CallMethod):
        """Obey a command between two steps: :class:`SetField` is :meth:`set_live`,
        :class:`CallMethod` calls a method one of the views declares and returns its result.
        Anything else, or a refused value, raises ValueError."""
        if isinstance(command, SetField):
            self.set_live(command.name, command.value)
            return None
        if isinstance(command, CallMethod):
            if command.method not in self.callable_methods():
                raise ValueError(f"{self.name} has no method '{command.method}' that its views may call")
            return getattr(self, command.method)(*command.args)
        raise ValueError(f"unknown command {command!r}")

    def live_config(self) -> dict:
        """The live-editable config fields as they are now (the edits made during the run)."""
        return {info.name: getattr(self.config, info.name) for info in fields_of(type(self.config)) if info.live}

    def base_state(self) -> dict:
        """The part of the state every engine has: step count, the live config fields in force and
        random generators (the engine's own, and torch's global one that layers such as dropout
        draw from), so a resumed run continues exactly as an uninterrupted one, live edits
        included."""
        return {"step": self.step, "live_config": self.live_config(), "generator": self.generator.get_state(),
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    def load_base_state(self, state: dict) -> None:
        """Also the live config fields the state was saved with, each checked as a user's edit is
        (a value out of range raises ConfigError); fields this config does not have as live ones
        (a checkpoint of another version) are left as they are."""
        live = state.get("live_config", {})
        if not isinstance(live, dict):
            raise ValueError(f"live_config must be a mapping, got {type(live).__name__}")
        editable = set(self.live_config())
        for name, value in live.items():
            if name in editable and value != getattr(self.config, name):
                self.set_live(name, value)
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])
        self.rng.bit_generator.state = state["rng"]
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])


class NetworkEngine(Engine):
    """An engine whose training state is one ``model`` (an ``nn.Module``), its ``optimizer`` and a
    ``batches`` sampler (anything with ``state_dict`` / ``load_state_dict``), plus the base state.
    Its pictures are drawn from the model's weights and the step alone."""

    def state_dict(self) -> dict:
        return {**self.base_state(), "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "batches": self.batches.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.batches.load_state_dict(state["batches"])
        self.load_base_state(state)

    def picture_state(self) -> dict:
        return {"step": self.step, "model": self.model.state_dict()}

    def load_picture_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])      # copies into the parameters
        self.step = int(state["step"])


def _copied(state):
    """``state`` with every tensor in it cloned (dicts, lists and tuples rebuilt around them)."""
    if isinstance(state, torch.Tensor):
        return state.clone()
    if isinstance(state, dict):
        return {k: _copied(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_copied(v) for v in state)
    return state


def wants(wanted: set[str] | None, *names: str) -> bool:
    """Whether any of the frames ``names`` is wanted (``wanted`` None: every frame is)."""
    return wanted is None or any(name in wanted for name in names)


def bernoulli(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A binary sample with ``P(1) = probs``: uniform noise compared in place, several times faster
    on the CPU than ``torch.bernoulli`` and the same in distribution."""
    return torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype).lt_(probs)


class BatchSampler:
    """Shuffled minibatches of the training set, one epoch after another (a fresh permutation each
    epoch), as float tensors on the engine's device. Under torchrun each rank draws from its shard
    (:func:`engines.core.distributed.rows`)."""

    def __init__(self, images: np.ndarray, device: torch.device, rng: np.random.Generator):
        from engines.core.distributed import rows

        self.images = torch.from_numpy(images.reshape(len(images), -1)).to(device)
        self.rows = rows(len(images))
        self.rng = rng
        self.order = np.empty(0, dtype=np.int64)
        self.pos = 0

    def next(self, batch_size: int) -> torch.Tensor:
        batch_size = min(batch_size, len(self.rows))
        if self.pos + batch_size > len(self.order):
            self.order = self.rng.permutation(len(self.rows))
            self.pos = 0
        idx = self.rows[self.order[self.pos:self.pos + batch_size]]
        self.pos += batch_size
        return self.images[torch.from_numpy(idx).to(self.images.device)]

    def state_dict(self) -> dict:
        return {"order": torch.from_numpy(self.order.copy()), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.order, self.pos = epoch_position(state, len(self.rows))


def epoch_position(state: dict, count: int) -> tuple[np.ndarray, int]:
    """(order, position) of a sampler's state over ``count`` rows. A state over another number of
    rows (a run resumed under torchrun with another world size: its shards have another length)
    gives a fresh epoch; an order that is not a permutation of the rows raises ValueError."""
    order = state["order"].numpy().astype(np.int64)
    if len(order) != count:
        return np.empty(0, dtype=np.int64), 0
    if not np.array_equal(np.sort(order), np.arange(count)):
        raise ValueError("the batch order is not a permutation of the training rows")
    return order, int(state["pos"])
