"""The Record button: what a panel or the window paints, recorded while a run trains, to a video that
decodes back (the encoder is a child process: the GUI only grabs and queues)."""
import re

import av
import numpy as np

from tests.studio.test_window import start_window

SAVE_TIMEOUT_MS = 60_000


def decoded(path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame for frame in container.decode(video=0)]
        seconds = float((frames[-1].pts + 1) * stream.time_base)
        return [f.to_ndarray(format="rgb24") for f in frames], seconds


def test_five_seconds_of_a_live_panel_record_to_an_mp4_that_decodes_at_five_pictures_a_second_or_more(qtbot, tmp_path):
    window = start_window(qtbot)
    qtbot.addWidget(window)
    control = window.record_control
    out = tmp_path / "bars.mp4"
    assert window.record("bars", out)
    assert window.action_record.isChecked() and window.action_record.text() == "Stop recording"
    qtbot.wait(5000)
    assert control.caption.isVisible() and re.fullmatch(r"● REC bars 0:0\d · \d+(\.\d)? [kM]B", control.caption.text())
    assert not out.exists()                                    # the file appears complete, or not at all
    with qtbot.waitSignal(control.recorder.saved, timeout=SAVE_TIMEOUT_MS):
        window.action_record.trigger()                         # Record again: stop and save
    pictures, seconds = decoded(out)
    grabbed = control.recorder.grabs
    assert 4.5 <= seconds <= 7 and grabbed / seconds >= 5, (grabbed, seconds, control.recorder.dropped)
    assert len(pictures) >= 5 * seconds and pictures[0].shape[0] % 2 == 0 and pictures[0].shape[1] % 2 == 0
    assert len({p.tobytes() for p in pictures[::5]}) > 3       # training moved the bars while it recorded
    assert "Saved the recording of bars" in window.statusBar().currentMessage() and not control.caption.isVisible()
    assert not window.action_record.isChecked()
    window.close()


def test_the_window_records_to_a_gif_that_keeps_its_size_when_the_window_is_resized(qtbot, tmp_path):
    from PIL import Image

    window = start_window(qtbot)
    qtbot.addWidget(window)
    window.resize(900, 640)
    qtbot.wait(200)
    control = window.record_control
    for _ in range(2):                                         # File → Record panel, opened twice
        control.menu.aboutToShow.emit()
    entries = [a.text() for a in control.menu.actions() if not a.isSeparator()]
    assert entries == ["Curves", "Mean image", "Bars", "Record as GIF (instead of MP4)"], entries
    control.gif.setChecked(True)
    with qtbot.waitSignal(control.recorder.saved, timeout=SAVE_TIMEOUT_MS) as saved:
        window.action_record.trigger()                         # the whole window, to recordings/ of the run
        qtbot.wait(800)
        window.resize(700, 500)
        qtbot.wait(800)
        window.action_record.trigger()
    path = saved.args[0]
    assert path.endswith(".gif") and str(window.run_dir / "recordings" / "window-") in path
    with Image.open(path) as gif:
        assert gif.n_frames >= 10 and gif.info["loop"] == 0
        size = gif.size
        gif.seek(gif.n_frames - 1)
        assert gif.size == size and size[0] % 2 == 0
    window.close()


def test_file_animate_makes_the_chains_mixing_from_a_chosen_checkpoint_and_cancel_leaves_no_file(qtbot, tmp_path):
    from PIL import Image
    from PySide6 import QtWidgets

    from engines.core.runner import Runner, RunnerSettings
    from engines.registry import build_engine, engine_class
    from engines.runs import new_run
    from studio.window import MainWindow

    cls = engine_class("rbm")
    engine = build_engine("rbm", cls.smoke_data, "cpu", 0, dict(cls.smoke_overrides))
    store = new_run(engine, cls.smoke_data, tmp_path / "rbm")
    Runner(engine, store, settings=RunnerSettings(max_steps=8, checkpoint_every=4)).run()
    store.close()
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_run(tmp_path / "rbm")
    dialog = window.open_animate_dialog()
    assert [dialog.view_combo.itemData(i) for i in range(dialog.view_combo.count())] == ["chains"]
    labels = [dialog.checkpoint_combo.itemText(i) for i in range(dialog.checkpoint_combo.count())]
    assert labels[0].startswith("step 8 (") and labels[-1].startswith("step 0 (")     # newest first
    dialog.checkpoint_combo.setCurrentIndex(1)                                       # step 4
    dialog.pictures_spin.setValue(12)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("gif"))
    assert dialog.out_edit.text().endswith("chains-animation.gif")
    with qtbot.waitSignal(dialog.animated, timeout=120_000) as ended:
        dialog.start_animation()
    assert ended.args[0] == f"Wrote 12 pictures of rbm's chains from step 4 to {dialog.out_edit.text()}"
    with Image.open(dialog.out_edit.text()) as gif:
        assert gif.n_frames == 12 and gif.info["loop"] == 0

    dialog.pictures_spin.setValue(100_000)
    dialog.out_edit.setText(str(tmp_path / "long.mp4"))
    with qtbot.waitSignal(dialog.animated, timeout=120_000) as ended:
        dialog.start_animation()
        qtbot.waitUntil(lambda: dialog.progress is not None and dialog.progress.value() > 0, timeout=60_000)
        dialog.progress.findChild(QtWidgets.QPushButton).click()                   # Cancel
    assert ended.args[0] == "Animation cancelled; no file was written." and not (tmp_path / "long.mp4").exists()
    window.close()


def test_file_animate_from_the_live_run_now_asks_it_for_a_checkpoint_of_the_step_it_is_at(qtbot):
    from engines.live.protocol import RunSpec

    spec = RunSpec(model="rbm", data="digits", overrides={"hidden": 16, "chains": 16})
    window = start_window(qtbot, spec, frames=("chains",))
    qtbot.addWidget(window)
    window.action_pause.trigger()
    qtbot.waitUntil(lambda: window.last_status.get("paused"), timeout=30_000)
    dialog = window.open_animate_dialog()
    assert dialog.checkpoint_combo.currentText() == "the live run, now"
    dialog.pictures_spin.setValue(6)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("gif"))
    with qtbot.waitSignal(dialog.animated, timeout=120_000) as ended:
        dialog.start_animation()
    step = window.last_status["step"]                                   # where the paused run stands
    assert step > 0 and ended.args[0].startswith(f"Wrote 6 pictures of rbm's chains from step {step} to"), ended.args[0]
    window.close()
