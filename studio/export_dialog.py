"""File → Export: pick panels, step range, frame rate and format; the export runs in a QThread
with a cancellable progress dialog. It reads the run store only, so it works on the live run while
it trains, on a finished run and on a run opened with ``--open``."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from engines.records.export import (ExportCancelled, ExportError, default_panels, estimate_export, export_run,
                                    exportable_panels, step_range)
from studio.output_options import OutputOptions, form_buttons
from studio.panels.images import Caption

ESTIMATE_DELAY_MS = 300       # the size is estimated once the form has been still this long
DIALOG_MIN_WIDTH = 560        # px: room for a run's path and the size estimate's line


class EstimateJob(QtCore.QThread):
    """Runs :func:`estimate_export` off the GUI thread (it decodes and encodes a few pictures)."""

    estimated = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, run_dir, panels, fmt, first_step, last_step, scale, parent=None):
        super().__init__(parent)
        self.args = (run_dir, panels, fmt, first_step, last_step, scale)

    def run(self) -> None:
        try:
            self.estimated.emit(estimate_export(*self.args))
        except ExportError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed estimate only leaves the size unknown
            self.failed.emit(f"size unknown: {type(exc).__name__}: {exc}")


class ExportJob(QtCore.QThread):
    """Runs :func:`export_run` off the GUI thread. Its signals reach the dialog (a GUI-thread
    QObject) queued; ``cancel()`` makes the next progress call stop the export."""

    progressed = QtCore.Signal(int, int)
    succeeded = QtCore.Signal(int)
    failed = QtCore.Signal(str)

    def __init__(self, run_dir, panels, out, fmt, fps, first_step, last_step, scale=None, parent=None):
        super().__init__(parent)
        self.args = (run_dir, panels, out)
        self.options = {"fmt": fmt, "fps": fps, "first_step": first_step, "last_step": last_step, "scale": scale}
        self._cancel = threading.Event()
        self.cancelled = False

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self._cancel.is_set()

    def run(self) -> None:
        try:
            count = export_run(*self.args, **self.options, progress=self._progress)
        except ExportCancelled:
            self.cancelled = True
            self.failed.emit("Export cancelled; no file was written.")
        except ExportError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever goes wrong reaches the user as a message
            self.failed.emit(f"export failed: {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(count)


class ExportDialog(QtWidgets.QDialog):
    """The export form for one run directory. ``start_export()`` is what the Export button does;
    tests call it directly and wait for ``finished_message``."""

    def __init__(self, run_dir, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.run_dir = Path(run_dir)
        self.job: ExportJob | None = None
        self.finished_message = ""
        self.progress: QtWidgets.QProgressDialog | None = None

        panels = exportable_panels(self.run_dir)   # ExportError for a run without frames: the caller shows it
        chosen = default_panels(self.run_dir)
        self.panel_boxes: dict[str, QtWidgets.QCheckBox] = {}
        panel_group = QtWidgets.QGroupBox("Panels (side by side)")
        panel_layout = QtWidgets.QVBoxLayout(panel_group)
        for name in panels:
            box = QtWidgets.QCheckBox(name)
            box.setChecked(name in chosen)
            box.toggled.connect(self._update_range)
            self.panel_boxes[name] = box
            panel_layout.addWidget(box)

        self.first_spin = QtWidgets.QSpinBox()
        self.last_spin = QtWidgets.QSpinBox()
        for spin in (self.first_spin, self.last_spin):
            spin.setRange(0, 2**31 - 1)
            spin.setGroupSeparatorShown(True)
        self.output = OutputOptions(self, 10.0, self.run_dir / f"{'_'.join(chosen) or 'export'}.mp4", "Export to")
        self.fps_spin, self.scale_spin = self.output.fps_spin, self.output.scale_spin
        self.format_combo, self.out_edit = self.output.format_combo, self.output.out_edit
        self.estimate_label = QtWidgets.QLabel("estimating the size…")
        self.estimate_label.setWordWrap(True)
        self.estimate = None
        self._estimate_job: EstimateJob | None = None
        self._estimate_timer = QtCore.QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self._start_estimate)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)

        form = QtWidgets.QFormLayout()
        form.addRow("First step", self.first_spin)
        form.addRow("Last step", self.last_spin)
        self.output.add_rows(form)
        form.addRow(self.estimate_label)             # a row of its own: a wrapped estimate is not clipped
        buttons, self.export_button = form_buttons(self, "Export", self.start_export)

        self.setMinimumWidth(DIALOG_MIN_WIDTH)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(Caption(f"Run: {self.run_dir}", elide=QtCore.Qt.TextElideMode.ElideMiddle))
        layout.addWidget(panel_group)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.export_button.setDefault(True)             # Return, now that it is in the dialog
        for signal in (self.first_spin.valueChanged, self.last_spin.valueChanged, self.scale_spin.valueChanged,
                       self.format_combo.currentIndexChanged):
            signal.connect(self._estimate_timer.start)
        for box in self.panel_boxes.values():
            box.toggled.connect(self._estimate_timer.start)
        self._update_range()
        self._estimate_timer.start()

    # ------------------------------------------------------------------------------ size
    @property
    def scale(self) -> int | None:
        return self.output.scale

    def _start_estimate(self) -> None:
        """Estimate the export's size in the background (again later if one is running)."""
        if not self.chosen_panels():
            self.estimate_label.setText("choose a panel")
            return
        if self._estimate_job is not None and self._estimate_job.isRunning():
            self._estimate_timer.start()
            return
        self._estimate_job = EstimateJob(self.run_dir, self.chosen_panels(), self.format_combo.currentData(),
                                         self.first_spin.value(), self.last_spin.value(), self.scale, self)
        self._estimate_job.estimated.connect(self._estimated)
        self._estimate_job.failed.connect(self.estimate_label.setText)
        self._estimate_job.start()

    def _estimated(self, estimate) -> None:
        self.estimate = estimate
        text = (f"Size: {estimate.pictures:,} pictures of {estimate.width}x{estimate.height} (scale {estimate.scale}), "
                f"about {estimate.bytes / 2**20:,.1f} MB")
        if self.format_combo.currentData() == "gif" and estimate.advice:
            text += f" — {estimate.advice}"
        self.estimate_label.setText(text)

    # ------------------------------------------------------------------------------ form
    def chosen_panels(self) -> list[str]:
        return [name for name, box in self.panel_boxes.items() if box.isChecked()]

    def _update_range(self) -> None:
        panels = self.chosen_panels()
        self.export_button.setEnabled(bool(panels))
        if not panels:
            return
        try:
            first, last = step_range(self.run_dir, panels)   # a live run grows: read it again
        except ExportError as exc:
            self.message.setText(str(exc))
            return
        for spin in (self.first_spin, self.last_spin):
            spin.setRange(first, last)
        self.first_spin.setValue(first)
        self.last_spin.setValue(last)

    # ------------------------------------------------------------------------------ export
    def start_export(self) -> None:
        """Start the export in a background thread, with a progress dialog that can cancel it."""
        if self.job is not None and self.job.isRunning():
            return
        self.finished_message = ""
        self.message.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.job = ExportJob(self.run_dir, self.chosen_panels(), self.out_edit.text(),
                             self.format_combo.currentData(), self.fps_spin.value(),
                             self.first_spin.value(), self.last_spin.value(), self.scale, parent=self)
        self.progress = QtWidgets.QProgressDialog("Exporting frames…", "Cancel", 0, 0, self)
        self.progress.setWindowTitle("Export")
        self.progress.setMinimumDuration(300)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.job.cancel)
        self.job.progressed.connect(self._progressed)
        self.job.succeeded.connect(self._succeeded)
        self.job.failed.connect(self._failed)
        self.job.start()

    def _progressed(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.setMaximum(total)
            self.progress.setValue(done)

    def _succeeded(self, count: int) -> None:
        self._done(f"Wrote {count} frames to {self.out_edit.text()}")

    def _failed(self, message: str) -> None:
        self._done(message)

    def _done(self, message: str) -> None:
        self.job.wait()
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        self.finished_message = message
        self.message.setText(message)
        self.export_button.setEnabled(bool(self.chosen_panels()))

    def done(self, result: int) -> None:
        """Closing the dialog cancels a running export and waits for its threads."""
        self._estimate_timer.stop()
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait()
        if self._estimate_job is not None:
            self._estimate_job.wait()
        super().done(result)
