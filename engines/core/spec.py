"""What a model is, declared without its engine: imports neither torch nor Qt.

Each family's ``spec.py`` declares a :class:`ModelSpec` per model (as napari's plugin manifests
declare what a plugin contributes without importing its code): the name, a one-line summary, the
dataset it trains on by default, its ``Config`` (a dataclass of :func:`~engines.core.config.param`
and :func:`~engines.core.config.live` fields), its views, and where its engine class lives. The
registry lists specs, so the studio, ``engines list`` and a run store's description read the
catalog without loading any engine; the engine class (and torch with it) is imported only to
build one. An engine class names its spec (``spec = RBM``) and takes its name, summary, config
class, views and default dataset from it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from engines.core.config import fields_of
from engines.core.views import View


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    Config: type
    views: tuple[View, ...]
    engine: str                       # "package.module:Class" of the engine that trains it
    default_data: str = "mnist"

    def engine_class(self) -> type:
        """The engine class (importing it imports torch)."""
        module, _, cls = self.engine.partition(":")
        return getattr(importlib.import_module(module), cls)

    def catalog_entry(self) -> dict:
        """The model as plain data: summary, default dataset, config fields and views (what the
        studio shows before and while a run trains, and what a run store keeps)."""
        return {"summary": self.summary, "default_data": self.default_data,
                "fields": [f.to_dict() for f in fields_of(self.Config)],
                "views": [v.to_dict() for v in self.views]}
