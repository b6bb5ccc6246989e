"""File → Animate: an animation of the model's own dynamics from one of the run's checkpoints (Gibbs
chains mixing a sweep a picture, a walk through a VAE's latent plane, a GAN's latent loop, a chair
turning, DRAW's glimpses), as ``python -m engines animate`` makes it.

The views offered are those the model's spec says animate (:func:`engines.animation.animatable_views`);
the states, the run's kept checkpoints, newest first, and for a live run first of all its state now:
the training process is asked for a checkpoint between two steps (``save_live``) and the animation
starts from it once it is on disk. The animation is made by that command in a child process (torch
and the drawing stay out of the GUI), whose ``progress`` lines move the progress bar; Cancel sends
it SIGTERM, which leaves no file.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from engines.animation import animatable_views, animation_kind
from engines.core.checkpoints import FOLDER
from studio.output_options import OutputOptions, form_buttons
from studio.panels.images import Caption

DEFAULT_PICTURES = 300
DIALOG_MIN_WIDTH = 560
LIVE = ""                      # the checkpoint choice "the live run, now"
LIVE_WAIT_MS = 30_000          # how long the live run has to write it
LIVE_POLL_MS = 200


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoint files, newest first."""
    return sorted((run_dir / FOLDER).glob("step-*.pt"), reverse=True)


def written(paths: list[Path]) -> dict[Path, int]:
    """When each file was last written (ns); a file gone meanwhile is left out."""
    times = {}
    for path in paths:
        try:
            times[path] = path.stat().st_mtime_ns
        except OSError:
            pass
    return times


def checkpoint_label(path: Path) -> str:
    """"step 1,200 (3 min ago)" for ``checkpoints/step-000001200.pt``."""
    try:
        step = f"step {int(path.stem.removeprefix('step-')):,}"
    except ValueError:
        step = path.name
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return step
    ago = f"{age:.0f} s" if age < 90 else f"{age / 60:.0f} min" if age < 5400 else f"{age / 3600:.0f} h"
    return f"{step} ({ago} ago)"


