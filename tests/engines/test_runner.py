"""The Runner and its Control, on the toy engine: the loop every front end shares."""
import threading
import time

import numpy as np
import pytest

from engines.core.runner import Control, Runner, RunnerSettings, early_frame_steps
from engines.core.checkpoints import latest_checkpoint, load_checkpoint
from engines.core.store import RunStore
from engines.registry import describe
from tests.engines.training import fill_the_disk_when


def start(runner):
    thread = threading.Thread(target=lambda: setattr(runner, "summary", runner.run()))
    thread.start()
    return thread


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_runs_to_max_steps_and_records_everything(toy, tmp_path):
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=50, record_frames_every=20,
                                                             checkpoint_every=25)).run()
    assert summary["status"] == "finished" and summary["steps"] == 50
    reader = RunStore.open(tmp_path / "run")
    meta = reader.meta()
    assert meta["status"] == "finished" and meta["model"] == "toy"
    assert [v["name"] for v in meta["views"]] == ["mean", "bars"] and meta["fields"][0]["name"] == "lr"
    assert list(reader.scalars("loss")[0]) == list(range(1, 51))
    assert reader.frame_steps("mean") == [20, 40, 50]
    assert load_checkpoint(latest_checkpoint(reader))["step"] == 50


def test_frames_are_dense_early_and_at_the_cadence_later(toy, tmp_path):
    """With early frames (the CLI's and the studio's default), a run records steps 1, 2, 3, … ever
    further apart until they are a cadence apart: at least 60 frames in the first 1,000 steps at the
    default cadence of 200 (5 without), all of them within the first 2,500 steps; then the cadence."""
    early = early_frame_steps(200)
    assert sum(s <= 1000 for s in early) >= 60 and max(early) < 2500
    gaps = np.diff(sorted(early))
    assert gaps.min() >= 1 and gaps.max() < 200 and np.all(np.diff(gaps) >= 0)     # ever further apart
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=150, record_frames_every=50, record_frames_early=True,
                                                  record_frames_seconds=0)).run()
    recorded = RunStore.open(tmp_path / "run").frame_steps("mean")
    assert recorded == sorted((set(early_frame_steps(50)) | {50, 100, 150}) & set(range(1, 151)))
    assert recorded[:5] == [1, 2, 3, 4, 5] and recorded[-1] == 150


def test_pause_single_step_live_change_actions_and_stop(toy, tmp_path):
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    control = Control(paused=True)
    runner = Runner(engine, store, control)
    runner.latest.consumer = True
    thread = start(runner)
    try:
        wait_for(lambda: runner.latest.status.paused)
        time.sleep(0.2)
        assert engine.step == 0
        control.step()
        wait_for(lambda: engine.step == 1)
        time.sleep(0.2)
        assert engine.step == 1
        control.set("lr", "0.3")
        control.set("batch_size", "3")                             # not live: refused, run goes on
        control.call("jump")                                       # a view's action: allowed
        control.call("state_dict")                                 # no view declares it: refused
        wait_for(lambda: engine.config.lr == 0.3)
        wait_for(lambda: "state_dict" in runner.latest.status.message)
        assert engine.config.batch_size == 16
        events = runner.latest.take_events()
        assert (1, "set", "lr=0.3") in events and (1, "action", "jump()") in events
        assert any(kind == "refused" and "cannot change" in text for _, kind, text in events)
        control.resume()
        wait_for(lambda: engine.step > 30)
    finally:
        control.stop()
        thread.join(10)
    assert not thread.is_alive() and runner.summary["status"] == "stopped"
    reader = RunStore.open(tmp_path / "run")
    assert ("set", "lr=0.3") in [(kind, msg) for _, kind, msg in reader.events()]
    assert reader.meta()["status"] == "stopped"
    assert load_checkpoint(latest_checkpoint(reader))["step"] == engine.step


def test_frames_are_made_only_to_be_recorded(toy, tmp_path):
    """Live pictures come from the studio's display copy: the loop makes frames only for the run's
    store (every ``record_frames_every`` steps and at the end), never for a pause or a command."""
    engine = toy()
    calls = []
    frames = engine.frames
    engine.frames = lambda wanted=None: calls.append(engine.step) or frames(wanted)
    runner = Runner(engine, settings=RunnerSettings(max_steps=300))
    runner.latest.consumer = True
    runner.run()                                   # nothing recorded: no frames at all
    assert calls == []
    assert [r[0] for r in runner.latest.take_scalars()] == list(range(1, 301))
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    control = Control(paused=True)
    control.set("lr", "0.2")
    control.step(3)
    control.resume()
    Runner(engine, store, control, RunnerSettings(max_steps=560, record_frames_every=200)).run()
    assert calls == [400, 560]


def test_nan_stops_the_run_as_diverged_and_keeps_the_last_good_checkpoint(toy, tmp_path):
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    step = engine.train_step
    engine.train_step = lambda: {**step(), **({"loss": float("nan")} if engine.step >= 30 else {})}
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=100, checkpoint_every=20)).run()
    assert summary["status"] == "diverged" and "step 30" in summary["message"]
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "diverged"
    assert load_checkpoint(latest_checkpoint(reader))["step"] == 20
    assert any(kind == "error" and "NaN" in msg for _, kind, msg in reader.events())


def test_an_exception_in_training_is_recorded_not_raised(toy, tmp_path):
    engine = toy(fail_at=8)
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=100)).run()
    assert summary["status"] == "failed" and summary["message"] == "RuntimeError: toy failure at step 8"
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "failed" and reader.meta()["steps"] == 7
    kinds = [kind for _, kind, _ in reader.events()]
    assert "traceback" in kinds and "error" in kinds


