"""The window's Record controls: the Record action (the whole window), File → Record panel (one panel),
the status-bar caption that shows the time and the file size while it records, and where files go.

A recording goes to ``recordings/`` in the run's folder (``~/genstudio-recordings/recordings`` before
there is a run), named after what it shows and when (:func:`~studio.recorder.recording_name`); the Record panel
menu's last entry switches the format from MP4 to GIF. Stopping (Record again, or closing the window)
saves it, and the status bar says where.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from studio.panels.images import Caption
from studio.recorder import Recorder, recording_name

STATUS_MESSAGE_MS = 15_000


def size_text(size: int) -> str:
    """"840 kB", "12.3 MB": a recording's size as it grows."""
    return f"{size / 1e3:.0f} kB" if size < 1e6 else f"{size / 1e6:.1f} MB"


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


class RecordControl(QtCore.QObject):
    """Records the window (``window.action_record``) or one of its panels (:attr:`menu`)."""

    def __init__(self, window: QtWidgets.QMainWindow):
        super().__init__(window)
        self.recorder = Recorder(self)
        self.recorder.progressed.connect(self._progressed)
        self.recorder.saved.connect(self._saved)
        self.recorder.failed.connect(self._failed)
        self.what = ""
        self.menu = QtWidgets.QMenu("Record panel", window)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.gif = self.menu.addAction("Record as GIF (instead of MP4)")
        self.gif.setCheckable(True)
        self.caption = Caption(width_of="● REC latent_scatter 00:00 · 0000.0 MB")
        self.caption.setStyleSheet("color: #ff5f56;")
        self.caption.hide()
        window.statusBar().addPermanentWidget(self.caption)

    @property
    def window(self) -> QtWidgets.QMainWindow:
        """The window (its parent: not kept in an attribute, so no reference cycle outlives it)."""
        return self.parent()

    def folder(self) -> Path:
        run_dir = getattr(self.window, "run_dir", None)
        return (Path(run_dir) if run_dir is not None else Path.home() / "genstudio-recordings") / "recordings"

    def toggle_window(self, on: bool) -> None:
        """The Record action: start recording the whole window, or stop and save what is recording."""
        if on and not self.recorder.recording:
            self.record(None)
        elif not on:
            self.recorder.stop()

    def record(self, name: str | None, path=None) -> bool:
        """Record panel ``name`` (None: the whole window) to ``path`` (default: :meth:`folder`)."""
        if self.recorder.recording:
            self.window.show_error("A recording is running: stop it first (Record).")
            return False
        widget = self.window if name is None else self.window.panels[name]
        self.what = "window" if name is None else name
        if path is None:
            folder = self.folder()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.window.show_error(f"Cannot record: cannot make {folder}: {exc.strerror or exc}")
                self._set_checked(False)
                return False
            path = folder / recording_name(self.what, "gif" if self.gif.isChecked() else "mp4")
        self.recorder.start(widget, path)
        self._set_checked(self.recorder.recording)
        if self.recorder.recording:
            self.caption.setText(f"● REC {self.what} 0:00")
            self.caption.show()
        return self.recorder.recording

    def finish(self) -> None:
        """The window closes: stop and wait for the file."""
        if self.recorder.recording:
            self.recorder.finish()

    # ------------------------------------------------------------------------------ signals
    def _fill_menu(self) -> None:
        for action in self.menu.actions():
            if action is not self.gif:
                self.menu.removeAction(action)
                action.deleteLater()
        for name, dock in self.window.docks.items():
            if dock.isVisible():
                action = self.menu.addAction(dock.windowTitle())
                action.setEnabled(not self.recorder.recording)
                action.triggered.connect(lambda _=False, n=name: self.record(n))
                self.menu.insertAction(self.gif, action)
        self.menu.insertSeparator(self.gif)

    def _progressed(self, seconds: float, size: int) -> None:
        self.caption.setText(f"● REC {self.what} {clock(seconds)} · {size_text(size)}")

    def _saved(self, path: str, seconds: float, size: int) -> None:
        self.caption.hide()
        self._set_checked(False)
        self.window.statusBar().showMessage(f"Saved the recording of {self.what} ({clock(seconds)}, {size_text(size)}) "
                                            f"to {path}", STATUS_MESSAGE_MS)

    def _failed(self, message: str) -> None:
        self.caption.hide()
        self._set_checked(False)
        self.window.show_error(message)

    def _set_checked(self, on: bool) -> None:
        action = self.window.action_record
        action.blockSignals(True)
        action.setChecked(on)
        action.setText("Stop recording" if on else "Record")
        action.blockSignals(False)
