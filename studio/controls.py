"""The run setup widgets: model picker (engine, dataset, device, seed) and the hyper-parameter editor.

Both are built from the models' specs (:mod:`engines.core.spec`: each model's summary, default
dataset, config fields), which import neither torch nor an engine, or from the fields a run store
holds for a recorded run.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engines.core.config import ConfigError, FieldInfo, fields_of
from engines.registry import model_spec, models
from studio.field_editors import INT_LIMIT, FieldEditor

DATASET_CHOICES = ("mnist", "digits", "folder:")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
LIVE_MARK = "<span style='color:#4fc3f7'>&#9679;</span>"   # a small blue dot: editable while training


class HyperParameterEditor(QtWidgets.QWidget):
    """One :class:`FieldEditor` per config field. Live fields stay enabled while a run trains and
    emit ``liveChanged(name, value)`` with the checked value; the others apply at the next start.
    A refused value emits ``refused(name, message)`` and the editor shows the value in force."""

    liveChanged = QtCore.Signal(str, object)
    refused = QtCore.Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fields: dict[str, FieldInfo] = {}
        self.editors: dict[str, FieldEditor] = {}
        self._running = False
        self._form = QtWidgets.QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow(QtWidgets.QLabel("loading the engine's settings…"))

    def set_fields(self, fields: list[FieldInfo], values: dict | None = None) -> None:
        """Rebuild the form for ``fields``, showing ``values`` (defaults where missing)."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self.fields = {f.name: f for f in fields}
        self.editors = {}
        for info in fields:
            editor = FieldEditor(info)
            label = QtWidgets.QLabel(f"{info.name} {LIVE_MARK}" if info.live else info.name)
            label.setToolTip(editor.base_tip)
            editor.valueEdited.connect(lambda value, name=info.name: self._edited(name, value))
            editor.refused.connect(lambda message, name=info.name: self.refused.emit(name, message))
            self.editors[info.name] = editor
            self._form.addRow(label, editor)
        legend = QtWidgets.QLabel(f"{LIVE_MARK} can change while training")
        legend.setObjectName("legend")
        self._form.addRow(legend)
        self.set_values(values or {})
        self.set_running(self._running)

    def set_values(self, values: dict) -> None:
        """Show ``values`` (a config dict: the values in force) without emitting anything."""
        for name, value in values.items():
            if name in self.editors:
                info = self.fields[name]
                self.editors[name].set_value(tuple(value) if info.type is tuple and isinstance(value, list) else value)

    def set_value(self, name: str, value) -> None:
        self.set_values({name: value})

    def values(self) -> dict:
        return {name: editor.value for name, editor in self.editors.items()}

    def overrides(self) -> dict:
        """The fields whose value differs from the engine's default."""
        return {name: v for name, v in self.values().items() if v != self.fields[name].default}

    def _edited(self, name: str, value) -> None:
        if self._running and self.fields[name].live:
            self.liveChanged.emit(name, value)

    def set_running(self, running: bool) -> None:
        """While a run trains only live fields can change; the others wait for the next start."""
        self._running = running
        for name, editor in self.editors.items():
            editor.set_editable(not running or self.fields[name].live)


class RunSetup(QtWidgets.QWidget):
    """Engine, dataset, device and seed pickers above the hyper-parameter editor."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.specs, self.unavailable = {}, {}
        for name in models():
            try:
                self.specs[name] = model_spec(name)
            except (ImportError, AttributeError, ConfigError) as exc:    # a broken plug-in: said when picked
                self.unavailable[name] = f"unavailable: {type(exc).__name__}: {exc}"
        self.model_combo = QtWidgets.QComboBox()
        self.model_combo.addItems(sorted(models()))
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
        self.model_combo.currentTextChanged.connect(self._user_picked_model)
        self._model_picked(self.model)

    @property
    def model(self) -> str:
        return self.model_combo.currentText()

    def show_starting(self, model: str, data: str | None, seed: int) -> None:
        """The run being started, before it says what it is (the form then fills in)."""
        with QtCore.QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentText(model)
        if data:
            self.data_combo.setCurrentText(data)
        self.seed_spin.setValue(int(seed))

    def set_run(self, model: str, data: str, device: str, seed: int, config: dict | None = None,
                fields: list[FieldInfo] | None = None) -> None:
        """Show the settings of a run (started from the command line, or opened from disk: then
        with the config fields its store recorded)."""
        with QtCore.QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentText(model)
        self.data_combo.setCurrentText(data)
        self.device_combo.setCurrentText(device if device in DEVICE_CHOICES else device.split(":")[0])
        self.seed_spin.setValue(int(seed))
        self._model_picked(model, fields=fields)
        if config:
            self.editor.set_values(config)

    def _user_picked_model(self, model: str) -> None:
        """Another model picked: its fields with their defaults, and its own default dataset."""
        self._model_picked(model)
        if model in self.specs:
            self.data_combo.setCurrentText(self.specs[model].default_data)

    def _model_picked(self, model: str, fields: list[FieldInfo] | None = None) -> None:
        spec = self.specs.get(model)
        if spec is None and not fields:
            self.summary.setText(self.unavailable.get(model, f"unknown model '{model}'"))
            self.editor.set_fields([])
            return
        self.summary.setText(spec.summary if spec is not None else "")
        self.editor.set_fields(fields or fields_of(spec.Config))

    def set_running(self, running: bool) -> None:
        for widget in (self.model_combo, self.data_combo, self.device_combo, self.seed_spin):
            widget.setEnabled(not running)
        self.editor.set_running(running)
