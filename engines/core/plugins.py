"""Engines plugged in from outside this package: ``$GENSTUDIO_ENGINES`` names them
(``name=module:Class``, separated by commas; the tests add a toy engine this way, and child
processes inherit it). Read each time, so a test or a launcher may set the variable after import.
Imports nothing but ``os``: the registry and the frame decoder both ask it."""
from __future__ import annotations

import os

PLUGINS_ENV = "GENSTUDIO_ENGINES"


def plugin_models() -> dict[str, str]:
    """Engines named in ``$GENSTUDIO_ENGINES``: ``name -> "module:Class"``."""
    out = {}
    for item in filter(None, (s.strip() for s in os.environ.get(PLUGINS_ENV, "").split(","))):
        name, _, target = item.partition("=")
        if name and ":" in target:
            out[name.strip()] = target.strip()
    return out


def engine_packages() -> set[str]:
    """Top-level packages that hold registered engines (where their frame kinds may live)."""
    return {"engines"} | {target.split(":")[0].split(".")[0] for target in plugin_models().values()}
