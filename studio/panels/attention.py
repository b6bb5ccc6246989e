"""DRAW's attention canvas: canvases glimpse by glimpse with the read and write windows drawn over
them as pyqtgraph items, a slider and a play button to scrub t = 1..T (playing while a run trains:
the view's motion is ``playback``, a new trace about once a second).

:class:`GlimpseCanvas` (the canvases with their windows) and :class:`GlimpsePlayer` (that canvas
with the step slider and play button) are shared with the captions panel. Window geometry comes
from ``engines.draw.frames`` (the same functions the exporter burns windows in with): the rectangle
the N×N grid covers, a dot per filter centre, line width growing with σ, opacity with the window's
strength (γ for a read, 1/γ for a write). Each canvas clips its windows to its own tile.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.frames import tile
from engines.core.views import View
from engines.draw.frames import (READ_COLOUR, WRITE_COLOUR, GlimpseTrace, line_width, opacity, window_box,
                                 window_centres)
from studio.panels.base import Panel
from studio.panels.dots import Dots, dot_pen
from studio.panels.images import MosaicView, caption_label

TILE_PAD = 1            # pixels between canvases, as tile() lays them out by default
PLAY_MS = 180           # one glimpse per tick while playing (5.6 a second: each costs the window several ms)
DOT_PX = (4, 2)         # filter-centre dots, screen pixels: for grids up to 5×5, and denser ones


class WindowItems:
    """One window over one canvas: its rectangle and its filter-centre dots, children of the
    canvas's clipping tile item."""

    def __init__(self, parent: QtWidgets.QGraphicsItem, colour, write: bool):
        self.colour, self.write = colour, write
        self.rect = QtWidgets.QGraphicsRectItem(parent)
        self.dots = Dots(parent)

    def show(self, params: np.ndarray, n: int) -> None:
        x0, y0, x1, y1 = window_box(params, n)
        alpha = opacity(params[4], self.write)
        alpha_32nds = round(alpha * 32)
        self.rect.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.rect.setPen(dot_pen(tuple(self.colour), alpha_32nds, round(2 * line_width(params[3]))))
        xs, ys = window_centres(params, n)
        self.dots.setData(xs, ys, dot_pen(tuple(self.colour), alpha_32nds, 2 * DOT_PX[n > 5], round_cap=True))
        self.set_visible(True)

    def set_visible(self, visible: bool) -> None:
        self.rect.setVisible(visible)
        self.dots.setVisible(visible)


