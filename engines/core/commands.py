"""The two commands a front end sends to an engine between two steps, as small named types
(plain data: they cross a process boundary). :meth:`Engine.apply` is the one place they are obeyed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetField:
    """Change the live config field ``name`` to ``value`` (checked against the field's range)."""
    name: str
    value: object


@dataclass(frozen=True)
class CallMethod:
    """Call ``engine.method(*args)``; only methods that one of the engine's views declares."""
    method: str
    args: tuple = ()
