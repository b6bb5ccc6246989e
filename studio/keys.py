"""Keyboard focus in the studio window: its shortcuts work whatever has focus.

A text field keeps the keys that type (a plain letter, Space): a learning rate or a folder path
is typed there. A key with Ctrl or Alt, or a function key, that is one of the window's shortcuts
goes to the shortcut even where the field would take it (a line edit reads Ctrl+E as "end of
line"). Esc in a field leaves it (the window takes the focus, so Space pauses again); a click on a
panel takes the focus from a field (the panels accept click focus, see ``studio.panels.base``).
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

TYPING_WIDGETS = (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox,
                  QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit)
COMMAND_MODIFIERS = QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.AltModifier


def is_command_key(event: QtGui.QKeyEvent) -> bool:
    """A key that does not type: with Ctrl or Alt, or a function key (F1…F35)."""
    return bool(event.modifiers() & COMMAND_MODIFIERS) or QtCore.Qt.Key.Key_F1 <= event.key() <= QtCore.Qt.Key.Key_F35


class ShortcutsWin(QtCore.QObject):
    """Installed on the application for ``window``: see the module's docstring."""

    def __init__(self, window: QtWidgets.QMainWindow):
        super().__init__(window)
        self.window = window

    def _typing_here(self, widget) -> bool:
        """A field of this window (or of a widget inside one, such as a spin box's line edit) has the keys."""
        return (isinstance(widget, QtWidgets.QWidget) and widget.window() is self.window
                and any(isinstance(w, TYPING_WIDGETS) for w in (widget, widget.parentWidget())))

    def _shortcut(self, event: QtGui.QKeyEvent) -> bool:
        pressed = QtGui.QKeySequence(event.keyCombination())
        return any(shortcut.matches(pressed) == QtGui.QKeySequence.SequenceMatch.ExactMatch
                   for action in self.window.actions() if action.isEnabled() for shortcut in action.shortcuts())

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QtCore.QEvent.Type.ShortcutOverride and self._typing_here(watched):
            # Not accepted, and not passed on to the field: Qt then looks the key up as a shortcut.
            return is_command_key(event) and self._shortcut(event)
        if (kind == QtCore.QEvent.Type.KeyPress and event.key() == QtCore.Qt.Key.Key_Escape
                and self._typing_here(watched)):
            self.window.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
            return True
        return False
