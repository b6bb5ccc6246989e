"""What the export and the animate forms share: the output rows (frames per second, scale, format and
the file to write, with Browse…; the file's suffix follows the format) and the buttons under them."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from engines.records.export import FORMATS, MAX_SCALE

FORMAT_LABELS = {"mp4": "MP4 video (H.264)", "gif": "Animated GIF", "png": "PNG sheet of pictures"}


class OutputOptions:
    """The widgets of the rows (``fps_spin``, ``scale_spin``, ``format_combo``, ``out_edit``), made
    for ``dialog`` and added to a form by :meth:`add_rows`."""

    def __init__(self, dialog: QtWidgets.QDialog, fps: float, out: Path, browse_title: str):
        self.dialog, self.browse_title, self.default = dialog, browse_title, Path(out)
        self.fps_spin = QtWidgets.QDoubleSpinBox()
        self.fps_spin.setRange(0.5, 120.0)
        self.fps_spin.setDecimals(1)
        self.fps_spin.setValue(fps)
        self.scale_spin = QtWidgets.QSpinBox()
        self.scale_spin.setRange(0, MAX_SCALE)
        self.scale_spin.setSpecialValueText("auto")
        self.scale_spin.setToolTip("Screen pixels per image pixel; auto: the largest that fits a 1280×720 slide")
        self.format_combo = QtWidgets.QComboBox()
        for fmt in FORMATS:
            self.format_combo.addItem(FORMAT_LABELS[fmt], fmt)
        self.out_edit = QtWidgets.QLineEdit(str(out))
        self.out_edit.textChanged.connect(self.out_edit.setToolTip)       # the whole path, however narrow
        self.out_edit.setToolTip(self.out_edit.text())
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        self.out_row = QtWidgets.QHBoxLayout()
        self.out_row.addWidget(self.out_edit, 1)
        self.out_row.addWidget(browse)
        self.format_combo.currentIndexChanged.connect(self._format_changed)

    @property
    def fmt(self) -> str:
        return self.format_combo.currentData()

    @property
    def scale(self) -> int | None:
        """The scale asked for; None: automatic."""
        return self.scale_spin.value() or None

    def add_rows(self, form: QtWidgets.QFormLayout) -> None:
        form.addRow("Frames per second", self.fps_spin)
        form.addRow("Scale", self.scale_spin)
        form.addRow("Format", self.format_combo)
        form.addRow("Save to", self.out_row)

    def path(self) -> Path:
        """The file asked for, ``~`` expanded and absolute (an empty field: the default's folder)."""
        return Path(self.out_edit.text().strip() or self.default).expanduser().resolve()

    def name_file(self, stem: str) -> None:
        """Name the file ``stem`` in the folder it is in, with the format's suffix."""
        self.out_edit.setText(str(self.path().with_name(f"{stem}.{self.fmt}")))

    def _format_changed(self) -> None:
        path = self.path()
        if path.name:
            self.out_edit.setText(str(path.with_suffix(f".{self.fmt}")))

    def browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.dialog, self.browse_title, self.out_edit.text(),
                                                        f"{FORMAT_LABELS[self.fmt]} (*.{self.fmt})")
        if path:
            self.out_edit.setText(path)


def form_buttons(dialog: QtWidgets.QDialog, text: str, accepted) -> tuple[QtWidgets.QDialogButtonBox,
                                                                          QtWidgets.QPushButton]:
    """Close, and the form's own button ``text`` that runs ``accepted``: the dialog's default
    (Return) once the dialog has called ``setDefault(True)`` on it after laying the box out (a
    button is a dialog's default only if it was in the dialog when made so)."""
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
    button = buttons.addButton(text, QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
    buttons.accepted.connect(accepted)
    buttons.rejected.connect(dialog.reject)
    return buttons, button
