"""The step cursor: a vertical line at the timeline's step on every plot of a set of curves.

A recorded run (and a comparison) ties its curves to its pictures with it: the timeline sets the
line's step (:meth:`StepCursor.set_step`); dragging a line, or clicking a plot, asks for another
step (:attr:`StepCursor.moved`), which the timeline then shows (at its nearest recorded step, where
the line settles). While nothing is set (a live run) the lines are hidden and clicks do nothing.
"""
from __future__ import annotations

import bisect
from typing import Callable

import pyqtgraph as pg
from PySide6 import QtCore

CURSOR_COLOR = "#fff176"


class StepCursor(QtCore.QObject):
    """Lines on the plots :meth:`attach` gets. ``to_x(step)`` places a step on the x axis and
    ``to_step(x)`` reads one back (both the identity on a step axis)."""

    moved = QtCore.Signal(int)      # the step a drag or a click asked for

    def __init__(self, to_x: Callable[[int], float] = float, to_step: Callable[[float], int] = round, parent=None):
        super().__init__(parent)
        self.to_x, self.to_step = to_x, to_step
        self.step: int | None = None
        self.lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []

    def attach(self, plot: pg.PlotItem) -> None:
        """A line on ``plot`` (hidden until a step is set), and clicks on it."""
        line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen(CURSOR_COLOR, width=1.5),
                               hoverPen=pg.mkPen(CURSOR_COLOR, width=3))
        line.setToolTip("the step shown: drag it, or click a curve, to move the pictures")
        line.setZValue(50)
        plot.addItem(line, ignoreBounds=True)
        line.setVisible(self.step is not None)
        if self.step is not None:
            line.setValue(self.to_x(self.step))
        line.sigDragged.connect(self._dragged)
        self.lines.append((plot, line))

    def forget(self) -> None:
        """Drop every line (their plots are being cleared)."""
        self.lines.clear()

    def set_step(self, step: int | None) -> None:
        """Put the lines at ``step`` (None: hide them)."""
        self.step = step
        for _, line in self.lines:
            line.setVisible(step is not None)
            if step is not None:
                line.blockSignals(True)
                line.setValue(self.to_x(step))
                line.blockSignals(False)

    def replace(self) -> None:
        """Put the lines back at the step (the x axis changed)."""
        self.set_step(self.step)

    def clicked(self, event) -> None:
        """A click in a plot's data area (scene ``sigMouseClicked``) asks for the step under it."""
        if self.step is None or event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        for plot, _ in self.lines:
            view = plot.getViewBox()
            if view.sceneBoundingRect().contains(event.scenePos()):
                self.moved.emit(self.to_step(view.mapSceneToView(event.scenePos()).x()))
                return

    def _dragged(self, line: pg.InfiniteLine) -> None:
        self.moved.emit(self.to_step(line.value()))


def nearest(keys, target: float) -> int:
    """The index of the sorted ``keys`` (not empty) nearest to ``target``."""
    i = min(bisect.bisect_left(keys, target), len(keys) - 1)
    return i - 1 if i > 0 and abs(keys[i - 1] - target) <= abs(keys[i] - target) else i
