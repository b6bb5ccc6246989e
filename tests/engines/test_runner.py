import threading
import time

import pytest

from engines.core.runner import Control, Runner, RunnerSettings
from engines.core.store import RunStore, load_checkpoint
from engines.registry import describe


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


def test_runs_to_max_steps_and_records_everything(small_rbm, tmp_path):
    engine = small_rbm()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=50, record_frames_every=20,
                                                             checkpoint_every=25)).run()
    assert summary["status"] == "finished" and summary["steps"] == 50
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "finished"
    assert list(reader.scalars("recon_error")[0]) == [10, 20, 30, 40, 50]
    assert reader.frame_steps("filters") == [20, 40, 50]
    assert load_checkpoint(reader.latest_checkpoint())["step"] == 50


def test_pause_single_step_live_change_and_stop(small_rbm, tmp_path):
    engine = small_rbm()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    control = Control(paused=True)
    runner = Runner(engine, store, control)
    runner.latest.consumer = True
    thread = start(runner)
    try:
        wait_for(lambda: runner.latest.take_frames() is not None)   # first frames even while paused
        time.sleep(0.2)
        assert engine.step == 0
        control.step()
        wait_for(lambda: engine.step == 1)
        time.sleep(0.2)
        assert engine.step == 1
        control.set("lr", "0.3")
        control.set("hidden", "3")                                 # not live: refused, run goes on
        control.call("restart_chain", 1, 0)
        wait_for(lambda: engine.config.lr == 0.3)
        assert engine.config.hidden == 32 and "cannot change" in runner.latest.status.message
        control.resume()
        wait_for(lambda: engine.step > 30)
    finally:
        control.stop()
        thread.join(10)
    assert not thread.is_alive() and runner.summary["status"] == "stopped"
    reader = RunStore.open(tmp_path / "run")
    assert ("set" , "lr=0.3") in [(kind, msg) for _, kind, msg in reader.events()]
    assert reader.meta()["status"] == "stopped"
    assert load_checkpoint(reader.latest_checkpoint())["step"] == engine.step


def test_a_slow_display_drops_frames_instead_of_slowing_training(small_rbm):
    engine = small_rbm()
    calls = []
    frames = engine.frames
    engine.frames = lambda: calls.append(1) or frames()
    runner = Runner(engine, settings=RunnerSettings(max_steps=300, frame_interval=0))
    runner.latest.consumer = True
    runner.run()                                   # nobody takes the frames
    assert len(calls) == 1                         # only the first, never re-made until taken
    rows = runner.latest.take_scalars()
    assert [r[0] for r in rows] == list(range(10, 301, 10))


def test_nan_stops_the_run_as_diverged_and_keeps_the_last_good_checkpoint(small_rbm, tmp_path):
    engine = small_rbm()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    monitor = engine.monitor
    engine.monitor = lambda: {**monitor(), "recon_error": float("nan")} if engine.step >= 30 else monitor()
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=100, checkpoint_every=20)).run()
    assert summary["status"] == "diverged" and "step 30" in summary["message"]
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "diverged"
    assert load_checkpoint(reader.latest_checkpoint())["step"] == 20
    assert any(kind == "error" and "NaN" in msg for _, kind, msg in reader.events())


def test_an_exception_in_training_is_recorded_not_raised(small_rbm, tmp_path):
    engine = small_rbm()
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    step = engine.train_step

    def failing():
        if engine.step == 7:
            raise RuntimeError("boom")
        return step()
    engine.train_step = failing
    summary = Runner(engine, store, settings=RunnerSettings(max_steps=100)).run()
    assert summary["status"] == "failed" and summary["message"] == "RuntimeError: boom"
    reader = RunStore.open(tmp_path / "run")
    assert reader.meta()["status"] == "failed" and reader.meta()["steps"] == 7
    kinds = [kind for _, kind, _ in reader.events()]
    assert "traceback" in kinds and "error" in kinds


@pytest.mark.parametrize("bad", ["k", "lr"])
def test_wrong_typed_live_value_is_refused(small_rbm, bad):
    engine = small_rbm()
    control = Control()
    control.set(bad, "many")
    runner = Runner(engine, control=control, settings=RunnerSettings(max_steps=2))
    assert runner.run()["status"] == "finished"
    assert f"{bad} must be" in runner.latest.status.message
