"""The run setup widgets: model picker (engine, dataset, device, seed) and the hyper-parameter editor.

Both are built from the engines' registry and config fields, which the training process sends
(``model_catalog()``), so the GUI process never has to import torch to show them.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engines.core.config import ConfigError, FieldInfo, coerce
from engines.registry import MODELS

DATASET_CHOICES = ("mnist", "digits", "folder:")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
LIVE_MARK = "<span style='color:#4fc3f7'>&#9679;</span>"   # a small blue dot: editable while training
INT_LIMIT = 2**31 - 1


class HyperParameterEditor(QtWidgets.QWidget):
    """One editor per config field, typed: spin box (int), text field (float, str), combo box
    (choices), check box (bool). Live fields stay enabled while a run trains and emit
    ``liveChanged(name, value)`` with the checked value; the others apply at the next start."""

    liveChanged = QtCore.Signal(str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fields: dict[str, FieldInfo] = {}
        self.editors: dict[str, QtWidgets.QWidget] = {}
        self._values: dict[str, object] = {}
        self._running = False
        self._form = QtWidgets.QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow(QtWidgets.QLabel("loading the engine's settings…"))

    # ------------------------------------------------------------------------------ building
    def set_fields(self, fields: list[FieldInfo], values: dict | None = None) -> None:
        """Rebuild the form for ``fields``, showing ``values`` (defaults where missing)."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self.fields = {f.name: f for f in fields}
        self.editors = {}
        self._values = {f.name: f.default for f in fields}
        for info in fields:
            editor = self._make_editor(info)
            label = QtWidgets.QLabel(f"{info.name} {LIVE_MARK}" if info.live else info.name)
            tip = info.help + ("\n(can change while training)" if info.live else "\n(applies at the next start)")
            label.setToolTip(tip.strip())
            editor.setToolTip(tip.strip())
            self.editors[info.name] = editor
            self._form.addRow(label, editor)
        legend = QtWidgets.QLabel(f"{LIVE_MARK} can change while training")
        legend.setObjectName("legend")
        self._form.addRow(legend)
        self.set_values(values or {})
        self.set_running(self._running)

    def _make_editor(self, info: FieldInfo) -> QtWidgets.QWidget:
        if info.choices:
            editor = QtWidgets.QComboBox()
            editor.addItems([str(c) for c in info.choices])
            editor.currentTextChanged.connect(lambda text, name=info.name: self._edited(name, text))
        elif info.type is bool:
            editor = QtWidgets.QCheckBox()
            editor.toggled.connect(lambda on, name=info.name: self._edited(name, on))
        elif info.type is int:
            editor = QtWidgets.QSpinBox()
            editor.setRange(0 if int(info.default) >= 0 else -INT_LIMIT, INT_LIMIT)
            editor.setKeyboardTracking(False)   # typing "500" applies once, not 5, 50, 500
            editor.setGroupSeparatorShown(True)
            editor.valueChanged.connect(lambda n, name=info.name: self._edited(name, n))
        else:   # float and str: free text, checked on enter/focus-out (floats like 1e-4 read naturally)
            editor = QtWidgets.QLineEdit()
            editor.editingFinished.connect(lambda name=info.name: self._edited(name, self.editors[name].text()))
        return editor

    # ------------------------------------------------------------------------------ values
    def set_values(self, values: dict) -> None:
        """Show ``values`` (a config dict) without emitting ``liveChanged``."""
        for name, value in values.items():
            if name in self.fields:
                self._values[name] = value
        for name in self.fields:
            self._show(name, self._values[name])

    def set_value(self, name: str, value) -> None:
        self.set_values({name: value})

    def _show(self, name: str, value) -> None:
        editor = self.editors[name]
        with QtCore.QSignalBlocker(editor):
            if isinstance(editor, QtWidgets.QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QtWidgets.QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QtWidgets.QSpinBox):
                editor.setValue(int(value))
            else:
                editor.setText(repr(value) if isinstance(value, float) else str(value))
        self._mark_invalid(editor, "")

    def values(self) -> dict:
        return dict(self._values)

    def overrides(self) -> dict:
        """The fields whose value differs from the engine's default."""
        return {name: v for name, v in self._values.items() if v != self.fields[name].default}

    def _edited(self, name: str, raw) -> None:
        editor = self.editors[name]
        try:
            value = coerce(self.fields[name], raw)
        except ConfigError as exc:
            self._mark_invalid(editor, str(exc))
            return
        self._mark_invalid(editor, "")
        if value == self._values[name]:
            return
        self._values[name] = value
        if self._running and self.fields[name].live:
            self.liveChanged.emit(name, value)

    @staticmethod
    def _mark_invalid(editor: QtWidgets.QWidget, message: str) -> None:
        editor.setProperty("invalid", bool(message))
        editor.setStatusTip(message)
        if message:
            editor.setToolTip(message)
        editor.style().unpolish(editor)
        editor.style().polish(editor)

    def set_running(self, running: bool) -> None:
        """While a run trains only live fields can change; the others wait for the next start."""
        self._running = running
        for name, editor in self.editors.items():
            editor.setEnabled(not running or self.fields[name].live)


