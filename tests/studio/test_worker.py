"""The training worker, on the toy engine: the in-process sessions (Runner + display copy) and the
child processes, spoken to with the protocol's named messages."""
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engines.core.commands import CallMethod, SetField
from engines.live import training as children
from engines.live.training import TrainingSession
from engines.live.display import DISPLAY_SHARE, DISPLAY_SHARE_ENV, DisplaySession, display_share
from engines.live.protocol import Pause, RunSpec, State, Step, Stop, Wanted
from engines.runs import new_run_dir
from studio.worker import MessageReader, TrainingWorker

SPEC = dict(model="toy", data="digits")
ROOT = Path(__file__).resolve().parents[2]


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
    first = new_run_dir(tmp_path, "toy")
    assert first.name.startswith("toy-") and len(first.name) == len("toy-YYYYmmdd-HHMMSS")
    assert first.is_dir() and not any(first.iterdir())          # made: the name is claimed
    second = new_run_dir(tmp_path, "toy")
    assert second != first and second.name.startswith(first.name)


def test_two_runs_started_in_the_same_second_by_two_processes_get_a_directory_each(tmp_path):
    """The benchmark's headless and live sides start together: both runs must record."""
    code = (f"from pathlib import Path; from engines.runs import new_run_dir; "
            f"print(new_run_dir(Path({str(tmp_path)!r}), 'toy'))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(4)]
    dirs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert len(set(dirs)) == 4 and all(Path(d).is_dir() for d in dirs)


@pytest.fixture
def linked(tmp_path):
    """A training session in this process, wired to a display session as the processes are."""
    training_end, display_end = multiprocessing.Pipe()
    spec = RunSpec(**SPEC, runs_root=str(tmp_path))
    training = TrainingSession(spec, training_end)
    display = DisplaySession(spec)
    training.start()
    yield training, display, display_end
    training.command(Stop())
    assert training.join(30)


def share_state(training, display, display_end) -> State:
    """One round of the protocol: the display asks, the training thread shares its state."""
    training.feed.wanted = True
    wait_for(lambda: display_end.poll())
    state = display_end.recv()
    assert isinstance(state, State)
    display.receive_state(state)
    return state


def draw_state(training, display) -> None:
    """The display draws the state it was sent and says so (as its process loop does): training goes on."""
    assert display.make_frame()
    training.feed.release()


def test_display_copy_draws_with_the_shared_training_state(linked):
    training, display, display_end = linked
    wait_for(lambda: training.pull().status["step"] > 20)
    first = share_state(training, display, display_end)
    draw_state(training, display)
    frames = {f.name: f for f in display.take().frames}
    assert set(frames) == {"mean", "bars"}
    assert frames["mean"].step == first.skeleton["step"] > 20      # the copy has the trained mean
    assert display.take() is None                                   # each frame is handed over once
    np.testing.assert_allclose(display.engine.mean.numpy(), training.feed._shared[first.skeleton["mean"]].numpy())
    # The next round reuses the shared tensors: only the small skeleton crosses the pipe.
    wait_for(lambda: training.pull().status["step"] > first.skeleton["step"] + 5)
    training.feed.wanted = True
    wait_for(lambda: display_end.poll())
    second = display_end.recv()
    assert second.shared is None and second.skeleton["step"] > first.skeleton["step"]
    training.feed.release()


def test_training_waits_while_the_display_draws_its_state(linked, monkeypatch):
    """A picture of the training state is drawn in a pause of training (with every core), which
    goes on when the display says it has drawn, or after ``STATE_HOLD_S`` if it never does."""
    training, display, display_end = linked
    wait_for(lambda: training.pull().status["step"] > 5)
    state = share_state(training, display, display_end)
    time.sleep(0.3)
    assert training.pull().status["step"] == state.skeleton["step"]    # waiting for the picture
    draw_state(training, display)
    wait_for(lambda: training.pull().status["step"] > state.skeleton["step"])
    assert not display.make_frame()            # a picture of nothing new: training was not waiting
    monkeypatch.setattr(children, "STATE_HOLD_S", 0.2)
    state = share_state(training, display, display_end)                 # and never drawn
    wait_for(lambda: training.pull().status["step"] > state.skeleton["step"], timeout=5)


def test_controls_live_edits_calls_and_actions_reach_the_right_process(linked):
    training, display, display_end = linked
    wait_for(lambda: training.pull().status["step"] > 5)
    training.command(Pause())
    wait_for(lambda: training.pull().status["paused"])
    step = training.pull().status["step"]
    time.sleep(0.3)
    assert training.pull().status["step"] == step
    training.command(Step(1))
    wait_for(lambda: training.pull().status["step"] == step + 1)
    time.sleep(0.2)
    assert training.pull().status["step"] == step + 1

    display.make_frame()
    display.take()
    assert display.due_in() is None           # nothing new: no frame to make
    display.command(SetField("bars", 5))
    display.command(CallMethod("poke", (2,)))
    time.sleep(0.05)                          # frames are at most DISPLAY_FPS a second
    assert display.due_in() == 0.0
    display.make_frame()
    bars = {f.name: f for f in display.take().frames}["bars"]
    assert len(bars.values) == 5 and bars.highlight == 2
    training.command(SetField("lr", 0.0123))
    training.command(CallMethod("jump", ()))
    wait_for(lambda: training.engine.config.lr == pytest.approx(0.0123))
    events = wait_for(lambda: training.pull().events)
    assert ("set", "lr=0.0123") in [(k, m) for _, k, m in events]
    wait_for(lambda: ("action", "jump()") in [(k, m) for _, k, m in training.store.events()])


def test_display_makes_only_the_wanted_frames_and_drops_repeats(linked):
    _, display, _ = linked
    display.command(Wanted(frozenset({"bars"})))
    display.make_frame()
    assert [f.name for f in display.take().frames] == ["bars"]
    display.command(Wanted(None))
    display.make_frame()
    assert {f.name for f in display.take().frames} == {"mean", "bars"}


@pytest.mark.parametrize("value, share", [("0.1", 0.1), ("1", 1.0), ("0", DISPLAY_SHARE), ("2", DISPLAY_SHARE),
                                          ("lots", DISPLAY_SHARE), ("", DISPLAY_SHARE)])
def test_the_display_budget_can_be_chosen_in_the_environment(monkeypatch, value, share):
    monkeypatch.setenv(DISPLAY_SHARE_ENV, value)
    assert display_share() == share


def test_session_stop_keeps_the_run(tmp_path):
    from engines.core.checkpoints import latest_checkpoint
    from engines.core.store import RunStore

    live = TrainingSession(RunSpec(**SPEC, runs_root=str(tmp_path), live=False))
    live.start()
    wait_for(lambda: live.pull().status["step"] > 10)
    live.command(Stop())
    assert live.join(30)
    assert live.pull().summary["status"] == "stopped"
    store = RunStore.open(live.run_dir)
    assert store.meta()["status"] == "stopped"
    assert latest_checkpoint(store) is not None
    store.close()


def test_child_process_reports_a_bad_config_and_exits(qtbot):
    worker = TrainingWorker(RunSpec(**SPEC, overrides={"no_such_key": 1}))
    with qtbot.waitSignal(worker.failed, timeout=60_000) as blocker:
        pass
    (message,) = blocker.args
    assert "no_such_key" in message
    worker.stop()
    assert not worker.is_alive()


def test_child_process_trains_streams_and_stops_cleanly(qtbot):
    from engines.core.store import RunStore

    worker = TrainingWorker(RunSpec(**SPEC))
    got = {"frames": [], "rows": []}
    worker.framesArrived.connect(got["frames"].append)
    worker.rowsArrived.connect(got["rows"].extend)
    with qtbot.waitSignal(worker.opened, timeout=60_000):
        pass
    assert worker.actions == {"jump"}
    qtbot.waitUntil(lambda: len(got["frames"]) >= 3 and len(got["rows"]) >= 2, timeout=30_000)
    steps = [row[0] for row in got["rows"]]
    assert steps == sorted(steps) and all(np.isfinite(list(row[2].values())).all() for row in got["rows"])
    worker.stop()
    assert not worker.is_alive() and not multiprocessing.active_children()
    assert worker.summary["status"] == "stopped"
    store = RunStore.open(worker.info["run_dir"])
    assert store.meta()["status"] == "stopped"
    store.close()


def test_the_gui_reads_a_message_only_once_all_of_it_has_arrived_and_never_waits_for_it():
    """A child descheduled halfway through a message must not block the GUI in ``recv``."""
    import os
    import pickle
    import struct
    import threading

    gui_end, child_end = multiprocessing.Pipe()
    reader = MessageReader(gui_end)
    payload = pickle.dumps(("hello", np.arange(10)))
    data = struct.pack("!i", len(payload)) + payload
    os.write(child_end.fileno(), data[:7])             # the length and a few bytes of the body
    assert reader.messages() == []                     # at once, without the rest
    os.write(child_end.fileno(), data[7:])
    (message,) = reader.messages()
    assert message[0] == "hello" and list(message[1]) == list(range(10))

    big = np.arange(2_000_000, dtype=np.uint8)        # longer than the socket's buffer: written in parts
    writer = threading.Thread(target=child_end.send, args=((1, big), ))
    writer.start()
    got = []
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:
        got = reader.messages()
        time.sleep(0.001)
    writer.join()
    assert got[0][0] == 1 and np.array_equal(got[0][1], big)
    child_end.send("last")
    child_end.close()
    assert wait_for(lambda: reader.messages() or reader.closed)
    assert reader.closed
    reader.close()
