"""Runs: the run browser, the timeline's playback, side-by-side comparison, resuming from the studio."""
import numpy as np
import pytest
from PySide6 import QtCore

from engines.core.runner import Runner, RunnerSettings
from engines.core.store import RunStore
from engines.registry import build_engine, describe
from studio.compare import CompareWindow, differing_settings
from studio.run_browser import COLUMNS, RunBrowser
from engines.records import run_index
from engines.records.run_index import RunIndex, scan
from studio.window import MainWindow


def record(path, steps=60, **overrides):
    engine = build_engine("toy", "digits", "cpu", 0, overrides)
    store = RunStore.create(path, describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=steps, record_frames_every=20)).run()
    store.close()
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    record(root / "toy-a", 60, lr=0.1)
    record(root / "toy-b", 80, lr=0.3, bars=5)
    crashed = RunStore.create(root / "toy-c", {"model": "toy", "data": "digits", "config": {}})
    crashed.add_scalars(3, {"loss": 1.0})
    crashed.flush()
    crashed._writer_lock.close()          # as if its process had been killed: the lock is free
    return root


def test_the_index_reads_again_only_the_runs_that_changed_or_run(runs, tmp_path, monkeypatch):
    record(tmp_path / "toy-d", 20)
    opened = []
    real = run_index.summarize
    monkeypatch.setattr(run_index, "summarize", lambda path: opened.append(path.name) or real(path))
    index = RunIndex()
    first = {s.path.name: s for s in index.scan_steps([runs, tmp_path]) if s is not None}
    assert sorted(opened) == ["toy-a", "toy-b", "toy-c", "toy-d"] and set(first) == set(opened)
    opened.clear()
    again = {s.path.name: s for s in index.scan_steps([runs, tmp_path]) if s is not None}
    assert opened == [] and again == first                    # nothing written: nothing opened
    store = RunStore.open(tmp_path / "toy-d", writable=True)
    store.add_scalars(21, {"loss": 0.5})
    store.set_meta(steps=21)
    store.close()
    opened.clear()
    again = {s.path.name: s for s in index.scan_steps([runs, tmp_path]) if s is not None}
    assert opened == ["toy-d"] and again["toy-d"].steps == 21


def test_scan_lists_runs_with_status_steps_and_last_metrics(runs):
    summaries = {s.path.name: s for s in scan([runs])}
    assert set(summaries) == {"toy-a", "toy-b", "toy-c"}
    assert summaries["toy-a"].status == "finished" and summaries["toy-a"].steps == 60
    assert summaries["toy-c"].status == "crashed"                 # marked running, its writer gone
    assert "loss" in summaries["toy-b"].metrics_text


def test_the_held_out_column_shows_both_ends_and_an_estimate_that_did_not_converge(qtbot, tmp_path):
    for name, converged in (("rbm-met", True), ("rbm-apart", False)):
        store = RunStore.open(record(tmp_path / name, 20), writable=True)
        store.set_meta(eval={"ais_log_likelihood": -93.62, "log_likelihood_conservative": -101.4,
                             "log_likelihood_optimistic": -93.62, "ais_converged": converged})
        store.close()
    store = RunStore.open(record(tmp_path / "plain", 20), writable=True)
    store.set_meta(eval={"frechet_distance": 12.5})
    store.close()
    summaries = {s.path.name: s for s in scan([tmp_path])}
    assert summaries["rbm-met"].held_out_text == "log-likelihood [-101.40, -93.62]"
    assert summaries["rbm-apart"].held_out_text == "log-likelihood [-101.40, -93.62] NOT converged"
    assert summaries["plain"].held_out_text == "frechet_distance 12.5"
    browser = RunBrowser(QtCore.QSettings())
    qtbot.addWidget(browser)
    browser.folders = [str(tmp_path)]
    browser.show()
    qtbot.waitUntil(lambda: browser.proxy.rowCount() == 3, timeout=10_000)
    column = COLUMNS.index("held-out")
    shown = {browser.proxy.index(row, 0).data(): browser.proxy.index(row, column) for row in range(3)}
    assert shown["rbm-apart"].data().endswith("NOT converged")
    assert "did not converge" in shown["rbm-apart"].data(QtCore.Qt.ItemDataRole.ToolTipRole)
    assert shown["rbm-met"].data(QtCore.Qt.ItemDataRole.ToolTipRole) is None


def test_a_narrow_browser_shows_each_runs_status_steps_and_held_out_figure(qtbot, runs):
    from studio.layout import SETUP_WIDTH

    browser = RunBrowser(QtCore.QSettings())
    qtbot.addWidget(browser)
    browser.folders = [str(runs)]
    browser.resize(SETUP_WIDTH, 400)                    # the Runs dock's first-launch width
    browser.show()
    qtbot.waitUntil(lambda: browser.proxy.rowCount() == 3, timeout=10_000)
    header = browser.table.horizontalHeader()
    held_out = COLUMNS.index("held-out")
    assert COLUMNS[:3] == ("run", "status", "steps")
    assert header.sectionPosition(held_out) < browser.table.viewport().width()   # starts in view


