"""Long reads go step by step between the window's events: the GUI thread stays free between
steps, a cancelled read stops where it is, and a window closed mid-read closes cleanly."""
import pytest

from studio.stepwise import Stepwise


def test_items_come_back_in_order_and_events_run_between_steps(qtbot):
    from PySide6 import QtCore

    ticks, results = [], []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(len(ticks)))
    timer.start(0)

    def steps():
        for _ in range(5):
            yield len(ticks)                  # how many events of the other timer ran so far
    call = Stepwise(steps(), results.append)  # noqa: F841 (kept alive)
    qtbot.waitUntil(lambda: bool(results), timeout=5_000)
    timer.stop()
    seen = results[0]
    assert len(seen) == 5 and all(b > a for a, b in zip(seen, seen[1:])) and not call.running


def test_an_error_goes_to_its_handler(qtbot):
    errors = []

    def steps():
        yield 1
        raise ValueError("unreadable")
    call = Stepwise(steps(), lambda _: pytest.fail("no result expected"), errors.append)  # noqa: F841
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert str(errors[0]) == "unreadable"


def test_a_cancelled_read_stops_where_it_is(qtbot):
    taken, results, closed = [], [], []

    def steps():
        try:
            for i in range(1_000_000):
                taken.append(i)
                yield i
        finally:
            closed.append(True)
    call = Stepwise(steps(), results.append)
    qtbot.waitUntil(lambda: len(taken) >= 3, timeout=5_000)
    call.cancel()
    count = len(taken)
    qtbot.wait(100)
    assert len(taken) == count and results == [] and closed == [True]


def test_a_window_closed_while_an_opened_run_is_still_being_read(qtbot, tmp_path):
    from engines.core.runner import Runner, RunnerSettings
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe
    from studio.window import MainWindow

    run_dir = tmp_path / "toy-run"
    engine = build_engine("toy", "digits", "cpu", 0, {})
    store = RunStore.create(run_dir, describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=20, record_frames_every=10)).run()
    store.close()

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_run(run_dir)
    reading = window.viewer._reading
    assert reading.running                    # open_run returned before the curves were read
    window.close()
    assert window.viewer is None
    qtbot.wait(100)                           # nothing reads the closed store afterwards
