"""Panels of the GAN family: the fixed-noise samples with one-player steps, LAPGAN's pyramid with
its columns labelled, and ``gan2d``'s plane (heat map, points, noise grid; draw your own data).

The "Step D only" / "Step G only" buttons run the view's training-process ``actions``
(``step_discriminator`` / ``step_generator``): they go out through ``methodCalled`` like a display
call, and the studio sends a method that the view lists under ``actions`` to the training process.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engines.core.frames import as_u8
from engines.core.views import View
from engines.gan.frames import (FAKE_COLOUR, HEAT_COLOURS, HEAT_STOPS, LINE_COLOUR, REAL_COLOUR, GANSamples,
                                PointField, PyramidLevels)
from studio.panels.base import Panel
from studio.panels.dots import Dots, dot_pen
from studio.panels.images import StillPanel, caption_label

PLAYER_BUTTONS = (("step_discriminator", "Step D only", "One discriminator update and nothing else, between two steps"),
                  ("step_generator", "Step G only", "One generator update and nothing else, between two steps"))
BRUSH_POINTS = 24      # points a click adds in draw mode
BRUSH_SPREAD = 0.02    # their standard deviation, as a fraction of the plane's width
MIN_DRAWN = 10         # what the engine's set_points accepts
POINT_PX = 4           # real and generated points: dots this many screen pixels wide
ARROWS_SHOWN = 64      # generated points that get an arrow of G's gradient
ARROW_LENGTH = 0.08    # the longest arrow, as a fraction of the plane's width
ARROW_HEAD = 0.3       # an arrowhead's sides, as a fraction of its arrow
ARROW_COLOUR = "#d84315"
LAYER_PLANE_PX = 110   # each small plane of G's layers


def _rgb(colour) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in colour)


class PlayerActions:
    """Mixin for a :class:`Panel`: buttons for the view's one-player actions (run by the training
    process between two steps, through :meth:`Panel.call`)."""

    def _add_player_buttons(self) -> None:
        self.action_buttons: dict[str, QtWidgets.QPushButton] = {}
        for method, text, tip in PLAYER_BUTTONS:
            if method in self.view.actions:
                button = QtWidgets.QPushButton(text)
                button.setToolTip(tip)
                button.setEnabled(False)
                button.clicked.connect(getattr(self, f"_on_{method}"))
                self.controls.insertWidget(len(self.action_buttons), button)
                self.action_buttons[method] = button
        self._fit_strip()

    def _on_step_discriminator(self) -> None:
        self.call("step_discriminator")

    def _on_step_generator(self) -> None:
        self.call("step_generator")

    def set_live(self, live: bool) -> None:
        super().set_live(live)
        for button in self.action_buttons.values():
            button.setEnabled(live)


class GANSamplesPanel(PlayerActions, StillPanel):
    """The fixed-noise samples (same noise all run long: the classic GAN animation), how many
    updates each player has had, and buttons for one-player steps."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self._add_player_buttons()

    def show_frame(self, frame: GANSamples) -> None:
        super().show_frame(frame)
        self.caption.setText(f"{self.title} · step {frame.step} · "
                             f"updates: D {frame.d_updates:,}, G {frame.g_updates:,}")


class PyramidPanel(StillPanel):
    """LAPGAN's levels, one row per sample, the columns labelled underneath (coarsest image, then
    per level: upsampled coarse image, generated residual (grey = 0), their sum)."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.axis = self.mosaic_view.plot.getAxis("bottom")
        self.mosaic_view.plot.showAxis("bottom")
        self._labels: list[str] | None = None

    def show_frame(self, frame: PyramidLevels) -> None:
        super().show_frame(frame)
        self.caption.setText(f"{self.title} · step {frame.step} · ↑ the coarser image upsampled, "
                             f"+ h its generated residual (grey = 0), = their sum")
        labels = frame.column_labels()
        if labels != self._labels:
            self._labels = labels
            width = frame.base.shape[2]
            self.axis.setTicks([[((width + 1) * c + width / 2, text) for c, text in enumerate(labels)]])


class Square(QtWidgets.QWidget):
    """Holds one widget as the largest square that fits, centred: an aspect-locked plane then spans
    what its data span on both axes (in a wide panel it showed −8…8 for points within ±2.7)."""

    def __init__(self, child: QtWidgets.QWidget, parent=None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)


def arrow_segments(starts: np.ndarray, pushes: np.ndarray, length: float) -> np.ndarray:
    """Line segments (pairs of points, (6N, 2)) drawing an arrow from each start along its push:
    the longest ``length`` long, the others in proportion, each with a two-stroke head."""
    scale = length / max(float(np.linalg.norm(pushes, axis=1).max(initial=0.0)), 1e-30)
    ends = starts + scale * pushes
    back = (starts - ends) * ARROW_HEAD
    c, s = np.cos(np.radians(25)), np.sin(np.radians(25))
    left = ends + back @ np.array([[c, s], [-s, c]])
    right = ends + back @ np.array([[c, -s], [s, c]])
    return np.stack([starts, ends, ends, left, ends, right], 1).reshape(-1, 2)


class LayerPlanes(QtWidgets.QWidget):
    """A row of small planes: the noise grid at G's input, after each hidden layer and at its output."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row = QtWidgets.QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.plots: list[tuple[pg.PlotWidget, pg.PlotCurveItem]] = []
        self.setFixedHeight(LAYER_PLANE_PX + 18)

    def show_layers(self, layers: np.ndarray, names: tuple) -> None:
        while len(self.plots) < len(layers):
            widget = pg.PlotWidget(background="w")
            widget.hideButtons()
            widget.setMenuEnabled(False)
            widget.setMouseEnabled(x=False, y=False)
            widget.hideAxis("left")
            widget.hideAxis("bottom")
            widget.setMinimumWidth(60)
            curve = pg.PlotCurveItem(pen=pg.mkPen(_rgb(LINE_COLOUR), width=1), connect="finite")
            widget.addItem(curve)
            self.row.addWidget(widget)
            self.plots.append((widget, curve))
        for i, (widget, curve) in enumerate(self.plots):
            widget.setVisible(i < len(layers))
            if i < len(layers):
                lines = np.asarray(layers[i], dtype=np.float64)
                path = np.concatenate([lines, np.full((len(lines), 1, 2), np.nan)], 1).reshape(-1, 2)
                curve.setData(path[:, 0], path[:, 1], connect="finite")
                widget.setTitle(names[i] if i < len(names) else "", size="8pt", color="#333333")
                widget.getViewBox().autoRange(padding=0.05)


