"""The contract every registered engine keeps (pytorch-generative's one test over every model): it
builds from its smoke config, trains a few steps with finite scalars, makes every frame its views
declare, each frame kind has a panel and a still picture and survives the run store, its state
round-trips through a ``weights_only`` checkpoint into a display copy, and every config field
refuses values outside its declared range. And a recorded run of the smoke config, on the test
run's cold cache, passes every cadence a user's run meets (the engine's own ``*_every`` checks, its
``monitor()`` diagnostics, recorded frames and the weights-and-gradients frames every engine gets,
checkpoints), resumes bit for bit and evaluates to
finite metrics: a new engine is held to all of it without a test of its own."""
import json
import math

import numpy as np
import pytest

from engines.core.config import ConfigError, fields_of, to_dict, with_overrides
from engines.core.engine import Engine
from engines.core.frames import decode, encode
from engines.core.parameters import FRAME_NAME as WEIGHTS_AND_GRADIENTS, layer_of
from engines.core.runner import Runner, RunnerSettings, early_frame_steps
from engines.core.checkpoints import latest_checkpoint, load_checkpoint
from engines.core.store import RunStore
from engines.core.views import kind_id
from engines.registry import build_engine, engine_class, models
from engines.runs import new_run, resume_run
from tests.engines.training import assert_same

MODELS = sorted(models())
SMOKE_STEPS = 3
RUN_STEPS = 12       # a recorded smoke run: each of the cadences below passes in it more than once
CADENCES = dict(record_frames_every=4, record_frames_early=True, monitor_every=3, checkpoint_every=RUN_STEPS // 2,
                record_frames_seconds=0, checkpoint_seconds=0)


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
    for view in engine.views:            # a wanted frame comes with at most its own view's others
        for name in view.frames:
            made = {f.name for f in engine.frames({name})}
            assert name in made and made <= set(view.frames), (name, made)


def drawn_by_a_panel(kind: type) -> bool:
    """A panel of its own (PANELS, through the kind's bases), or the still-picture panel and a still
    picture of its own to show."""
    from engines.core.frames import Frame
    from studio.panels import StillPanel, panel_class

    return panel_class(kind_id(kind)) is not StillPanel or kind.still is not Frame.still


def test_a_kind_with_neither_a_panel_nor_a_still_picture_fails_the_contract():
    from dataclasses import dataclass

    from engines.core.frames import Frame, ImageGrid

    @dataclass(frozen=True)
    class Unpictured(Frame):
        values: tuple = ()

    assert not drawn_by_a_panel(Unpictured)
    assert drawn_by_a_panel(ImageGrid)


def test_each_frame_kind_has_its_intended_panel_a_still_picture_and_survives_the_store_by_value(trained):
    """A kind drawn by the stock still-picture panel must have a still picture of its own (a kind
    that needs a panel and has none in PANELS fails here, instead of showing nothing)."""
    from engines.core.frames import as_unit

    engine, _ = trained
    view_of = {name: view for view in engine.views for name in view.frames}
    for frame in engine.frames():
        kind = kind_id(type(frame))
        if frame.name in view_of:
            assert kind in view_of[frame.name].kinds, f"{frame.name}: {kind} is not a kind its view declares"
        assert drawn_by_a_panel(type(frame)), f"{kind} has no panel to draw it"
        picture = frame.still()
        assert picture.ndim in (2, 3) and np.isfinite(picture).all()
        assert picture.min() >= 0 and picture.max() <= 1
        back = decode(*encode(frame))
        assert type(back) is type(frame) and back.name == frame.name and back.step == frame.step
        np.testing.assert_allclose(as_unit(back.still()), picture, atol=0.5 / 255 + 1e-6, err_msg=kind)


@pytest.mark.parametrize("model", MODELS)
def test_its_state_round_trips_through_a_weights_only_checkpoint_into_a_copy_that_then_trains_the_same(model, tmp_path):
    """A checkpoint (``torch.save`` of ``state_dict()``, read back ``weights_only``) loaded into a copy
    built with another seed, whatever the global generator holds, makes a copy whose state equals the
    original bit for bit, and the two then train the same steps (resume from a state, the display
    copy's refresh)."""
    import torch

    original = smoke(model, seed=2)
    for _ in range(2):
        original.train_step()
    torch.save(original.state_dict(), tmp_path / "state.pt")
    copy = smoke(model, seed=7)
    torch.manual_seed(123)
    copy.load_state_dict(load_checkpoint(tmp_path / "state.pt"))
    assert copy.step == original.step
    assert_same(original.state_dict(), copy.state_dict())
    for _ in range(2):
        assert copy.train_step() == original.train_step()
    assert_same(original.state_dict(), copy.state_dict())
    assert {f.name for f in copy.frames()} >= {name for view in original.views for name in view.frames}


