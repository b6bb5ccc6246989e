"""Panels of the VAE family: the latent grid, the latent scatter with its draggable probe, the
draw-to-encode canvas and the KL per latent dimension.

They act on the run only through ``self.call`` (the view's ``calls``: ``set_probe(x, y)`` while the
probe is dragged, ``encode_drawing(pixels)`` while a digit is drawn): the display copy answers
with its next frame, and stale answers are dropped there. At most one call goes out per mouse move
(the scatter) or per 33 ms (the drawing).
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.frames import as_u8, as_unit
from engines.core.views import View
from engines.vae.frames import DRAWN_COLOUR, LABEL_COLOURS, UNLABELLED, Drawing, LatentGrid, LatentScatter, LatentStats
from studio.panels.base import Panel
from studio.panels.images import MosaicView, StillPanel, caption_label

DRAW_INTERVAL_MS = 33        # the drawing is sent at most ~30 times a second
PROBE_HOLD_S = 0.5           # after a drag, frames still carrying the old probe do not move the marker back
BRUSH_RADIUS = 1.2           # pixels of the 28x28 canvas
CLICK_SLOP_PX = 3            # a right press that moves less than this is a click (clear), not an erasing drag
ACTIVE_BRUSH = (77, 153, 255)
INACTIVE_BRUSH = (115, 115, 115)


def _hex(colour) -> str:
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in colour)


def _label_brushes(labels: np.ndarray) -> list:
    """One pyqtgraph brush per point, coloured by its label (shared brush objects: cheap)."""
    brushes = [pg.mkBrush(*(int(c * 255) for c in colour)) for colour in LABEL_COLOURS]
    grey = pg.mkBrush(*(int(c * 255) for c in UNLABELLED))
    return [grey if label < 0 else brushes[label % len(brushes)] for label in labels.tolist()]


class LatentGridPanel(StillPanel):
    """The decoded latent grid (any ``ImageGrid``), captioned with the plane and its extent."""

    def show_frame(self, frame) -> None:
        super().show_frame(frame)
        if isinstance(frame, LatentGrid) and len(frame.xs):
            ys = f" · y {frame.ys.min():.2f}…{frame.ys.max():.2f}" if len(frame.ys) > 1 else ""
            self.caption.setText(f"{self.title} · {frame.plane} · x {frame.xs.min():.2f}…{frame.xs.max():.2f}"
                                 f"{ys} · step {frame.step}")


class BarPlot(pg.PlotWidget):
    """Bars (one per latent dimension) with optional ±error whiskers."""

    def __init__(self, left: str, parent=None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("left", left)
        self.setLabel("bottom", "latent dimension")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.whiskers = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), pen=pg.mkPen("#ffa726", width=2))
        self.addItem(self.bars)
        self.addItem(self.whiskers)
        self.setMinimumSize(120, 90)
        self._count = -1

    def set_bars(self, values: np.ndarray, brushes, errors: np.ndarray | None = None) -> None:
        """Bars of ``values`` painted with one brush or a list of them, whiskers ``±errors``."""
        x = np.arange(len(values), dtype=np.float64)
        if len(values) != self._count:        # whole-number ticks, at most ~20 of them
            self._count = len(values)
            every = max(1, -(-len(values) // 20))
            self.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, len(values), every)]])
            self.setXRange(-0.6, len(values) - 0.4, padding=0)
        paint = {"brushes": brushes} if isinstance(brushes, list) else {"brush": brushes}
        self.bars.setOpts(x=x, height=np.asarray(values, dtype=np.float64), width=0.8, pen=None, **paint)
        if errors is None:
            self.whiskers.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
        else:
            self.whiskers.setData(x=x, y=np.asarray(values, dtype=np.float64),
                                  height=2 * np.asarray(errors, dtype=np.float64), beam=0.3)


# ----------------------------------------------------------------------------------- scatter
class ProbeViewBox(pg.ViewBox):
    """A ViewBox where a left click or a left drag places the probe (reported in view coordinates);
    the wheel and the right button still zoom, the middle button pans."""
    probeMoved = QtCore.Signal(float, float)

    def _report(self, ev) -> None:
        ev.accept()
        pos = self.mapSceneToView(ev.scenePos())
        self.probeMoved.emit(pos.x(), pos.y())

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self._report(ev)
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and axis is None:
            self._report(ev)
        else:
            super().mouseDragEvent(ev, axis)


class LatentScatterPanel(Panel):
    """Test posterior means on the latent plane, coloured by digit label; click or drag to move the
    probe (``set_probe(x, y)`` on the display copy, once per mouse move) and see its decoding."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        hint = " · click or drag to move the probe" if "set_probe" in view.calls else ""
        self.caption = caption_label(f"{self.title}{hint}")
        self.legend = QtWidgets.QLabel(" ".join(f"<span style='color:{_hex(c)}'>■ {i}</span>"
                                                for i, c in enumerate(LABEL_COLOURS)))
        self.viewbox = ProbeViewBox()
        self.plot = self.picture_view = pg.PlotWidget(viewBox=self.viewbox)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.points = pg.ScatterPlotItem(size=5, pen=None)
        self.marker = pg.ScatterPlotItem(size=18, symbol="+", pen=pg.mkPen("w", width=2), brush=pg.mkBrush("w"))
        drawn_colour = tuple(int(255 * c) for c in DRAWN_COLOUR)
        self.drawn_marker = pg.ScatterPlotItem(size=14, symbol="s", pen=pg.mkPen(drawn_colour, width=2), brush=None)
        self.plot.addItem(self.points)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.plot.addItem(self.drawn_marker, ignoreBounds=True)
        self.decoding = MosaicView()
        self.decoding.setMinimumSize(90, 90)
        self.decoding_caption = caption_label("probe decoding")

        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.decoding_caption)
        side.addWidget(self.decoding, 1)
        side.addStretch(1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.plot, 3)
        row.addLayout(side, 1)
        self.body.addWidget(self.caption)
        self.body.addWidget(self.legend)
        self.body.addLayout(row, 1)
        self.setMinimumSize(240, 200)

        self.probe = np.zeros(2)
        self._points_key = None
        self._moved_at = 0.0
        self.viewbox.probeMoved.connect(self._on_probe_moved)

    def show_frame(self, frame: LatentScatter) -> None:
        if not isinstance(frame, LatentScatter):
            raise TypeError(f"LatentScatterPanel draws LatentScatter frames, not {type(frame).__name__}")
        key = (frame.step, frame.plane, frame.points.shape)
        if key != self._points_key:            # the points change with training, not with the probe
            self._points_key = key
            self.points.setData(pos=frame.points.astype(np.float64), brush=_label_brushes(frame.labels))
            self.legend.setVisible(bool((frame.labels >= 0).any()))
        if time.monotonic() - self._moved_at > PROBE_HOLD_S:
            self._place_marker(*frame.probe.tolist())
        self.decoding.show_mosaic(frame.probe_image)
        drawn = np.isfinite(frame.drawn).all()
        self.drawn_marker.setData(pos=[tuple(frame.drawn.tolist())] if drawn else [])
        self.caption.setText(f"{self.title} · {frame.plane} · step {frame.step}"
                             + (" · □ your drawing" if drawn else ""))
        self.decoding_caption.setText(f"probe ({frame.probe[0]:.2f}, {frame.probe[1]:.2f})")

    def _place_marker(self, x: float, y: float) -> None:
        self.probe = np.array([x, y])
        self.marker.setData(pos=[(x, y)])

    def _on_probe_moved(self, x: float, y: float) -> None:
        if self.call("set_probe", float(x), float(y)):
            self._moved_at = time.monotonic()
            self._place_marker(x, y)