class AnimateDialog(QtWidgets.QDialog):
    """The animate form for one run: ``start_animation()`` is what the Animate button does; ``animated``
    (and ``finished_message``) says how it ended."""

    animated = QtCore.Signal(str)       # the one-line outcome: written, cancelled, or why not

    def __init__(self, run_dir, model: str, views, parent=None, save_live=None):
        super().__init__(parent)
        self.save_live = save_live
        self.setWindowTitle("Animate the model")
        self.run_dir = Path(run_dir).expanduser().resolve()    # the command runs in another folder
        self.views = {view.name: view for view in views}
        self.process: QtCore.QProcess | None = None
        self.progress: QtWidgets.QProgressDialog | None = None
        self.finished_message = ""
        self._output = b""                       # the command's unfinished last line
        self._wrote = ""                         # its "wrote N pictures …" line
        self._cancelled = False
        self._before: dict[Path, int] = {}       # the checkpoints there were when the live one was asked for
        self._waited = 0
        self._live_timer = QtCore.QTimer(self)
        self._live_timer.setInterval(LIVE_POLL_MS)
        self._live_timer.timeout.connect(self._look_for_live_checkpoint)

        self.view_combo = QtWidgets.QComboBox()
        for name in animatable_views(views):
            view = self.views[name]
            self.view_combo.addItem(f"{view.title} ({self._how(view)})", name)
        self.checkpoint_combo = QtWidgets.QComboBox()
        if save_live is not None:
            self.checkpoint_combo.addItem("the live run, now", LIVE)
        for path in checkpoints(self.run_dir):
            self.checkpoint_combo.addItem(checkpoint_label(path), str(path))
        self.pictures_spin = QtWidgets.QSpinBox()
        self.pictures_spin.setRange(1, 100_000)
        self.pictures_spin.setValue(DEFAULT_PICTURES)
        self.pictures_spin.setGroupSeparatorShown(True)
        self.output = OutputOptions(self, 15.0, self.run_dir / "animation.mp4", "Animate to")
        self.fps_spin, self.scale_spin = self.output.fps_spin, self.output.scale_spin
        self.format_combo, self.out_edit = self.output.format_combo, self.output.out_edit
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)

        form = QtWidgets.QFormLayout()
        form.addRow("View", self.view_combo)
        form.addRow("From checkpoint", self.checkpoint_combo)
        form.addRow("Pictures", self.pictures_spin)
        self.output.add_rows(form)
        buttons, self.animate_button = form_buttons(self, "Animate", self.start_animation)

        self.setMinimumWidth(DIALOG_MIN_WIDTH)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(Caption(f"Run: {self.run_dir} ({model})", elide=QtCore.Qt.TextElideMode.ElideMiddle))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.animate_button.setDefault(True)             # Return, now that it is in the dialog
        self.view_combo.currentIndexChanged.connect(self._name_file)
        self.view_combo.currentIndexChanged.connect(self._view_changed)
        self._view_changed()
        self._name_file()
        if not self.view_combo.count():
            self._refuse(f"No view of {model} animates on its own: its pictures change only with training.")
        elif not self.checkpoint_combo.count():
            self._refuse("The run has no checkpoint yet: a live run writes its first within a minute.")

    @staticmethod
    def _how(view) -> str:
        return {"loop": "a loop", "sampling": "a sweep a picture", "playback": "its glimpses"}[animation_kind(view)]

    def _refuse(self, message: str) -> None:
        self.message.setText(message)
        self.animate_button.setEnabled(False)

    def _view_changed(self) -> None:
        """A playback plays its one frame's own sequence: the picture count is not the user's."""
        view = self.views.get(self.view_combo.currentData())
        self.pictures_spin.setEnabled(view is not None and animation_kind(view) != "playback")

    def _name_file(self) -> None:
        self.output.name_file(f"{self.view_combo.currentData() or 'model'}-animation")

    # ------------------------------------------------------------------------------ the command
    def arguments(self, checkpoint: str) -> list[str]:
        """``python -m engines animate`` with the form's choices, from ``checkpoint``."""
        args = ["-m", "engines", "animate", str(self.run_dir), "--view", self.view_combo.currentData(),
                "--checkpoint", checkpoint, "--frames", str(self.pictures_spin.value()),
                "--fps", f"{self.fps_spin.value():g}", "--out", str(self.output.path()), "--progress"]
        if self.output.scale:
            args += ["--scale", str(self.output.scale)]
        return args

    def start_animation(self) -> None:
        if self.process is not None or self._live_timer.isActive() or not self.animate_button.isEnabled():
            return
        self.finished_message, self._output, self._cancelled = "", b"", False
        self.animate_button.setEnabled(False)
        if self.checkpoint_combo.currentData() == LIVE:
            self.message.setText("Asking the live run for its state…")
            self._before, self._waited = written(checkpoints(self.run_dir)), 0
            self.save_live()
            self._live_timer.start()
        else:
            self._run(self.checkpoint_combo.currentData())

    def _look_for_live_checkpoint(self) -> None:
        new = [path for path, when in written(checkpoints(self.run_dir)).items() if self._before.get(path) != when]
        self._waited += LIVE_POLL_MS
        if new:
            self._live_timer.stop()
            self._run(str(new[0]))
        elif self._waited >= LIVE_WAIT_MS:
            self._live_timer.stop()
            self._end(f"The live run wrote no checkpoint within {LIVE_WAIT_MS // 1000} s; choose a kept one.")

    def _run(self, checkpoint: str) -> None:
        self.message.setText("Animating…")
        process = QtCore.QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(self.arguments(checkpoint))
        process.setWorkingDirectory(str(Path(__file__).resolve().parents[1]))
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed_to_start)
        self.process = process
        self.progress = QtWidgets.QProgressDialog("Drawing the pictures…", "Cancel", 0, 0, self)
        self.progress.setWindowTitle("Animate")
        self.progress.setMinimumDuration(300)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.cancel)
        process.start()

    def cancel(self) -> None:
        if self.process is not None:
            self._cancelled = True
            self.process.terminate()            # SIGTERM: the command stops and leaves no file

    def _read_output(self, last: bool = False) -> None:
        """The command's lines (``last``: the output has ended, its unfinished line too): the newest
        ``progress DONE TOTAL`` moves the bar; only the unfinished line and the ``wrote`` line are kept."""
        self._output += bytes(self.process.readAllStandardOutput()) + (b"\n" if last else b"")
        *lines, self._output = self._output.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace").strip()
            parts = text.split()
            if parts[:1] == ["wrote"]:
                self._wrote = text
            elif len(parts) == 3 and parts[0] == "progress" and parts[1].isdigit() and parts[2].isdigit():
                if self.progress is not None:
                    self.progress.setMaximum(int(parts[2]))
                    self.progress.setValue(int(parts[1]))

    def _failed_to_start(self, error) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            self._close_process()
            self._end("The animation could not start (python -m engines animate).")

    def _close_process(self) -> QtCore.QProcess:
        process, self.process = self.process, None
        process.deleteLater()
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        return process

    def _finished(self, code: int, status) -> None:
        self._read_output(last=True)
        process = self._close_process()
        errors = bytes(process.readAllStandardError()).decode(errors="replace").strip().splitlines()
        if code == 0 and status == QtCore.QProcess.ExitStatus.NormalExit:
            message = self._wrote[:1].upper() + self._wrote[1:] if self._wrote else f"Wrote {self.out_edit.text()}"
        elif self._cancelled:
            message = "Animation cancelled; no file was written."
        elif errors:
            message = errors[-1].removeprefix("error: ")
        else:
            message = f"The animation stopped (exit {code if status == QtCore.QProcess.ExitStatus.NormalExit else 'crash'})"
        self._end(message)

    def _end(self, message: str) -> None:
        self.finished_message = message
        self.message.setText(message)
        self.animate_button.setEnabled(True)
        self.animated.emit(message)

    def done(self, result: int) -> None:
        """Closing the dialog cancels a running animation and waits for it to leave."""
        self._live_timer.stop()
        if self.process is not None:
            self.cancel()
            if not self.process.waitForFinished(10_000):
                self.process.kill()
        super().done(result)

