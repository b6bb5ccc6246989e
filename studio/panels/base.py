"""The one interface every panel has, so the window wires all of them the same way.

A panel draws the frames of one :class:`~engines.core.views.View`. It is built with the view and
the run's config fields; the window then calls

- ``show_frame(frame)`` for each frame the view declares (live or replayed),
- ``set_config(values)`` with the config in force (after a start, an applied edit, or opening a run),
- ``set_live(live)``: True while a run trains (controls and clicks act on it), False when a
  recorded run is replayed (controls show the run's values, greyed out);
- ``picture_shown()`` after each new picture it hands the panel: the next paint of the panel's
  picture counts in ``pictures_painted`` (what the status bar's pictures a second and the live
  benchmark report). A panel that plays a sequence itself (DRAW's glimpses) calls it for each
  picture it plays. Before a live frame the window sets ``state_wall``, when the training state
  it was drawn from was taken (``time.time()``; 0: unknown), which :attr:`state_age` tells a caption.

A panel acts on the run only through two signals: ``configEdited(name, value)`` for a live config
field among the view's ``controls`` (edited in the strip of editors each panel gets for them), and
``methodCalled(method, args)`` for an engine method among the view's ``calls`` or ``actions``
(use :meth:`call`).
"""
from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from engines.core.config import FieldInfo
from engines.core.views import View
from studio.field_editors import FieldEditor
from studio.flow_layout import FlowLayout

CONTROL_ROWS = 2             # rows of wrapped controls a panel shows at most (more scroll)


class Panel(QtWidgets.QWidget):
    """Base of all panels. Subclasses implement :meth:`show_frame`; they add their own widgets to
    ``self.body`` (a vertical layout under the control strip)."""

    configEdited = QtCore.Signal(str, object)
    methodCalled = QtCore.Signal(str, object)     # method name, tuple of arguments

    def __init__(self, view: View, fields: dict[str, FieldInfo] | None = None, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)    # a click on a panel takes focus from a field
        self.view = view
        self.title = view.title
        self.live = False
        self.pictures_painted = 0
        self.state_wall = 0.0
        self._unpainted = False
        self.picture_view: QtWidgets.QGraphicsView | None = None    # the panel's picture (subclasses set it)
        self._painted_widget: QtWidgets.QWidget | None = None
        fields = fields or {}
        self.control_editors: dict[str, FieldEditor] = {}
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.setSpacing(2)
        # the controls wrap onto more rows in a narrow panel; past CONTROL_ROWS rows they scroll
        # (vertically), so that the picture keeps the panel's height
        self.control_strip = QtWidgets.QScrollArea()
        self.control_strip.setWidgetResizable(True)
        self.control_strip.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.control_strip.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.control_strip.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        strip = QtWidgets.QWidget()
        self.controls = FlowLayout(strip)
        self.control_strip.setWidget(strip)
        for name in view.controls:
            if name in fields:
                self._add_control(fields[name])
        outer.addWidget(self.control_strip)
        self._fit_strip()
        self.body = QtWidgets.QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(2)
        outer.addLayout(self.body, 1)

    def _add_control(self, info: FieldInfo) -> None:
        editor = FieldEditor(info)
        label = QtWidgets.QLabel(info.name.replace("_", " "))
        label.setToolTip(editor.base_tip)
        editor.valueEdited.connect(lambda value, name=info.name: self.configEdited.emit(name, value))
        self.control_editors[info.name] = editor
        pair = QtWidgets.QWidget()             # a label wraps with its editor
        row = QtWidgets.QHBoxLayout(pair)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(editor)
        self.controls.addWidget(pair)
        editor.set_editable(False)

    def add_control_widget(self, widget: QtWidgets.QWidget) -> None:
        """A panel's own control (a display mode...), first in the strip."""
        self.controls.insertWidget(0, widget)
        self._fit_strip()

    def _fit_strip(self) -> None:
        """The control strip, shown when it holds something (subclasses may add widgets to it), as
        tall as its wrapped rows, at most ``CONTROL_ROWS`` of them (a scroll bar for the rest)."""
        has_controls = self.controls.count() > 0
        self.control_strip.setVisible(has_controls)
        if has_controls:
            width = max(1, self.control_strip.viewport().width() if self.isVisible() else self.width())
            row = max(self.controls.itemAt(i).sizeHint().height() for i in range(self.controls.count()))
            cap = CONTROL_ROWS * row + (CONTROL_ROWS - 1) * self.controls.spacing()
            self.control_strip.setFixedHeight(min(self.controls.heightForWidth(width), cap))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_strip()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_strip()

    # ------------------------------------------------------------------------------ interface
    def show_frame(self, frame) -> None:
        raise NotImplementedError

    def set_config(self, values: dict) -> None:
        """Show the config in force in the panel's controls (no signal)."""
        for name, editor in self.control_editors.items():
            if name in values:
                editor.set_value(values[name])

    def set_live(self, live: bool) -> None:
        """Live: controls and interactions act on the training run; replay: they are greyed out."""
        self.live = live
        for editor in self.control_editors.values():
            editor.set_editable(live)

    def picture_shown(self) -> None:
        """A new picture is on the panel: its next paint is counted (see the module docstring)."""
        if self._painted_widget is None:
            view = self.picture_view or next(iter(self.findChildren(QtWidgets.QGraphicsView)), None)
            self._painted_widget = view.viewport() if view is not None else self
            self._painted_widget.installEventFilter(self)
        self._unpainted = True

    @property
    def state_age(self) -> float | None:
        """Seconds since the training state of the picture shown was taken (None: not known)."""
        return max(0.0, time.time() - self.state_wall) if self.live and self.state_wall else None

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self._painted_widget and event.type() == QtCore.QEvent.Type.Paint and self._unpainted:
            self._unpainted = False
            self.pictures_painted += 1
        return False

    def call(self, method: str, *args) -> bool:
        """Ask for ``method(*args)``: one of the view's ``calls`` (made on the display copy) or
        ``actions`` (run by the training process); False when not live or not declared."""
        if not self.live or method not in (*self.view.calls, *self.view.actions):
            return False
        self.methodCalled.emit(method, args)
        return True