def test_each_view_gets_its_intended_panel_which_draws_its_real_frames_live_and_replayed(trained, qtbot):
    """Every declared view, built as the window builds it (``create_panel``), is drawn by the panel
    registered for its first kind (through the kind's bases); fed the engine's own frames, and the
    same frames read back from the store, it puts a picture on screen: what it shows is not what it
    showed before its first frame."""
    from PySide6 import QtWidgets

    from engines.core.frames import kind_class
    from studio.panels import PANELS, create_panel

    engine, _ = trained
    fields = {info.name: info for info in fields_of(type(engine.config))}
    frames = frames_by_name(engine)
    for view in engine.views:
        panel = create_panel(view, fields)
        qtbot.addWidget(panel)
        intended = next(PANELS[cls] for cls in kind_class(view.kinds[0]).__mro__ if cls in PANELS)
        assert type(panel) is intended, (view.name, type(panel), intended)
        panel.resize(480, 360)
        panel.set_config(to_dict(engine.config))
        panel.set_live(True)
        panel.show()
        qtbot.waitExposed(panel)
        blank = panel.grab().toImage()
        for name in view.frames:
            panel.show_frame(frames[name])
        QtWidgets.QApplication.processEvents()
        drawn = panel.grab().toImage()
        assert drawn != blank, f"{engine.name}: the {view.name} panel shows nothing for its frames"
        panel.set_live(False)
        for name in view.frames:                            # replayed: the frames as the store gives them
            panel.show_frame(decode(*encode(frames[name])))
        QtWidgets.QApplication.processEvents()
        panel.close()


def frames_by_name(engine) -> dict:
    return {f.name: f for f in engine.frames()}


def assert_same_frames(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        for field in vars(a[name]):
            x, y = getattr(a[name], field), getattr(b[name], field)
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y, err_msg=f"{name}.{field}")
            else:
                assert x == y, f"{name}.{field}"


def test_its_picture_state_shared_and_loaded_in_place_draws_what_its_whole_state_draws(trained):
    """The display copy's path (engines.live.training.StateFeed → engines.live.display): ``picture_state()``
    copied into shared tensors and loaded as they are into a copy draws every frame exactly as a
    copy that loaded the whole state; the copy keeps nothing of the shared tensors (the next state
    is copied into them while it draws)."""
    import torch

    from engines.core.engine import _copied
    from engines.live.training import join_state, split_state

    engine, _ = trained
    whole, shared_copy = smoke(engine.name), smoke(engine.name)
    whole.load_state_dict(_copied(engine.state_dict()))
    tensors: list = []
    skeleton = split_state(engine.picture_state(), tensors)
    shared = [t.detach().clone().share_memory_() for t in tensors]
    shared_copy.load_picture_state(join_state(skeleton, shared))
    assert shared_copy.step == engine.step
    expected = frames_by_name(whole)
    for tensor in shared:                       # the next state overwrites the shared tensors
        tensor.copy_(torch.full_like(tensor, 3) if tensor.dtype.is_floating_point else torch.zeros_like(tensor))
    assert_same_frames(expected, frames_by_name(shared_copy))


@pytest.mark.parametrize("model", MODELS)
def test_watching_never_changes_training(model):
    """A run whose state is shared with a display copy after every step (which then draws every
    view), and whose frames are recorded at every step, trains bit for bit as a run nobody watches."""
    from engines.live.training import StateFeed, join_state

    class Conn:        # the display copy's end, in this process: it draws as soon as the state comes
        def send(self, message):
            if message.shared is not None:
                self.shared = message.shared
            display.load_picture_state(join_state(message.skeleton, self.shared))
            display.frames()
            feed.release()

    plain, watched, display = smoke(model), smoke(model), smoke(model)
    feed = StateFeed(watched, Conn())
    for _ in range(SMOKE_STEPS + 2):
        plain.train_step()
        watched.train_step()
        feed.wanted = True
        feed.offer()
        watched.frames()
        for engine in (plain, watched):      # the Runner's diagnostics, watched or not (a cadence in the state)
            engine.monitor()
    assert_same(plain.state_dict(), watched.state_dict())
    other_seed = smoke(model, seed=1)                   # and the comparison can tell runs apart
    for _ in range(SMOKE_STEPS + 2):
        other_seed.train_step()
    with pytest.raises(AssertionError):
        assert_same(plain.state_dict(), other_seed.state_dict())


def test_its_views_call_only_its_own_methods(trained):
    engine, _ = trained
    for method in engine.callable_methods():
        assert callable(getattr(engine, method, None)), method
    with pytest.raises(ValueError, match="no method"):
        from engines.core.commands import CallMethod
        engine.apply(CallMethod("state_dict"))