def test_the_browser_lists_sorts_filters_and_opens(qtbot, runs):
    settings = QtCore.QSettings()
    browser = RunBrowser(settings)
    qtbot.addWidget(browser)
    browser.folders = [str(runs)]
    browser.show()
    qtbot.waitUntil(lambda: browser.proxy.rowCount() == 3, timeout=10_000)
    column = COLUMNS.index("steps")
    browser.table.sortByColumn(column, QtCore.Qt.SortOrder.DescendingOrder)
    assert browser.proxy.index(0, 0).data() == "toy-b"            # sorted by steps as numbers
    browser.filter_edit.setText("crashed")
    assert browser.proxy.rowCount() == 1 and browser.proxy.index(0, 0).data() == "toy-c"
    browser.table.selectRow(0)
    assert browser.resume_button.isEnabled() and not browser.compare_button.isEnabled()
    with qtbot.waitSignal(browser.openRequested) as opened:
        browser.table.doubleClicked.emit(browser.proxy.index(0, 2))
    assert opened.args[0].endswith("toy-c")
    browser.filter_edit.clear()
    browser.table.selectAll()
    with qtbot.waitSignal(browser.compareRequested) as compared:
        browser.compare_button.click()
    assert len(compared.args[0]) == 3


def test_the_timeline_plays_every_recorded_frame_and_stops_at_the_end(qtbot, runs):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.open_run(runs / "toy-b")
    slider = window.timeline.slider
    assert window.viewer.steps == [20, 40, 60, 80]
    slider.setValue(0)
    window.timeline.speed_spin.setValue(50)
    window.action_pause.trigger()                                 # Space plays a recorded run
    qtbot.waitUntil(lambda: not window.timeline.play_button.isChecked(), timeout=5_000)
    assert slider.value() == 3 and window.last_frames["bars"].step == 80
    slider.setFocus()
    from PySide6.QtTest import QTest
    QTest.keyClick(slider, QtCore.Qt.Key.Key_Left)                # keyboard stepping
    assert window.last_frames["bars"].step == 60


def test_compare_shows_shared_views_at_one_step_overlaid_curves_and_what_differs_and_exports_scalars(qtbot, runs, tmp_path):
    window = CompareWindow([runs / "toy-a", runs / "toy-b"])
    qtbot.addWidget(window)
    window.show()
    assert window.steps == [20, 40, 60, 80]
    window.timeline.slider.setValue(2)                            # step 60: both runs have it
    assert window.panels[0]["bars"].caption.text().endswith("step 60")
    assert window.panels[1]["mean"].caption.text().endswith("step 60")
    window.timeline.slider.setValue(3)                            # step 80: run a ended at 60
    assert window.panels[0]["bars"].caption.text().endswith("step 60")
    assert window.panels[1]["bars"].caption.text().endswith("step 80")
    items = [item for item in window.curves.plots["loss"].listDataItems() if item.name()]
    assert [item.name() for item in items] == ["toy-a", "toy-b"]
    assert len(items[1].getData()[0]) == 80
    raw = items[1].getData()[1].copy()
    window.curves.smoothing_slider.setValue(90)                   # the curves panel's smoothing, per run
    smoothed = items[1].getData()[1]
    assert len(smoothed) == 80 and smoothed[0] == raw[0] and not np.allclose(smoothed, raw)
    rows = {window.diff_table.verticalHeaderItem(r).text(): (window.diff_table.item(r, 0).text(),
                                                             window.diff_table.item(r, 1).text())
            for r in range(window.diff_table.rowCount())}
    assert rows == {"lr": ("0.1", "0.3"), "bars": ("8", "5")}
    lines = [line for _, line in window.curves.cursor.lines]         # the step cursor, on every overlaid plot
    assert len(lines) == len(window.curves.plots) and all(line.isVisible() and line.value() == 80 for line in lines)
    window.curves.cursor.moved.emit(35)                           # a click or drag at step 35
    assert window.timeline.slider.value() == 1 and all(line.value() == 40 for line in lines)
    assert window.panels[1]["bars"].caption.text().endswith("step 40")
    out = tmp_path / "compared.csv"
    assert window.export_scalars(out)                             # File → Export scalars, long: every run
    lines = out.read_text().splitlines()
    assert lines[0] == "run,step,name,value" and {line.split(",")[0] for line in lines[1:]} == {"toy-a", "toy-b"}
    window.close()


def test_differing_settings_counts_a_missing_field_as_different():
    metas = [{"model": "vae", "config": {"lr": 1, "k": 2}}, {"model": "vae", "config": {"lr": 1}}]
    assert differing_settings(metas) == [("k", [2, "—"])]


def test_resume_from_the_studio_continues_the_same_run_live(qtbot, runs, tmp_path):
    import shutil

    run = tmp_path / "toy-stopped"
    shutil.copytree(runs / "toy-a", run)
    store = RunStore.open(run, writable=True)
    store.set_meta(status="stopped")
    store.close()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.open_run(run)
    assert window.action_resume.isEnabled()
    window.action_resume.trigger()
    qtbot.waitUntil(lambda: window.state == "running" and window.last_status.get("step", 0) > 100,
                    timeout=60_000)
    assert window.run_dir == run
    steps = window.curves.series("loss")[0]
    assert steps[0] == 1 and np.all(np.diff(steps) > 0)          # the recorded curve, then live rows
    window.close()
    meta = RunStore.open(run).meta()
    assert meta["status"] == "stopped" and meta["steps"] > 100
