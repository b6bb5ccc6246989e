"""The main window, driven as a user would: a live run, a failing run, recorded runs, export."""
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.app import main as app_main
from studio.window import MainWindow
from studio.worker import RunSpec

SPEC = RunSpec(data="digits", overrides={"hidden": 32, "chains": 16})
START_TIMEOUT_MS = 60_000     # the training process imports torch first: slow on a busy machine


def store_events(run_dir):
    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return [(kind, message) for _, kind, message in store.events()]
    finally:
        store.close()


def store_meta(run_dir):
    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return store.meta(), store.latest_checkpoint()
    finally:
        store.close()


def start_window(qtbot, spec=SPEC) -> MainWindow:
    window = MainWindow()
    window.show()
    window.start_run(spec)

    def frames_shown():
        assert window.state == "running", window.error_text
        assert {"chains", "filters", "reconstructions"} <= set(window.last_frames)
    qtbot.waitUntil(frames_shown, timeout=START_TIMEOUT_MS)
    return window


@pytest.fixture(scope="module")
def live_window(qapp):
    """One training window shared by the live tests (each start costs a torch import)."""
    from pytestqt.qtbot import QtBot

    window = start_window(QtBot(None), SPEC)
    yield window
    window.close()


def test_cli_mistakes_exit_2_with_one_line(capsys):
    assert app_main(["--model", "no_such_model"]) == 2
    assert app_main(["--set", "lr"]) == 2
    assert app_main(["--data", "folder:/no/such/folder"]) == 2
    assert app_main(["--open", "/no/such/run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("error: ") for line in lines)
    assert "no_such_model" in lines[0] and "key=value" in lines[1] and "/no/such/run" in lines[3]


def test_frames_and_curves_reach_the_panels(live_window, qtbot):
    window = live_window
    chains = window.panels["chains"]
    assert chains.image_item.image is not None and chains.image_item.image.shape == (2 * 9 - 1, 8 * 9 - 1)
    assert window.panels["filters"].image_item.image is not None
    qtbot.waitUntil(lambda: "recon_error" in window.curves.names(), timeout=20_000)
    steps, _, values = window.curves.series("recon_error")
    assert len(steps) and np.isfinite(values).all()
    assert window.last_status["step"] > 0 and window.run_dir.is_dir()
    assert window.step_label.text().startswith("step ") and window.device_label.text() == "cpu"
    # hyper-parameters came from the engine's config: live ones editable while running, others not
    editors = window.setup.editor.editors
    assert editors["lr"].isEnabled() and not editors["hidden"].isEnabled()
    assert editors["hidden"].value() == 32
    assert chains.gibbs_spin.value() == window.setup.editor.values()["gibbs_per_frame"]


def test_live_hyper_parameter_edit_reaches_the_engine(live_window, qtbot):
    window = live_window
    lr = window.setup.editor.editors["lr"]
    lr.setText("0.0123")
    lr.editingFinished.emit()
    qtbot.waitUntil(lambda: ("set", "lr=0.0123") in store_events(window.run_dir), timeout=10_000)


def test_chains_panel_wiring(live_window, qtbot):
    window = live_window
    chains = window.panels["chains"]
    chains.gibbs_spin.setValue(3)             # the panel's spin box is a live edit too
    qtbot.waitUntil(lambda: ("set", "gibbs_per_frame=3") in store_events(window.run_dir), timeout=10_000)
    assert window.setup.editor.editors["gibbs_per_frame"].value() == 3

    chains.chainClicked.emit(5)               # what a click on chain 5 emits

    def restarted():
        gibbs = window.last_frames["chains"].gibbs_steps
        assert gibbs[5] < gibbs[4], gibbs
    qtbot.waitUntil(restarted, timeout=10_000)


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
    window = start_window(qtbot)
    qtbot.addWidget(window)
    run_dir, worker = window.run_dir, window.worker
    worker.send("call", "restart_chain", (10_000,))   # an exception inside the training loop
    qtbot.waitUntil(lambda: "IndexError" in window.error_text, timeout=20_000)
    assert "failed" in window.error_text and str(run_dir) in window.error_text
    assert window.state == "idle" and window.action_start.isEnabled()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=20_000)
    assert store_meta(run_dir)[0]["status"] == "failed"
    window.action_reset_layout.trigger()       # the window still works
    qtbot.wait(50)
    assert window.isVisible()
    window.close()


# ------------------------------------------------------------------------------ recorded runs
@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A small run trained headless, in this process: 120 steps, frames every 30."""
    from engines.core.runner import Runner, RunnerSettings
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    run_dir = tmp_path_factory.mktemp("recorded") / "rbm-run"
    engine = build_engine("rbm", "digits", "cpu", 0, {"hidden": 16, "chains": 16})
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
    assert window.last_frames["filters"].step == 120
    assert set(window.curves.names()) >= {"recon_error", "pseudo_likelihood"}
    assert len(window.curves.series("recon_error")[0]) == 12
    steps = window._recorded_steps
    assert steps == [30, 60, 90, 120]
    window.step_slider.setValue(0)
    assert window.last_frames["filters"].step == 30 and window.last_frames["chains"].step == 30
    assert window.setup.editor.values()["hidden"] == 16
    chains = window.panels["chains"]   # the recording's own setting, shown but not editable
    assert chains.gibbs_spin.value() == window.setup.editor.values()["gibbs_per_frame"]
    assert not chains.gibbs_spin.isEnabled()


def test_open_follows_a_run_still_being_written(qtbot, tmp_path):
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    engine = build_engine("rbm", "digits", "cpu", 0, {"hidden": 16, "chains": 16})
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    store.add_frames(engine.frames())
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_run(tmp_path / "run")
    assert window.step_slider.maximum() == 0 and "following" in window.state_label.text()
    engine.step = 50
    store.add_scalars(50, {"recon_error": 3.0})
    store.add_frames(engine.frames())
    store.flush()
    qtbot.waitUntil(lambda: window.step_slider.maximum() == 1, timeout=5_000)
    assert window.last_frames["filters"].step == 50
    assert list(window.curves.series("recon_error")[0]) == [50]
    store.set_meta(status="finished")
    qtbot.waitUntil(lambda: not window._follow_timer.isActive(), timeout=5_000)
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
    assert set(dialog.panel_boxes) >= {"chains", "filters"}
    assert (dialog.first_spin.value(), dialog.last_spin.value()) == (30, 120)
    dialog.panel_boxes["filters"].setChecked(True)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("gif"))
    out = tmp_path / "chains.gif"
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


def test_panel_layout_is_remembered_per_model_and_can_be_reset(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first._use_model_panels("rbm")
    first.docks["filters"].close()
    first.close()                                   # saves the layout

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    second._use_model_panels("rbm")
    assert second.docks["filters"].isHidden() and not second.docks["chains"].isHidden()
    second.action_reset_layout.trigger()
    assert not second.docks["filters"].isHidden()
    second.close()


def test_the_window_shows_before_torch_is_imported():
    import subprocess
    import sys

    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from studio.window import MainWindow; w = MainWindow(); w.show(); app.processEvents(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_ctrl_c_to_the_whole_process_group_saves_the_run(tmp_path):
    """A terminal's Ctrl+C (or ``timeout``) signals the app *and* its training processes; the run
    must still end as stopped, with its steps, not be cut off mid-write."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from engines.core.store import RunStore

    env = {**os.environ, "GENSTUDIO_RUNS": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen([sys.executable, "main.py", "--data", "digits", "--set", "hidden=32"],
                           cwd=Path(__file__).parents[2], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = list(tmp_path.glob("rbm-*/run.sqlite"))
            if runs and len(RunStore.open(runs[0].parent).scalars("recon_error")[0]) > 2:
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