def test_its_loops_draw_their_views_frame_round_a_closed_path(trained):
    """A view's ``loop`` (its animation of the model itself) draws the view's own frame kind, moves
    with the phase and comes back where it started: phase 1 is phase 0."""
    engine, _ = trained
    for view in (v for v in engine.views if v.loop):
        loop = getattr(engine, view.loop)
        start, quarter, end = loop(0.0), loop(0.25), loop(1.0)
        assert start.name == view.frames[0] and kind_id(type(start)) in view.kinds, view.name
        assert not np.array_equal(start.still(), quarter.still()), view.name
        np.testing.assert_allclose(start.still(), end.still(), atol=1e-4, err_msg=view.name)


def recorded_run(engine, store, steps: int) -> dict:
    """Train ``engine`` to step ``steps`` through the Runner, recording into ``store`` at
    :data:`CADENCES` (as the CLI and the studio record a run), and close the store."""
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=steps, **CADENCES)).run()
    store.close()
    assert summary["status"] == "finished", summary.get("message")
    return summary


@pytest.mark.parametrize("model", MODELS)
def test_its_smoke_config_reaches_each_of_its_own_cadences(model):
    """Every ``*_every`` field (a GAN's sample check, a chain history's rows) comes round within
    the recorded smoke run, so the run below meets what a user's run meets."""
    cls = engine_class(model)
    config = with_overrides(cls.Config(), dict(cls.smoke_overrides))
    for info in fields_of(cls.Config):
        if info.name.endswith("_every"):
            value = getattr(config, info.name)
            assert 1 <= value <= RUN_STEPS // 2, \
                f"{model}: smoke_overrides must set {info.name} to at most {RUN_STEPS // 2} (it is {value})"


@pytest.mark.parametrize("model", MODELS)
def test_a_recorded_run_passes_every_cadence_resumes_bit_for_bit_and_evaluates(model, tmp_path):
    whole = smoke(model)
    diagnostics = []
    monitor = whole.monitor
    whole.monitor = lambda: diagnostics.append(monitor()) or diagnostics[-1]
    recorded_run(whole, new_run(whole, whole.smoke_data, tmp_path / "whole"), RUN_STEPS)
    if type(whole).monitor is not Engine.monitor:
        assert any(diagnostics), f"{model}.monitor() reported nothing in {RUN_STEPS} steps"
    store = RunStore.open(tmp_path / "whole")
    declared = {name for view in whole.views for name in view.frames}
    assert declared <= set(store.frame_names())
    every, early = CADENCES["record_frames_every"], early_frame_steps(CADENCES["record_frames_every"])
    watches = bool(whole.parameter_modules())     # every built-in engine; the toy has no modules
    assert watches == (model != "toy") == (WEIGHTS_AND_GRADIENTS in store.frame_names())
    for name in declared | ({WEIGHTS_AND_GRADIENTS} if watches else set()):   # the Runner's own frames too
        assert store.frame_steps(name) == [s for s in range(1, RUN_STEPS + 1) if s % every == 0 or s in early], name
    watched = list(store.frames(WEIGHTS_AND_GRADIENTS))[-1] if watches else None
    if watches:
        assert watched.names and watched.counts[:, 0].sum() > 0, f"{model}: no parameter tensor watched"
        with_gradient = np.isfinite(watched.ranges[:, 1, 0])
        assert with_gradient.any(), f"{model}: no tensor has a gradient after {RUN_STEPS} steps"
        assert {f"grad_norm/{layer_of(n)}" for n, g in zip(watched.names, with_gradient) if g} <= set(store.scalar_names())
    assert load_checkpoint(latest_checkpoint(store))["step"] == RUN_STEPS
    whole_scalars = {name: store.scalars(name, RUN_STEPS // 2) for name in store.scalar_names()}
    whole_history = watched.history_steps if watches else None
    store.close()

    part = smoke(model)
    recorded_run(part, new_run(part, part.smoke_data, tmp_path / "part"), RUN_STEPS // 2)
    store, resumed = resume_run(tmp_path / "part", "cpu")
    recorded_run(resumed, store, RUN_STEPS)
    assert_same(whole.state_dict(), resumed.state_dict())
    store = RunStore.open(tmp_path / "part")
    for name, (steps, _, values) in whole_scalars.items():
        again = store.scalars(name, RUN_STEPS // 2)
        assert np.array_equal(steps, again[0]) and np.array_equal(values, again[2], equal_nan=True), name
    if watches:                                     # the resumed run's weights frames reach back to step 1
        assert np.array_equal(list(store.frames(WEIGHTS_AND_GRADIENTS))[-1].history_steps, whole_history)
    store.close()

    metrics = resumed.evaluate()
    assert metrics and all(map(finite, metrics.values())), metrics
    json.dumps(metrics)                                # what `eval --json` prints


def finite(value) -> bool:
    """A metric is a finite number or flag, or a list of them (an AIS schedule's rows)."""
    if isinstance(value, (list, tuple)):
        return all(map(finite, value))
    return isinstance(value, (bool, int, float)) and math.isfinite(float(value))


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