class PointFieldPanel(PlayerActions, Panel):
    """``gan2d``'s plane: D's output as a heat map (green: "real", purple: "fake"), G's image of the
    noise grid as lines, real points (green) and generated ones (purple), and GAN Lab's views:
    arrows on generated points along G's gradient (where its next update moves them, through D),
    and below the plane the noise grid through each of G's layers. In draw mode a click adds a small
    blob of points; "Train on drawn" replaces the training data with them. The control strip's
    ``steps per s`` slows training down to watch the game."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self._add_player_buttons()
        self.draw_box = QtWidgets.QCheckBox("Draw points")
        self.draw_box.setToolTip("Click in the plane to add points; then 'Train on drawn' makes them the data")
        self.use_button = QtWidgets.QPushButton("Train on drawn")
        self.clear_button = QtWidgets.QPushButton("Clear")
        draw_row = QtWidgets.QHBoxLayout()
        draw_row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.draw_box, self.use_button, self.clear_button):
            widget.setEnabled(False)
            draw_row.addWidget(widget)
        draw_row.addStretch(1)
        self.arrows_box = QtWidgets.QCheckBox("Gradient arrows")
        self.arrows_box.setToolTip("Arrows on generated points: the direction G's next update moves them (−∂ℓ_G/∂x)")
        self.arrows_box.setChecked(True)
        self.layers_box = QtWidgets.QCheckBox("G's layers")
        self.layers_box.setToolTip("The noise grid at G's input, after each hidden layer (first two principal "
                                   "components) and at its output")
        self.layers_box.setChecked(True)
        view_row = QtWidgets.QHBoxLayout()
        view_row.setContentsMargins(0, 0, 0, 0)
        view_row.addWidget(self.arrows_box)
        view_row.addWidget(self.layers_box)
        view_row.addStretch(1)

        self.caption = caption_label(self.title)
        self.plot_widget = self.picture_view = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(enableMenu=False, enableViewBoxMenu=True)
        self.view_box = self.plot.getViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.disableAutoRange()
        self.heat_item = pg.ImageItem()
        self.heat: np.ndarray | None = None        # D's output shown, as the frame gave it
        cmap = pg.ColorMap(HEAT_STOPS, (HEAT_COLOURS * 255).astype(np.ubyte))
        self._heat_colours = cmap.getLookupTable(0.0, 1.0, 256, alpha=True)     # (256, 4) RGBA
        self.lines_item = pg.PlotCurveItem(pen=pg.mkPen(_rgb(LINE_COLOUR), width=1), connect="finite")
        self.real_item, self.fake_item = Dots(), Dots()
        self._real_pen = dot_pen(tuple(REAL_COLOUR), round(32 * 200 / 255), 2 * POINT_PX, round_cap=True)
        self._fake_pen = dot_pen(tuple(FAKE_COLOUR), round(32 * 200 / 255), 2 * POINT_PX, round_cap=True)
        self.drawn_item = pg.ScatterPlotItem(size=6, symbol="x", pen=pg.mkPen("#0277bd"), brush=None)
        self.arrows_item = pg.PlotCurveItem(pen=pg.mkPen(ARROW_COLOUR, width=1.5), connect="pairs")
        for item in (self.heat_item, self.lines_item, self.real_item, self.fake_item, self.arrows_item,
                     self.drawn_item):
            self.plot.addItem(item)
        self.layer_planes = LayerPlanes()
        self.body.addWidget(self.caption)
        if "set_points" in view.actions:
            self.body.addLayout(draw_row)
        self.body.addLayout(view_row)
        self.body.addWidget(Square(self.plot_widget), 1)
        self.body.addWidget(self.layer_planes)
        self.frame: PointField | None = None
        self.arrows_box.toggled.connect(self._show_views)
        self.layers_box.toggled.connect(self._show_views)
        self.setMinimumSize(260, 260)

        self.pending = np.zeros((0, 2), dtype=np.float64)
        self._extent: tuple | None = None
        self._rng = np.random.default_rng()
        self.plot.scene().sigMouseClicked.connect(self._on_scene_click)
        self.use_button.clicked.connect(self.send_drawn)
        self.clear_button.clicked.connect(self.clear_drawn)
        self._update_drawn()

    # ------------------------------------------------------------------------------ frames
    def show_frame(self, frame: PointField) -> None:
        x0, x1, y0, y1 = map(float, frame.extent)
        self.heat = np.asarray(frame.heat, dtype=np.float32)
        shades = as_u8(self.heat)
        self.heat_item.setImage(self._heat_colours[shades], autoLevels=False, levels=None)   # RGBA: drawn unscaled in colour
        self.heat_item.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        lines = np.asarray(frame.lines, dtype=np.float64)
        gaps = np.full((len(lines), 1, 2), np.nan)
        path = np.concatenate([lines, gaps], 1).reshape(-1, 2)
        self.lines_item.setData(path[:, 0], path[:, 1], connect="finite")
        real, fake = np.asarray(frame.real, dtype=np.float64), np.asarray(frame.fake, dtype=np.float64)
        self.real_item.setData(real[:, 0], real[:, 1], self._real_pen)
        self.fake_item.setData(fake[:, 0], fake[:, 1], self._fake_pen)
        extent = (x0, x1, y0, y1)
        if extent != self._extent:
            self._extent = extent
            self.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self.frame = frame
        self._show_views()
        arrows = " · arrows: G's gradient" if frame.pushes is not None and self.arrows_box.isChecked() else ""
        self.caption.setText(f"step {frame.step} · green: data · purple: G(z) · lines: G's noise grid · "
                             f"shade: D(x), green = 'real'{arrows}")

    def _show_views(self, *_) -> None:
        """The arrows and the layer planes the frame has, as the boxes ask."""
        frame = self.frame
        arrows = frame is not None and frame.pushes is not None and self.arrows_box.isChecked()
        if arrows:
            starts = np.asarray(frame.fake, dtype=np.float64)[:ARROWS_SHOWN]
            pushes = np.asarray(frame.pushes, dtype=np.float64)[:ARROWS_SHOWN]
            x0, x1 = float(frame.extent[0]), float(frame.extent[1])
            segments = arrow_segments(starts, pushes, ARROW_LENGTH * (x1 - x0))
            self.arrows_item.setData(segments[:, 0], segments[:, 1], connect="pairs")
        self.arrows_item.setVisible(arrows)
        layers = frame is not None and frame.layers is not None and self.layers_box.isChecked()
        if layers:
            self.layer_planes.show_layers(frame.layers, frame.layer_names)
        self.layer_planes.setVisible(layers)

    # ------------------------------------------------------------------------------ drawing
    def set_live(self, live: bool) -> None:
        super().set_live(live)
        self.draw_box.setEnabled(live)
        if not live:
            self.draw_box.setChecked(False)
        self._update_drawn()

    def _on_scene_click(self, event) -> None:
        if not self.draw_box.isChecked() or event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        if not self.view_box.sceneBoundingRect().contains(pos):
            return
        point = self.view_box.mapSceneToView(pos)
        self.add_blob(point.x(), point.y())
        event.accept()

    def add_blob(self, x: float, y: float) -> None:
        """Add BRUSH_POINTS points around (x, y) to the drawing (not yet sent)."""
        (x0, x1), _ = self.view_box.viewRange()
        blob = np.array([x, y]) + BRUSH_SPREAD * (x1 - x0) * self._rng.standard_normal((BRUSH_POINTS, 2))
        self.pending = np.concatenate([self.pending, blob])
        self._update_drawn()

    def clear_drawn(self) -> None:
        self.pending = np.zeros((0, 2), dtype=np.float64)
        self._update_drawn()

    def send_drawn(self) -> bool:
        """Make the drawn points the training data (the engine's ``set_points`` action)."""
        if len(self.pending) < MIN_DRAWN or not self.call("set_points", self.pending.tolist()):
            return False
        self.clear_drawn()
        self.draw_box.setChecked(False)
        return True

    def _update_drawn(self) -> None:
        self.drawn_item.setData(pos=self.pending)
        self.use_button.setText(f"Train on drawn ({len(self.pending)})")
        self.use_button.setEnabled(self.live and len(self.pending) >= MIN_DRAWN)
        self.clear_button.setEnabled(len(self.pending) > 0)
