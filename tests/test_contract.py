"""The contract every registered engine keeps (pytorch-generative's one test over every model): it
builds from its smoke config, trains a few steps with finite scalars, makes every frame its views
declare, each frame kind has a panel and a still picture and survives the run store, its state
round-trips through a ``weights_only`` checkpoint into a display copy, ``evaluate()`` is finite,
and every config field refuses values outside its declared range."""
import math

import numpy as np
import pytest

from engines.core.config import ConfigError, fields_of, with_overrides
from engines.core.frames import decode, encode
from engines.core.store import load_checkpoint
from engines.core.views import kind_id
from engines.registry import build_engine, engine_class, models

MODELS = sorted(models())
SMOKE_STEPS = 3


def smoke(model: str, seed: int = 0):
    cls = engine_class(model)
    return build_engine(model, cls.smoke_data, "cpu", seed, dict(cls.smoke_overrides))


@pytest.fixture(scope="module", params=MODELS)
def trained(request):
    engine = smoke(request.param)
    scalars = [engine.train_step() for _ in range(SMOKE_STEPS)]
    return engine, scalars


def test_it_trains_with_finite_scalars(trained):
    engine, scalars = trained
    assert engine.step == SMOKE_STEPS
    for values in scalars + [engine.monitor()]:
        assert all(isinstance(v, float) and math.isfinite(v) for v in values.values()), values


def test_it_makes_every_frame_its_views_declare_and_only_the_wanted_ones(trained):
    engine, _ = trained
    declared = {name for view in engine.views for name in view.frames}
    frames = engine.frames()
    assert declared <= {f.name for f in frames}
    first = sorted(declared)[0]
    assert first in {f.name for f in engine.frames({first})}


def test_each_frame_kind_has_a_panel_a_still_picture_and_survives_the_store(trained):
    from studio.panels import Panel, panel_class

    engine, _ = trained
    kinds = {kind for view in engine.views for kind in view.kinds}
    for frame in engine.frames():
        assert kind_id(type(frame)) in kinds or any(f == frame.name for v in engine.views for f in v.frames)
        assert issubclass(panel_class(kind_id(type(frame))), Panel)
        picture = frame.still()
        assert picture.ndim in (2, 3) and np.isfinite(picture).all()
        assert picture.min() >= 0 and picture.max() <= 1
        back = decode(*encode(frame))
        assert type(back) is type(frame) and back.name == frame.name and back.step == frame.step
        assert back.still().shape == picture.shape


def test_its_state_loads_from_a_weights_only_checkpoint_into_a_display_copy(trained, tmp_path):
    import torch

    engine, _ = trained
    torch.save(engine.state_dict(), tmp_path / "state.pt")
    state = load_checkpoint(tmp_path / "state.pt")
    copy = smoke(engine.name, seed=1)
    copy.load_state_dict(state)
    assert copy.step == engine.step
    assert {f.name for f in copy.frames()} >= {name for view in engine.views for name in view.frames}


def test_evaluate_is_finite(trained):
    engine, _ = trained
    metrics = engine.evaluate()
    assert metrics and all(math.isfinite(float(v)) for v in metrics.values()), metrics


def test_its_views_call_only_its_own_methods(trained):
    engine, _ = trained
    for method in engine.callable_methods():
        assert callable(getattr(engine, method, None)), method
    with pytest.raises(ValueError, match="no method"):
        from engines.core.commands import CallMethod
        engine.apply(CallMethod("state_dict"))


def out_of_range(info):
    """Values just outside each declared bound, as a user would type them."""
    values = []
    for bound, sign, open_ in ((info.low, -1, info.low_open), (info.high, 1, info.high_open)):
        if bound is None:
            continue
        if info.type is float:
            values.append(bound if open_ else bound + sign * max(abs(bound) * 1e-3, 1e-9))
        else:
            values.append(int(bound) if open_ else int(bound) + sign)
    return values


@pytest.mark.parametrize("model", MODELS)
def test_every_field_refuses_values_outside_its_range(model):
    config_cls = engine_class(model).Config
    checked = 0
    for info in fields_of(config_cls):
        if info.type in (int, float, tuple):
            assert info.low is not None or info.high is not None or info.choices, \
                f"{model}.{info.name} declares no range"
        for value in out_of_range(info):
            text = str(value) if info.type is not tuple else f"{value}"
            with pytest.raises(ConfigError, match=info.name):
                with_overrides(config_cls(), {info.name: text})
            checked += 1
        with_overrides(config_cls(), {info.name: str(info.default) if info.type is not tuple
                                      else ",".join(map(str, info.default))})
    assert checked


def test_engines_train_with_subnormal_floats_flushed_to_zero():
    """Arithmetic on subnormals is tens of times slower on the CPU, and Adam's decaying moments
    produce them (the dense VAE lost a third of its speed after 700 steps): every engine built
    runs with them flushed to zero."""
    import torch

    torch.set_flush_denormal(False)
    assert torch.tensor([1e-40]).mul(1.0).item() != 0.0
    smoke("vae")
    assert torch.tensor([1e-40]).mul(1.0).item() == 0.0