class GlimpseCanvas(MosaicView):
    """Canvases at one step, tiled, each with its write window and (for the first ones) its read
    window drawn over it. ``tiles[s]`` is the clipping item of canvas s (placed at its tile);
    ``write_items[s]`` / ``read_items[s]`` its windows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tiles: list[QtWidgets.QGraphicsRectItem] = []
        self.write_items: list[WindowItems] = []
        self.read_items: list[WindowItems] = []

    def _tile(self, s: int) -> QtWidgets.QGraphicsRectItem:
        while len(self.tiles) <= s:
            item = QtWidgets.QGraphicsRectItem()
            item.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
            item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
            self.view.addItem(item, ignoreBounds=True)
            self.tiles.append(item)
            self.write_items.append(WindowItems(item, WRITE_COLOUR, write=True))
            self.read_items.append(WindowItems(item, READ_COLOUR, write=False))
        return self.tiles[s]

    def tile_origin(self, s: int, height: int, width: int, columns: int) -> tuple[int, int]:
        """Top-left corner (x, y) of canvas s in the mosaic."""
        row, col = divmod(s, columns)
        return col * (width + TILE_PAD), row * (height + TILE_PAD)

    def show_step(self, canvases: np.ndarray, columns: int, write: np.ndarray | None = None, write_n: int = 0,
                  read: np.ndarray | None = None, read_n: int = 0) -> None:
        """Draw ``canvases`` (S, H, W[, 3]) with their windows: ``write`` (S, 5), ``read`` (R, 5)."""
        count, height, width = canvases.shape[:3]
        columns = max(1, min(columns, count))
        self.show_mosaic(tile(canvases, columns, TILE_PAD))
        for s in range(max(count, len(self.tiles))):
            if s >= count:
                self.tiles[s].setVisible(False)
                continue
            item = self._tile(s)
            item.setVisible(True)
            item.setPos(*self.tile_origin(s, height, width, columns))
            item.setRect(QtCore.QRectF(0, 0, width, height))
            for items, windows, n in ((self.write_items[s], write, write_n), (self.read_items[s], read, read_n)):
                if windows is not None and s < len(windows):
                    items.show(windows[s], n)
                else:
                    items.set_visible(False)


class GlimpsePlayer(QtWidgets.QWidget):
    """A :class:`GlimpseCanvas` with a play button and a slider over t = 1..T. ``stepChanged(t)``
    fires when the shown step changes (slider, playing, or a new T clamping it); the owner draws
    step t. The chosen t (and playing) survive a new trace."""

    stepChanged = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = GlimpseCanvas()
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setIcon(self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play the drawing glimpse by glimpse (loops)")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setToolTip("Glimpse t: the canvas after t steps")
        self.step_label = QtWidgets.QLabel("t = 1 / 1")
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance("t = 000 / 000"))
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.step_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(row)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self.advance)
        self.play_button.toggled.connect(self.set_playing)
        self.slider.valueChanged.connect(self._on_value)
        self._steps = 0

    @property
    def t(self) -> int:
        return self.slider.value()

    def set_steps(self, steps: int) -> None:
        """A trace of ``steps`` glimpses arrived: the first one shows its last step; later ones keep t."""
        first = self._steps == 0
        if steps != self._steps:
            self._steps = steps
            self.slider.blockSignals(True)
            self.slider.setRange(1, max(1, steps))
            if first:
                self.slider.setValue(steps)
            self.slider.blockSignals(False)
        self._label()

    def set_playing(self, playing: bool) -> None:
        if self.play_button.isChecked() != playing:
            self.play_button.setChecked(playing)     # comes back here through toggled
            return
        icon = QtWidgets.QStyle.StandardPixmap.SP_MediaPause if playing else QtWidgets.QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        if playing:
            self.timer.start()
        else:
            self.timer.stop()

    def advance(self) -> None:
        """One glimpse on, back to 1 after T (nothing while the player is not on screen)."""
        if self.isVisible():
            self.slider.setValue(self.t % max(1, self._steps) + 1)

    def _on_value(self, t: int) -> None:
        self._label()
        self.stepChanged.emit(t)

    def _label(self) -> None:
        self.step_label.setText(f"t = {self.t} / {self._steps}")


class AttentionPanel(Panel):
    """Shows :class:`~engines.draw.frames.GlimpseTrace` frames: reconstructions of fixed test images
    (first row, with their read windows) and samples from fixed noise (second row), at the step the
    slider picks; while training each new trace replaces the old one at the same step."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.player = GlimpsePlayer()
        self.canvas = self.picture_view = self.player.canvas
        legend = caption_label("top: reconstructions of test images · bottom: samples · "
                               "green: read window · red: write window (line width ∝ σ, opacity ∝ strength)")
        self.body.addWidget(self.caption)
        self.body.addWidget(self.player, 1)
        self.body.addWidget(legend)
        self.setMinimumSize(260, 260)
        self.trace: GlimpseTrace | None = None
        self.player.stepChanged.connect(self._draw)

    def show_frame(self, frame: GlimpseTrace) -> None:
        if not isinstance(frame, GlimpseTrace):
            raise TypeError(f"AttentionPanel draws GlimpseTrace frames, not {type(frame).__name__}")
        self.trace = frame
        self.player.set_steps(frame.steps)
        self._draw(self.player.t)

    def set_live(self, live: bool) -> None:
        """A run that starts training plays its glimpses (the player's button pauses them)."""
        if live != self.live:
            self.player.set_playing(live)
        super().set_live(live)

    def _draw(self, t: int) -> None:
        trace = self.trace
        if trace is None:
            return
        t = min(max(t, 1), trace.steps)
        write, read = trace.windows(t)
        self.canvas.show_step(trace.canvases[:, t - 1], trace.columns, write, trace.write_n, read, trace.read_n)
        self.picture_shown()
        self.caption.setText(f"{self.title} · step {trace.step} · glimpse {t} of {trace.steps}"
                             + ("" if trace.attention else " · no attention (whole-image reads and writes)"))
