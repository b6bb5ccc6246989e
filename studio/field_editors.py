"""One editor widget per config field, typed by the field: a spin box for whole numbers (bounded by
the field's range), a combo box for choices, a check box for flags, a text field for the rest.

Every value goes through :func:`engines.core.config.coerce`, the check the CLI and the engines use:
a value it refuses is never emitted; the editor shows the value in force again and says why
(``refused``). Used by the run setup's form and by the controls a panel carries for its view.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engines.core.config import ConfigError, FieldInfo, coerce

INT_LIMIT = 2**31 - 1
REFUSED_MARK_MS = 2500      # how long a refused edit leaves its field outlined in red


def _text(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


class FieldEditor(QtWidgets.QWidget):
    """The editor of one field. ``set_value`` shows the value in force (no signal); a user's edit
    that passes the field's checks emits ``valueEdited(value)``, one that fails emits
    ``refused(message)`` and puts the value in force back."""

    valueEdited = QtCore.Signal(object)
    refused = QtCore.Signal(str)

    def __init__(self, info: FieldInfo, parent=None):
        super().__init__(parent)
        self.info = info
        self.value = info.default
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.widget = self._make_widget(info)
        layout.addWidget(self.widget)
        allowed = f"one of {', '.join(map(str, info.choices))}" if info.choices else info.range_text()
        tip = info.help + (f"\nallowed: {allowed}" if allowed else "")
        tip += "\n(can change while training)" if info.live else "\n(applies at the next start)"
        self.base_tip = tip.strip()
        self.widget.setToolTip(self.base_tip)
        self._unmark = QtCore.QTimer(self)     # a refusal's red outline goes once it has been seen:
        self._unmark.setSingleShot(True)       # the field shows the value in force again
        self._unmark.setInterval(REFUSED_MARK_MS)
        self._unmark.timeout.connect(lambda: self.mark(""))
        self.set_value(info.default)

    def _make_widget(self, info: FieldInfo) -> QtWidgets.QWidget:
        if info.choices:
            widget = QtWidgets.QComboBox()
            widget.addItems([str(c) for c in info.choices])
            widget.currentTextChanged.connect(self._edited)
        elif info.type is bool:
            widget = QtWidgets.QCheckBox()
            widget.toggled.connect(self._edited)
        elif info.type is int:
            widget = QtWidgets.QSpinBox()
            low = int(info.low) + (1 if info.low_open else 0) if info.low is not None else -INT_LIMIT
            high = int(info.high) - (1 if info.high_open else 0) if info.high is not None else INT_LIMIT
            widget.setRange(max(low, -INT_LIMIT), min(high, INT_LIMIT))
            widget.setKeyboardTracking(False)   # typing "500" applies once, not 5, 50, 500
            widget.setGroupSeparatorShown(True)
            widget.valueChanged.connect(self._edited)
        else:   # float, str, lists of ints: free text, checked on enter/focus-out
            widget = QtWidgets.QLineEdit()
            widget.editingFinished.connect(lambda: self._edited(widget.text()))
        return widget

    def set_value(self, value) -> None:
        """Show ``value`` (the value in force) without emitting anything."""
        self.value = value
        widget = self.widget
        with QtCore.QSignalBlocker(widget):
            if isinstance(widget, QtWidgets.QComboBox):
                widget.setCurrentText(str(value))
            elif isinstance(widget, QtWidgets.QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QtWidgets.QSpinBox):
                widget.setValue(int(value))
            else:
                widget.setText(_text(value))
        self.mark("")

    def _edited(self, raw) -> None:
        try:
            value = coerce(self.info, raw)
        except ConfigError as exc:
            self.set_value(self.value)       # the value in force, not what was typed
            self.mark(str(exc))
            self._unmark.start()
            self.refused.emit(str(exc))
            return
        if value == self.value:
            self.set_value(value)            # normalise what is shown (e.g. "1e-4" -> 0.0001)
            return
        self.value = value
        self.mark("")
        self.valueEdited.emit(value)

    def mark(self, message: str) -> None:
        """Outline the editor in red with ``message`` as its tooltip, or clear that."""
        widget = self.widget
        widget.setProperty("invalid", bool(message))
        widget.setToolTip(f"{message}\n\n{self.base_tip}" if message else self.base_tip)
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def set_editable(self, editable: bool) -> None:
        self.widget.setEnabled(editable)
