"""Record what a widget paints (a panel, or the whole window) to an MP4 or a GIF: the Record button.

A timer grabs the widget at the live picture rate (:data:`RECORD_FPS`), as the screen shows it, and
writes each grab to the encoder, a child process (:mod:`engines.records.recording`) on the other end
of a pipe: ``QProcess.write`` only queues the bytes, which the event loop hands to the pipe as it
drains, so the GUI neither encodes nor waits (and no Python thread runs beside it). Each grab carries
its picture number (its time since the start, in 1/RECORD_FPS s), so the file keeps the time the user
saw even when a grab comes late; a grab is skipped while the encoder is more than
:data:`MAX_QUEUED` pictures behind (counted as ``dropped``). A widget resized while it is recorded is
scaled to keep the recording's first size. Stopping closes the pipe: the encoder finishes the file
and says so; the file appears only then (complete, or not at all).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engines.records.export import MAX_SIDE
from engines.records.recording import HEADER

RECORD_FPS = 15.0
MAX_QUEUED = 4                    # pictures waiting in the pipe beyond which a grab is skipped
ENCODER_STOP_MS = 30_000          # at most this long to finish the file when the window closes
ENCODER_TERM_MS = 5_000           # then this long to give up cleanly (no partial file) before a kill


def recording_name(what: str, fmt: str = "mp4") -> str:
    """``what-YYYYmmdd-HHMMSS.fmt``: a file name that sorts by time and says what was recorded."""
    return f"{what}-{time.strftime('%Y%m%d-%H%M%S')}.{fmt}"


def recording_size(width: int, height: int) -> tuple[int, int]:
    """A grab's size as recorded: within :data:`MAX_SIDE` a side (the aspect kept), sides even
    (H.264's 4:2:0 needs them)."""
    shrink = min(1.0, MAX_SIDE / max(width, height, 1))
    return int(width * shrink) // 2 * 2, int(height * shrink) // 2 * 2


def painted(widget: QtWidgets.QWidget) -> QtGui.QImage:
    """What the screen shows of ``widget``: its window's pixels as last painted, read back without
    painting anything again (a whole window's repaint costs ~80 ms); where the platform gives no
    window pixels (Wayland), the widget painted anew (``QWidget.grab``)."""
    top = widget.window()
    origin = widget.mapTo(top, QtCore.QPoint(0, 0)) if widget is not top else QtCore.QPoint(0, 0)
    screen = top.screen() or QtGui.QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(top.winId(), origin.x(), origin.y(), widget.width(), widget.height())
    return (widget.grab() if pixmap.isNull() else pixmap).toImage()


def rgb_bytes(image: QtGui.QImage, width: int, height: int) -> bytes:
    """``image`` as width×height RGB bytes: scaled to fit, centred on black, when its size differs."""
    if (image.width(), image.height()) != (width, height):
        scaled = image.scaled(width, height, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                              QtCore.Qt.TransformationMode.SmoothTransformation)
        canvas = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB888)
        canvas.fill(QtGui.QColor(0, 0, 0))
        painter = QtGui.QPainter(canvas)
        painter.drawImage((width - scaled.width()) // 2, (height - scaled.height()) // 2, scaled)
        painter.end()
        image = canvas
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * height).reshape(height, -1)
    return rows[:, :width * 3].tobytes()