@pytest.mark.parametrize("bad, words", [("bars", "bars must be int"), ("lr", "lr must be float"),
                                        ("lr", "lr must be > 0")])
def test_wrong_or_out_of_range_live_value_is_refused(toy, bad, words):
    engine = toy()
    control = Control()
    control.set(bad, "-1" if "> 0" in words else "many")
    runner = Runner(engine, control=control, settings=RunnerSettings(max_steps=2))
    assert runner.run()["status"] == "finished"
    assert words in runner.latest.status.message


def test_interactive_divergence_pauses_and_rewinds_to_the_last_checkpoint(toy, tmp_path):
    """In the studio a NaN does not end the run: it pauses, back at its last good checkpoint, so
    the user can lower a learning rate and resume; nothing recorded before is lost."""
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    step = engine.train_step
    engine.train_step = lambda: {**step(), **({"loss": float("nan")} if engine.config.lr > 1 else {})}
    control = Control()
    runner = Runner(engine, store, control, RunnerSettings(checkpoint_every=20, interactive=True))
    runner.latest.consumer = True
    thread = start(runner)
    try:
        wait_for(lambda: engine.step > 45)
        control.pause()
        wait_for(lambda: runner.latest.status.paused)
        paused_at = engine.step
        control.set("lr", "5")                                    # diverges at the next step
        control.resume()
        wait_for(lambda: control.paused and engine.config.lr == 5)
        assert engine.step == paused_at // 20 * 20                # back at the last checkpoint
        alert = [text for _, kind, text in runner.latest.take_events() if kind == "alert"]
        assert alert and "paused and rewound to step" in alert[0]
        control.set("lr", "0.05")
        control.resume()
        wait_for(lambda: engine.step > 100)
    finally:
        control.stop()
        thread.join(10)
    assert runner.summary["status"] == "stopped"
    reader = RunStore.open(tmp_path / "run")
    kinds = [kind for _, kind, _ in reader.events()]
    assert "rewound" in kinds and "alert" in kinds
    steps, _, values = reader.scalars("loss")
    assert np.isnan(values).any() and steps[0] == 1              # the NaN and all before it are kept


def test_a_full_disk_pauses_an_interactive_run_and_stops_a_headless_one(toy, tmp_path):
    for interactive in (True, False):
        engine = toy()
        store = RunStore.create(tmp_path / f"run{interactive}", describe(engine, "digits"))
        control = Control()
        free = {"bytes": 10**12}
        store.free_bytes = lambda: free["bytes"]
        runner = Runner(engine, store, control, RunnerSettings(record_frames_every=10, interactive=interactive))
        thread = start(runner)
        try:
            wait_for(lambda: engine.step > 30)
            free["bytes"] = 10 * 2**20
            if interactive:
                wait_for(lambda: control.paused)
                assert "nearly full" in runner.latest.status.message
                free["bytes"] = 10**12
                control.resume()
                wait_for(lambda: engine.step > 100)
                control.stop()
            thread.join(10)
        finally:
            control.stop()
            thread.join(10)
        summary = runner.summary
        assert summary["status"] == "stopped"
        if not interactive:
            assert "nearly full" in summary["message"]
        assert latest_checkpoint(RunStore.open(tmp_path / f"run{interactive}")) is not None


def test_a_failed_write_ends_with_a_message_and_the_last_checkpoint(toy, tmp_path, monkeypatch):
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    fill_the_disk_when(monkeypatch, lambda: engine.step >= 40)
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=100, checkpoint_every=20)).run()
    assert summary["status"] == "stopped" and "the disk is full" in summary["message"]
    assert summary["message"].count("the disk is full") == 1
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "stopped"
    assert load_checkpoint(latest_checkpoint(reader))["step"] == 20
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))


def test_a_run_whose_last_checkpoint_cannot_be_written_is_stopped_at_its_last_good_one(toy, tmp_path,
                                                                                       monkeypatch):
    engine = toy()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    fill_the_disk_when(monkeypatch, lambda: engine.step >= 50)
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=50, checkpoint_every=20)).run()
    assert summary["status"] == "stopped"
    assert summary["message"] == (f"the disk is full: cannot write to the run in {tmp_path / 'run'}; "
                                  "its last checkpoint is step-000000040.pt")
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "stopped"
    assert load_checkpoint(latest_checkpoint(reader))["step"] == 40
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))


def test_a_speed_limit_paces_the_steps_and_a_stop_cuts_the_wait_short():
    """An engine's ``steps_per_s`` (gan2d's speed control) spaces the steps' starts; resting is
    interrupted by a stop (or a pause, or a command) at once."""
    from engines.registry import build_engine, engine_class

    cls = engine_class("gan2d")
    engine = build_engine("gan2d", "ring", "cpu", 0, {**cls.smoke_overrides, "steps_per_s": 20})
    started = time.monotonic()
    assert Runner(engine, settings=RunnerSettings(max_steps=6)).run()["status"] == "finished"
    assert time.monotonic() - started >= 5 / 20 * 0.9
    engine.set_live("steps_per_s", 0.5)                           # a step every 2 s
    runner = Runner(engine, settings=RunnerSettings(max_steps=100))
    thread = start(runner)
    wait_for(lambda: engine.step == 7)
    stopped = time.monotonic()
    runner.control.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - stopped < 0.5 and runner.summary["steps"] == 7
