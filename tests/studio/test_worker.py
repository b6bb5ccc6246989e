"""The training worker: the in-process session (Runner + display copy) and the child process."""
import multiprocessing
import time

import numpy as np
import pytest

from studio.worker import DisplaySession, RunSpec, TrainingSession, TrainingWorker, new_run_dir

SMALL = {"hidden": 32, "chains": 16}


def wait_for(predicate, timeout=20.0, interval=0.01):
    """Poll ``predicate`` until it returns something truthy; return that, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


def test_new_run_dir_is_named_after_the_model_and_never_reused(tmp_path):
    first = new_run_dir(tmp_path, "rbm")
    assert first.name.startswith("rbm-") and len(first.name) == len("rbm-YYYYmmdd-HHMMSS")
    first.mkdir()
    second = new_run_dir(tmp_path, "rbm")
    assert second != first and second.name.startswith(first.name)


@pytest.fixture
def linked(tmp_path):
    """A training session in this process, wired to a display session as the processes are."""
    training_end, display_end = multiprocessing.Pipe()
    spec = RunSpec(data="digits", overrides=SMALL, runs_root=str(tmp_path))
    training = TrainingSession(spec, training_end)
    display = DisplaySession(spec)
    training.start()
    yield training, display, display_end
    training.command(("stop",))
    assert training.join(30)


def share_state(training, display, display_end):
    """One round of the protocol: the display asks, the training thread shares its state."""
    training.feed.wanted = True
    wait_for(lambda: display_end.poll())
    kind, skeleton, shared = display_end.recv()
    assert kind == "state"
    display.receive_state(skeleton, shared)
    return skeleton


def test_display_copy_draws_with_the_shared_training_state(linked):
    training, display, display_end = linked
    wait_for(lambda: training.pull()["status"]["step"] > 20)
    first = share_state(training, display, display_end)
    display.make_frame()
    frames = {f.name: f for f in display.take()}
    assert {"chains", "filters", "reconstructions"} <= set(frames)
    assert frames["chains"].probs.shape == (16, 8, 8)
    assert frames["filters"].step == first["step"] > 20      # the copy has the trained weights
    assert display.take() is None                             # each frame is handed over once
    np.testing.assert_allclose(display.engine.model.W.numpy(), training.feed._shared[first["model"]["W"]].numpy())
    # The next round reuses the shared tensors: only the small skeleton crosses the pipe.
    wait_for(lambda: training.pull()["status"]["step"] > first["step"] + 5)
    training.feed.wanted = True
    wait_for(lambda: display_end.poll())
    _, second, shared = display_end.recv()
    assert shared is None and second["step"] > first["step"]


def test_commands_pause_and_single_step(linked):
    training, display, display_end = linked
    wait_for(lambda: training.pull()["status"]["step"] > 5)
    training.command(("pause",))
    wait_for(lambda: training.pull()["status"]["paused"])
    step = training.pull()["status"]["step"]
    time.sleep(0.3)
    assert training.pull()["status"]["step"] == step
    training.command(("step", 1))
    wait_for(lambda: training.pull()["status"]["step"] == step + 1)
    time.sleep(0.2)
    assert training.pull()["status"]["step"] == step + 1

    display.make_frame()                  # the chains have moved before the restart
    display.take()
    assert display.due_in() is None       # nothing new: no frame to make
    for command in (("set", "lr", 0.0123), ("call", "restart_chain", (3,))):
        training.command(command)
        display.command(command)
    time.sleep(0.05)                      # frames are at most DISPLAY_FPS a second
    assert display.due_in() == 0.0
    display.make_frame()
    chains = {f.name: f for f in display.take()}["chains"]
    assert chains.gibbs_steps[3] < chains.gibbs_steps[2]
    assert display.engine.config.lr == pytest.approx(0.0123)
    wait_for(lambda: ("set", "lr=0.0123") in [(k, m) for _, k, m in training.store.events()])


def test_session_stop_keeps_the_run(tmp_path):
    from engines.core.store import RunStore

    live = TrainingSession(RunSpec(data="digits", overrides=SMALL, runs_root=str(tmp_path), live=False))
    live.start()
    wait_for(lambda: live.pull()["status"]["step"] > 10)
    live.command(("stop",))
    assert live.join(30)
    assert live.pull()["summary"]["status"] == "stopped"
    store = RunStore.open(live.run_dir)
    assert store.meta()["status"] == "stopped"
    assert store.latest_checkpoint() is not None
    store.close()


def test_child_process_reports_a_bad_config_and_exits(qtbot):
    worker = TrainingWorker(RunSpec(data="digits", overrides={"no_such_key": 1}))
    with qtbot.waitSignal(worker.failed, timeout=60_000) as blocker:
        pass
    message, catalog = blocker.args
    assert "no_such_key" in message
    assert "rbm" in catalog and any(f.name == "lr" for f in catalog["rbm"]["fields"])
    worker.stop()
    assert not worker.is_alive()


def test_child_process_trains_streams_and_stops_cleanly(qtbot):
    from engines.core.store import RunStore

    worker = TrainingWorker(RunSpec(data="digits", overrides=SMALL))
    got = {"frames": [], "rows": []}
    worker.framesArrived.connect(got["frames"].append)
    worker.rowsArrived.connect(got["rows"].extend)
    with qtbot.waitSignal(worker.ready, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: len(got["frames"]) >= 3 and len(got["rows"]) >= 2, timeout=30_000)
    steps = [row[0] for row in got["rows"]]
    assert steps == sorted(steps) and all(np.isfinite(list(row[2].values())).all() for row in got["rows"])
    worker.stop()
    assert not worker.is_alive() and not multiprocessing.active_children()
    assert worker.summary["status"] == "stopped"
    store = RunStore.open(worker.info["run_dir"])
    assert store.meta()["status"] == "stopped"
    store.close()
