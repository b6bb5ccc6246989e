"""Many dots drawn in one call, and the few pens they (and outlines) are drawn with.

:class:`Dots` is a graphics item of round dots of a fixed size in screen pixels at points of its
parent's coordinates: one ``drawPoints`` with a round cosmetic pen, the points filled from NumPy.
``pg.ScatterPlotItem`` does the same at several times the cost (its symbol atlas and per-spot
bookkeeping run at every new set of points): DRAW's windows redraw ~30 sets of filter centres a
glimpse, and ``gan2d``'s plane a thousand points a picture.
"""
from __future__ import annotations

import functools

import numpy as np
from pyqtgraph.functions import create_qpolygonf, ndarray_from_qpolygonf
from PySide6 import QtCore, QtGui, QtWidgets


def qcolour(rgb, alpha: float) -> QtGui.QColor:
    """An RGB triple in [0, 1] with opacity ``alpha``."""
    return QtGui.QColor.fromRgbF(rgb[0], rgb[1], rgb[2], alpha)


@functools.lru_cache(maxsize=1024)
def dot_pen(rgb: tuple, alpha_32nds: int, width_halves: int, round_cap: bool = False) -> QtGui.QPen:
    """A cosmetic pen of opacity in 32nds and width in half screen pixels (round-capped: for dots),
    made once for each such triple: a picture uses few, and making a pen per item per picture was a
    third of what playing DRAW's glimpses cost."""
    pen = QtGui.QPen(qcolour(rgb, alpha_32nds / 32), width_halves / 2)
    if round_cap:
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    pen.setCosmetic(True)
    return pen


class Dots(QtWidgets.QGraphicsItem):
    """Round dots at points of the parent's coordinates, drawn with one pen."""

    def __init__(self, parent: QtWidgets.QGraphicsItem | None = None):
        super().__init__(parent)
        self._points = QtGui.QPolygonF()
        self._pen = QtGui.QPen()
        self._bounds = QtCore.QRectF()

    def setData(self, xs: np.ndarray, ys: np.ndarray, pen: QtGui.QPen) -> None:
        """Dots at (xs, ys), drawn with ``pen`` (round-capped and cosmetic: its width is the dots'
        size in screen pixels)."""
        self.prepareGeometryChange()
        self._points = create_qpolygonf(len(xs))        # filled from NumPy, no QPointF per dot
        ndarray_from_qpolygonf(self._points)[:] = np.stack([xs, ys], axis=-1)
        self._pen = pen
        self._bounds = self._points.boundingRect().adjusted(-1, -1, 1, 1)   # a margin for the dots' size
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """The dots' (x, y) centres."""
        xy = ndarray_from_qpolygonf(self._points)
        return xy[:, 0].copy(), xy[:, 1].copy()

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def paint(self, painter: QtGui.QPainter, *_) -> None:
        painter.setPen(self._pen)
        painter.drawPoints(self._points)