class RunSetup(QtWidgets.QWidget):
    """Engine, dataset, device and seed pickers above the hyper-parameter editor."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.catalog: dict = {}
        self.model_combo = QtWidgets.QComboBox()
        self.model_combo.addItems(sorted(MODELS))
        self.data_combo = QtWidgets.QComboBox()
        self.data_combo.setEditable(True)
        self.data_combo.addItems(DATASET_CHOICES)
        self.data_combo.setToolTip("mnist (5,000 real digits), digits (8x8), folder:PATH (your images), "
                                   "torchvision:NAME (needs a network)")
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.addItems(DEVICE_CHOICES)
        self.seed_spin = QtWidgets.QSpinBox()
        self.seed_spin.setRange(0, INT_LIMIT)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("summary")
        self.editor = HyperParameterEditor()

        picker = QtWidgets.QFormLayout()
        picker.addRow("Model", self.model_combo)
        picker.addRow("Data", self.data_combo)
        picker.addRow("Device", self.device_combo)
        picker.addRow("Seed", self.seed_spin)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.editor)
        group = QtWidgets.QGroupBox("Hyper-parameters")
        group_layout = QtWidgets.QVBoxLayout(group)
        group_layout.setContentsMargins(4, 4, 4, 4)
        group_layout.addWidget(scroll)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(picker)
        layout.addWidget(self.summary)
        layout.addWidget(group, 1)
        self.model_combo.currentTextChanged.connect(self._model_picked)

    @property
    def model(self) -> str:
        return self.model_combo.currentText()

    def set_catalog(self, catalog: dict) -> None:
        """Models and their config fields, as the training process reports them."""
        if not catalog:
            return
        fresh = not self.catalog
        self.catalog = catalog
        if fresh:
            self._model_picked(self.model, keep_values=True)

    def set_run(self, model: str, data: str, device: str, seed: int, config: dict | None = None) -> None:
        """Show the settings of a run (started from the command line, or opened from disk)."""
        with QtCore.QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentText(model)
        self.data_combo.setCurrentText(data)
        self.device_combo.setCurrentText(device if device in DEVICE_CHOICES else device.split(":")[0])
        self.seed_spin.setValue(int(seed))
        self._model_picked(model, keep_values=False)
        if config:
            self.editor.set_values(config)

    def _model_picked(self, model: str, keep_values: bool = False) -> None:
        entry = self.catalog.get(model)
        if entry is None:
            return
        self.summary.setText(entry["summary"])
        values = self.editor.values() if keep_values else None
        self.editor.set_fields(entry["fields"], values)

    def set_running(self, running: bool) -> None:
        for widget in (self.model_combo, self.data_combo, self.device_combo, self.seed_spin):
            widget.setEnabled(not running)
        self.editor.set_running(running)
