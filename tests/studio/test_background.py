"""Work off the GUI thread hands its result back through a GUI-thread timer, never through Qt
calls from the worker thread; a cancelled call's result is dropped."""
import threading

import pytest

from studio.background import BackgroundCall


def test_the_result_arrives_in_the_gui_thread(qtbot):
    seen = []
    gui = threading.current_thread()
    call = BackgroundCall(lambda: threading.current_thread(), lambda worker: seen.append((worker, threading.current_thread())))
    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
    worker, caller = seen[0]
    assert worker is not gui and caller is gui and not call.running


def test_an_error_goes_to_its_handler(qtbot):
    errors = []

    def fail():
        raise ValueError("unreadable")
    call = BackgroundCall(fail, lambda _: pytest.fail("no result expected"), errors.append)  # noqa: F841 (kept alive)
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert str(errors[0]) == "unreadable"


def test_a_cancelled_call_drops_its_result(qtbot):
    release = threading.Event()
    seen = []
    call = BackgroundCall(lambda: release.wait(5), seen.append)
    call.cancel()
    release.set()
    qtbot.wait(200)
    assert seen == [] and not call.running


def test_a_window_closed_while_a_run_is_still_being_read_closes_at_once(qtbot, tmp_path, monkeypatch):
    """The curves of an opened run are read in a thread with its own connection: closing the viewer
    meanwhile closes only the viewer's connection and drops what the thread reads."""
    import studio.recorded_view as recorded_view
    from engines.core.runner import Runner, RunnerSettings
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    run_dir = tmp_path / "toy-run"
    engine = build_engine("toy", "digits", "cpu", 0, {})
    store = RunStore.create(run_dir, describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=20, record_frames_every=10)).run()
    store.close()

    reading, release = threading.Event(), threading.Event()
    real = recorded_view.read_curves

    def slow_read(path):
        reading.set()
        release.wait(5)
        return real(path)
    monkeypatch.setattr(recorded_view, "read_curves", slow_read)
    from studio.window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_run(run_dir)
    assert reading.wait(5)
    window.close()                              # while the thread still reads
    assert window.viewer is None
    release.set()
    qtbot.wait(300)                             # the thread ends; its result goes nowhere, no error


def test_garbage_is_collected_by_the_gui_thread_only(qtbot):
    """With Python threads in the GUI process the automatic collector is off (it could destroy a
    Qt object in a worker thread and deadlock); a GUI-thread timer collects cycles instead."""
    import gc
    import weakref

    class Node:
        pass

    call = BackgroundCall(lambda: None, lambda _: None)  # noqa: F841 (kept alive)
    assert not gc.isenabled()
    first = Node()
    first.cycle = [Node() for _ in range(2000)] + [first]    # garbage past the collector's threshold
    alive = weakref.ref(first)
    del first
    qtbot.waitUntil(lambda: alive() is None, timeout=5_000)