# ----------------------------------------------------------------------------------- drawing
class DrawCanvas(QtWidgets.QWidget):
    """A small grey image (28x28 by default) drawn with the mouse: left button paints a soft round
    brush along the stroke, a right-button drag erases, a right click clears. ``changed`` is
    emitted after each change."""
    changed = QtCore.Signal()

    def __init__(self, size: int = 28, parent=None):
        super().__init__(parent)
        self.pixels = np.zeros((size, size), dtype=np.float32)
        self.enabled_for_drawing = True
        self._last: tuple[float, float] | None = None
        self._right_press: QtCore.QPointF | None = None    # a right press not yet dragged (a click so far)
        self.setMinimumSize(112, 112)
        self.setCursor(QtCore.Qt.CursorShape.CrossCursor)

    def set_pixels(self, pixels: np.ndarray) -> None:
        self.pixels = np.clip(as_unit(np.asarray(pixels)), 0, 1).astype(np.float32)
        self.update()

    def clear(self) -> None:
        self.pixels = np.zeros_like(self.pixels)
        self.update()
        self.changed.emit()

    def _geometry(self) -> tuple[float, float, float]:
        """(scale, x offset, y offset) of the square image inside the widget."""
        h, w = self.pixels.shape
        scale = min(self.width() / w, self.height() / h)
        return scale, (self.width() - scale * w) / 2, (self.height() - scale * h) / 2

    def image_point(self, pos: QtCore.QPointF) -> tuple[float, float]:
        """Widget position -> image (column, row) coordinates, pixel centres at .5."""
        scale, ox, oy = self._geometry()
        return (pos.x() - ox) / scale, (pos.y() - oy) / scale

    def paintEvent(self, event):
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(40, 40, 40))
        grey = np.ascontiguousarray(as_u8(self.pixels))
        h, w = grey.shape
        image = QtGui.QImage(grey.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
        scale, ox, oy = self._geometry()
        painter.drawImage(QtCore.QRectF(ox, oy, scale * w, scale * h), image)
        painter.end()

    def _stamp(self, x: float, y: float, erase: bool) -> None:
        h, w = self.pixels.shape
        rows, cols = np.mgrid[0:h, 0:w]
        d = np.hypot(cols + 0.5 - x, rows + 0.5 - y)
        ink = np.clip(BRUSH_RADIUS + 0.5 - d, 0.0, 1.0).astype(np.float32)
        self.pixels = np.minimum(self.pixels, 1 - ink) if erase else np.maximum(self.pixels, ink)

    def _stroke(self, pos: QtCore.QPointF, erase: bool) -> None:
        x, y = self.image_point(pos)
        x0, y0 = self._last if self._last is not None else (x, y)
        steps = max(1, int(np.ceil(np.hypot(x - x0, y - y0) / 0.5)))
        for t in np.linspace(0, 1, steps + 1)[1 if self._last is not None else 0:]:
            self._stamp(x0 + t * (x - x0), y0 + t * (y - y0), erase)
        self._last = (x, y)
        self.update()
        self.changed.emit()

    def _erasing(self, buttons) -> bool | None:
        if buttons & QtCore.Qt.MouseButton.LeftButton:
            return False
        if buttons & QtCore.Qt.MouseButton.RightButton:
            return True
        return None

    def mousePressEvent(self, event):
        erase = self._erasing(event.buttons())
        if not self.enabled_for_drawing or erase is None:
            return
        self._last = None
        if erase:
            self._right_press = event.position()        # erasing starts once it drags
            return
        self._stroke(event.position(), erase)

    def mouseMoveEvent(self, event):
        erase = self._erasing(event.buttons())
        if not self.enabled_for_drawing or erase is None:
            return
        if erase and self._right_press is not None:
            if (event.position() - self._right_press).manhattanLength() < CLICK_SLOP_PX:
                return
            self._stroke(self._right_press, True)
            self._right_press = None
        self._stroke(event.position(), erase)

    def mouseReleaseEvent(self, event):
        if (self.enabled_for_drawing and self._right_press is not None
                and event.button() == QtCore.Qt.MouseButton.RightButton):
            self.clear()                                  # a right click, not a drag
        self._right_press = None
        self._last = None


class DrawPanel(Panel):
    """Draw a digit; while drawing, ``encode_drawing(pixels)`` goes to the display copy (at most
    every 33 ms, the last stroke always sent) and its frames show the posterior — μ per latent
    dimension as bars with ±σ whiskers — and the reconstruction ``E[x | z = μ]``."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.canvas = DrawCanvas()
        self.canvas.setToolTip("Left button draws, right-button drag erases, right click clears")
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setToolTip("Clear the canvas and draw a new digit")
        self.add_control_widget(self.clear_button)
        self.caption = caption_label(f"{self.title} · draw a digit (right-drag erases, right click clears)")
        self.recon = MosaicView()
        self.recon.setMinimumSize(90, 90)
        self.bars = BarPlot("μ ± σ")
        self.bars.setYRange(-3.5, 3.5)

        pictures = QtWidgets.QHBoxLayout()
        for title, widget in (("your drawing", self.canvas), ("reconstruction", self.recon)):
            box = QtWidgets.QVBoxLayout()
            box.addWidget(caption_label(title))
            box.addWidget(widget, 1)
            pictures.addLayout(box, 1)
        self.body.addWidget(self.caption)
        self.body.addLayout(pictures, 3)
        self.body.addWidget(caption_label("posterior q(z|x): mean per dimension, whiskers ±σ"))
        self.body.addWidget(self.bars, 2)
        self.setMinimumSize(220, 200)

        self.drawn = False          # once the user draws, the canvas is theirs (frames no longer reset it)
        self._dirty = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._flush)
        self.canvas.changed.connect(self._on_changed)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.set_live(False)

    def set_live(self, live: bool) -> None:
        super().set_live(live)
        self.canvas.enabled_for_drawing = live
        self.clear_button.setEnabled(live)

    def show_frame(self, frame: Drawing) -> None:
        if not isinstance(frame, Drawing):
            raise TypeError(f"DrawPanel draws Drawing frames, not {type(frame).__name__}")
        if not (self.live and self.drawn):
            self.canvas.set_pixels(frame.pixels)
        self.recon.show_mosaic(frame.recon)
        self.bars.set_bars(frame.mu, pg.mkBrush(*ACTIVE_BRUSH), frame.sigma)
        self.caption.setText(f"{self.title} · {len(frame.mu)} latent dimensions · step {frame.step}")

    def _on_changed(self) -> None:
        self.drawn = True
        self._dirty = True
        if not self._timer.isActive():
            self._flush()

    def _flush(self) -> None:
        """Send the drawing if it changed since the last send, then wait an interval."""
        if not self._dirty:
            return
        self._dirty = False
        self.call("encode_drawing", self.canvas.pixels.copy())
        self._timer.start()


# ----------------------------------------------------------------------------------- KL per dimension
class LatentStatsPanel(Panel):
    """KL(q(z_d|x) || N(0,1)) per latent dimension on the test set; active dimensions in colour."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.bars = BarPlot("KL (nats)")
        self.body.addWidget(self.caption)
        self.body.addWidget(self.bars, 1)
        self._active = pg.mkBrush(*ACTIVE_BRUSH)
        self._inactive = pg.mkBrush(*INACTIVE_BRUSH)

    def show_frame(self, frame: LatentStats) -> None:
        if not isinstance(frame, LatentStats):
            raise TypeError(f"LatentStatsPanel draws LatentStats frames, not {type(frame).__name__}")
        active = frame.active
        self.bars.set_bars(frame.kl, [self._active if a else self._inactive for a in active.tolist()])
        self.caption.setText(f"{self.title} · {int(active.sum())} of {len(active)} dimensions active "
                             f"(Cov_x E_q[z_d] > {frame.threshold:g}) · step {frame.step}")


__all__ = ["DrawCanvas", "DrawPanel", "LatentGridPanel", "LatentScatterPanel", "LatentStatsPanel"]
