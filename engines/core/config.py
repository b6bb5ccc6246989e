"""Engine configs: plain dataclasses whose fields carry a help text, a live-editable flag and the
range of values they accept.

A field made with :func:`live` may change while a run trains (the Runner applies it between two
steps); one made with :func:`param` is fixed once the engine is built. Both take the same checks:
``choices`` (the only values allowed), ``low``/``high`` (bounds, inclusive unless ``low_open`` /
``high_open``). :func:`coerce` is the one place a value is converted and checked, for the command
line, the studio's editors and a run's stored config alike. A ``tuple[int, ...]`` field (layer
sizes) is written ``500,1000``; each element takes the field's bounds.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field

TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str", tuple: "ints"}
MAX_SEED = 2**63 - 1         # what torch's generators take


class ConfigError(ValueError):
    """A config key or value a user gave that the engine cannot take."""


def _field(default, live_: bool, help: str, choices, low, high, low_open, high_open):
    return field(default=default, metadata={"live": live_, "help": help, "choices": choices, "low": low,
                                            "high": high, "low_open": low_open, "high_open": high_open})


def param(default, help: str = "", choices: tuple | None = None, *, low=None, high=None,
          low_open: bool = False, high_open: bool = False):
    """A config field fixed for the life of a run."""
    return _field(default, False, help, choices, low, high, low_open, high_open)


def live(default, help: str = "", choices: tuple | None = None, *, low=None, high=None,
         low_open: bool = False, high_open: bool = False):
    """A config field that may be changed mid-run."""
    return _field(default, True, help, choices, low, high, low_open, high_open)


@dataclass(frozen=True)
class FieldInfo:
    """One config field as plain data: what the editors, the CLI's ``list`` and a run store show."""
    name: str
    type: type          # int, float, bool, str, or tuple (a tuple of ints)
    default: object
    live: bool
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def range_text(self) -> str:
        """``> 0``, ``between 1 and 4,096``, ``>= 0 and < 1``... or "" when unbounded."""
        low, high = _number(self.low), _number(self.high)
        lo = None if self.low is None else f"{'>' if self.low_open else '>='} {low}"
        hi = None if self.high is None else f"{'<' if self.high_open else '<='} {high}"
        if lo and hi:
            closed = not (self.low_open or self.high_open)
            return f"between {low} and {high}" if closed else f"{lo} and {hi}"
        return lo or hi or ""

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["type"] = TYPE_NAMES[self.type]
        out["choices"] = list(self.choices) if self.choices is not None else None
        out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "FieldInfo":
        """Inverse of :meth:`to_dict` (a run store's description); refuses what it cannot read."""
        kinds = {v: k for k, v in TYPE_NAMES.items()}
        try:
            kind = kinds[values["type"]]
            info = cls(str(values["name"]), kind, values["default"], bool(values.get("live", False)),
                       str(values.get("help", "")),
                       tuple(values["choices"]) if values.get("choices") is not None else None,
                       values.get("low"), values.get("high"), bool(values.get("low_open", False)),
                       bool(values.get("high_open", False)))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"unreadable config field description {values!r}") from None
        if kind is tuple and isinstance(info.default, list):
            info = dataclasses.replace(info, default=tuple(info.default))
        return info


def _number(value) -> str:
    """1e-05 for small floats, 16,384 for whole numbers."""
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1 else f"{value:g}"


def fields_of(config_cls) -> list[FieldInfo]:
    """Name, type, default, live flag, help and range of every field of a config dataclass."""
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        kind = hints[f.name]
        kind = tuple if typing.get_origin(kind) is tuple else kind
        m = f.metadata
        out.append(FieldInfo(f.name, kind, f.default, bool(m.get("live")), m.get("help", ""), m.get("choices"),
                             m.get("low"), m.get("high"), bool(m.get("low_open")), bool(m.get("high_open"))))
    return out


def field_info(config_cls, name: str) -> FieldInfo:
    for info in fields_of(config_cls):
        if info.name == name:
            return info
    known = ", ".join(i.name for i in fields_of(config_cls))
    raise ConfigError(f"unknown config key '{name}' for {config_cls.__name__} (known: {known})")


def _scalar(kind: type, value):
    """``value`` as ``kind`` (int, float, bool or str), or ValueError."""
    if kind is bool:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if not isinstance(value, (bool, int)) or (not isinstance(value, bool) and value not in (0, 1)):
            raise ValueError
        return bool(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        if isinstance(value, str):
            value = value.strip().replace("_", "")
            number = float(value) if any(c in value for c in ".eE") else int(value)
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            return int(number)
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError
        value = float(value)
        if not math.isfinite(value):
            raise ValueError
        return value
    return str(value)


def _check_range(info: FieldInfo, value, label: str) -> None:
    if info.low is not None and (value < info.low or (info.low_open and value == info.low)):
        raise ConfigError(f"{label} must be {info.range_text()}, got {value!r}")
    if info.high is not None and (value > info.high or (info.high_open and value == info.high)):
        raise ConfigError(f"{label} must be {info.range_text()}, got {value!r}")


def coerce(info: FieldInfo, value):
    """Convert ``value`` (often a string from the command line) to the field's type and check it
    against the field's choices and range; raise :class:`ConfigError` saying what is allowed."""
    kind = info.type
    try:
        if kind is tuple:
            parts = value.replace(" ", "").strip("()[]").split(",") if isinstance(value, str) else list(value)
            if not parts or "" in parts:          # "8,,8" or "": an empty item is a mistake, not skipped
                raise ValueError
            value = tuple(_scalar(int, p) for p in parts)
        else:
            value = _scalar(kind, value)
    except (TypeError, ValueError, OverflowError):
        what = "comma-separated whole numbers (e.g. 500,1000)" if kind is tuple else kind.__name__
        raise ConfigError(f"{info.name} must be {what}, got {value!r}") from None
    if info.choices is not None and value not in info.choices:
        raise ConfigError(f"{info.name} must be one of {', '.join(map(str, info.choices))}, got {value!r}")
    for element in (value if kind is tuple else (value,)):
        if kind is not str and kind is not bool:
            _check_range(info, element, info.name if kind is not tuple else f"each of {info.name}")
    return value


def check_seed(seed) -> int:
    """A seed is a whole number from 0 to 2^63 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be a whole number from 0 to {MAX_SEED:,}, got {seed!r}")
    return seed


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
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def from_dict(config_cls, values) -> object:
    """Rebuild a config from a stored dict, ignoring keys a newer/older version no longer has; every
    value is checked as a user's would be (a crafted run store gets a ConfigError, not a huge model)."""
    if not isinstance(values, dict):
        raise ConfigError(f"stored config is not a mapping (got {type(values).__name__})")
    known = {f.name for f in dataclasses.fields(config_cls)}
    base = config_cls()
    return with_overrides(base, {k: v for k, v in values.items() if k in known})
