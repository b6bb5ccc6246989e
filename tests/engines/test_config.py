import pytest

from engines.boltzmann.spec import RBMConfig
from engines.core.config import ConfigError, fields_of, from_dict, parse_assignments, to_dict, with_overrides


def test_fields_carry_type_default_and_live_flag():
    info = {f.name: f for f in fields_of(RBMConfig)}
    assert info["lr"].type is float and info["lr"].live
    assert info["hidden"].type is int and not info["hidden"].live
    assert info["method"].choices == ("cd", "pcd")


def test_overrides_are_converted_from_strings():
    cfg = with_overrides(RBMConfig(), parse_assignments(["lr=0.5", "k=3", "method=cd"]))
    assert (cfg.lr, cfg.k, cfg.method) == (0.5, 3, "cd")


@pytest.mark.parametrize("key, value, words", [
    ("nope", "1", "unknown config key 'nope'"),
    ("k", "two", "k must be int"),
    ("k", "1.5", "k must be int"),
    ("lr", "fast", "lr must be float"),
    ("lr", "nan", "lr must be float"),
    ("method", "gibbs", "method must be one of cd, pcd"),
])
def test_bad_values_are_refused_with_a_clear_message(key, value, words):
    with pytest.raises(ConfigError, match=words):
        with_overrides(RBMConfig(), {key: value})


def test_assignment_without_equals_sign_is_refused():
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["lr0.1"])


def test_round_trip_through_dict_ignores_unknown_keys():
    cfg = with_overrides(RBMConfig(), {"hidden": 7})
    assert from_dict(RBMConfig, {**to_dict(cfg), "gone": 1}) == cfg