class Recorder(QtCore.QObject):
    """One recording at a time: :meth:`start` on a widget, :meth:`stop` to save.

    Signals: ``progressed(seconds, bytes)`` while it records (the encoder's file size so far),
    ``saved(path, seconds, bytes)`` when the file is complete, ``failed(message)`` in one line."""

    progressed = QtCore.Signal(float, int)
    saved = QtCore.Signal(str, float, int)
    failed = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None, fps: float = RECORD_FPS):
        super().__init__(parent)
        self.fps = fps
        self.widget: QtWidgets.QWidget | None = None
        self.path: Path | None = None
        self.grabs = self.dropped = 0
        self._process: QtCore.QProcess | None = None
        self._size = (0, 0)
        self._started = 0.0
        self._stopped_after = 0.0
        self._last_number = -1
        self._bytes = 0
        self._stderr = b""
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._grab)

    @property
    def recording(self) -> bool:
        """True from :meth:`start` until the encoder has finished (or failed)."""
        return self._process is not None

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._timer.isActive() else self._stopped_after

    def start(self, widget: QtWidgets.QWidget, path) -> None:
        """Record ``widget`` to ``path`` (.mp4 or .gif) until :meth:`stop`."""
        if self.recording:
            raise RuntimeError("a recording is already running")
        self.path = Path(path).expanduser().resolve()
        first = painted(widget)
        width, height = recording_size(first.width(), first.height())
        if width < 2 or height < 2:
            self.failed.emit("Nothing to record: it is not shown")
            return
        self.widget, self._size = widget, (width, height)
        self.grabs = self.dropped = 0
        self._last_number, self._bytes, self._stderr, self._stopped_after = -1, 0, b"", 0.0
        process = QtCore.QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "engines.records.recording", str(self.path), "--width", str(width),
                              "--height", str(height), "--fps", f"{self.fps:g}"])
        process.setWorkingDirectory(str(Path(__file__).resolve().parents[1]))
        process.readyReadStandardOutput.connect(self._read_progress)
        process.finished.connect(self._encoder_finished)
        process.errorOccurred.connect(self._encoder_error)
        self._process = process
        process.start()
        if self._process is None:                # it failed to start: failed() has said so
            return
        self._started = time.monotonic()
        self._timer.start(round(1000 / self.fps))
        self._write(0, first)

    def stop(self) -> None:
        """Stop grabbing; the encoder finishes the file and :attr:`saved` (or :attr:`failed`) follows."""
        if self._timer.isActive():
            self._stopped_after = self.elapsed()
            self._timer.stop()
            if self._process is not None:
                self._process.closeWriteChannel()

    def finish(self, timeout_ms: int = ENCODER_STOP_MS) -> None:
        """Stop and wait for the file (the window is closing: nothing after it would save it)."""
        self.stop()
        process = self._process
        if process is not None and not process.waitForFinished(timeout_ms):
            process.terminate()                  # the encoder removes its unfinished file on SIGTERM
            if not process.waitForFinished(ENCODER_TERM_MS):
                process.kill()

    # ------------------------------------------------------------------------------ grabbing
    def _grab(self) -> None:
        widget, process = self.widget, self._process
        if widget is None or process is None:
            return
        number = int(self.elapsed() * self.fps)
        if number <= self._last_number:
            return
        if process.bytesToWrite() > MAX_QUEUED * self._size[0] * self._size[1] * 3:
            self.dropped += 1
            return
        try:
            image = painted(widget)
        except RuntimeError:                     # the widget was deleted (its run's panels replaced)
            self.stop()
            return
        self._write(number, image)
        self.progressed.emit(self.elapsed(), self._bytes)

    def _write(self, number: int, image: QtGui.QImage) -> None:
        self._process.write(HEADER.pack(number) + rgb_bytes(image, *self._size))
        self._last_number = number
        self.grabs += 1

    # ------------------------------------------------------------------------------ the encoder
    def _read_progress(self) -> None:
        self._take_output(self._process)

    def _take_output(self, process: QtCore.QProcess) -> None:
        """The encoder's lines so far: its file size (``PICTURES BYTES``), and its errors."""
        for line in bytes(process.readAllStandardOutput()).decode(errors="replace").split("\n"):
            parts = line.split()
            if len(parts) >= 2 and parts[-1].isdigit():
                self._bytes = int(parts[-1])
        self._stderr += bytes(process.readAllStandardError())

    def _encoder_finished(self, code: int, status) -> None:
        process, self._process = self._process, None
        self._timer.stop()
        self.widget = None                       # nothing recorded keeps a panel or the window alive
        self._take_output(process)
        process.deleteLater()
        if code == 0 and status == QtCore.QProcess.ExitStatus.NormalExit and self.path.exists():
            self.saved.emit(str(self.path), self._stopped_after, self.path.stat().st_size)
        else:
            lines = self._stderr.decode(errors="replace").strip().splitlines()
            why = lines[-1].removeprefix("error: ") if lines else "the encoder stopped"
            self.failed.emit(f"Recording not saved: {why}")

    def _encoder_error(self, error) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            process, self._process = self._process, None
            self._timer.stop()
            self.widget = None
            process.deleteLater()
            self.failed.emit("Recording not saved: the encoder could not start")
