"""Engine configs: plain dataclasses whose fields carry a help text and a live-editable flag.

A field made with :func:`live` may change while a run trains (the Runner applies it between two
steps); one made with :func:`param` is fixed once the engine is built.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A config key or value a user gave that the engine cannot take."""


def param(default, help: str = "", choices: tuple | None = None):
    """A config field fixed for the life of a run."""
    return field(default=default, metadata={"live": False, "help": help, "choices": choices})


def live(default, help: str = "", choices: tuple | None = None):
    """A config field that may be changed mid-run."""
    return field(default=default, metadata={"live": True, "help": help, "choices": choices})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: type
    default: object
    live: bool
    help: str
    choices: tuple | None


def fields_of(config_cls) -> list[FieldInfo]:
    """Name, type, default, live flag and help of every field of a config dataclass."""
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        out.append(FieldInfo(f.name, hints[f.name], f.default, bool(f.metadata.get("live")),
                             f.metadata.get("help", ""), f.metadata.get("choices")))
    return out


def field_info(config_cls, name: str) -> FieldInfo:
    for info in fields_of(config_cls):
        if info.name == name:
            return info
    known = ", ".join(i.name for i in fields_of(config_cls))
    raise ConfigError(f"unknown config key '{name}' for {config_cls.__name__} (known: {known})")


def coerce(info: FieldInfo, value):
    """Convert ``value`` (often a string from the command line) to the field's type, or raise."""
    kind = info.type
    try:
        if kind is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    value = True
                elif low in ("0", "false", "no", "off"):
                    value = False
                else:
                    raise ValueError
            elif not isinstance(value, (bool, int)):
                raise ValueError
            value = bool(value)
        elif kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
        elif kind is str:
            value = str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{info.name} must be {kind.__name__}, got {value!r}") from None
    if info.choices is not None and value not in info.choices:
        raise ConfigError(f"{info.name} must be one of {', '.join(map(str, info.choices))}, got {value!r}")
    return value


def with_overrides(config, overrides: dict[str, object]):
    """A copy of ``config`` with the given fields changed, each value checked and converted."""
    changes = {}
    for name, value in overrides.items():
        changes[name] = coerce(field_info(type(config), name), value)
    return dataclasses.replace(config, **changes)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["lr=0.1", "k=3"]`` -> ``{"lr": "0.1", "k": "3"}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def from_dict(config_cls, values: dict):
    """Rebuild a config from a stored dict, ignoring keys a newer/older version no longer has."""
    known = {f.name for f in dataclasses.fields(config_cls)}
    base = config_cls()
    return with_overrides(base, {k: v for k, v in values.items() if k in known})
