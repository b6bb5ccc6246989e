"""The Gibbs chains panel: the live grid of persistent chains and the chain-history strip."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engines.boltzmann.frames import ChainHistory, ChainState
from engines.core.views import View
from studio.panels.base import Panel
from studio.panels.images import TILE_PAD, MosaicView, caption_label

HIGHLIGHT_MS = 800      # how long a clicked chain stays outlined


class ClickableImageItem(pg.ImageItem):
    """An ImageItem that reports left clicks in image pixel coordinates (x = column, y = row)."""
    clicked = QtCore.Signal(float, float)

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            pos = ev.pos()
            self.clicked.emit(pos.x(), pos.y())
        else:
            super().mouseClickEvent(ev)


class ChainsPanel(Panel):
    """Shows ``ChainState`` frames as a grid (probabilities or binary samples; a click on a chain
    calls the view's first method with its index, e.g. to restart it) and ``ChainHistory`` frames as
    a strip, one row of the first chains every ``every`` steps. The Gibbs steps the chains take per
    frame are the view's control."""

    MODES = ("probabilities", "binary samples")

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.addItems(self.MODES)
        self.mode_combo.setToolTip("Draw the chains' visible probabilities or the binary samples drawn from them")
        self.add_control_widget(self.mode_combo)

        hint = " · click a chain to restart it" if view.calls else ""
        self.caption = caption_label(f"{self.title}{hint}")
        self.grid_view = MosaicView(image_item=ClickableImageItem())
        self.picture_view = self.grid_view
        self.image_item = self.grid_view.image_item
        self.history_caption = caption_label("Chain history · no rows yet")
        self.history_view = MosaicView(left_label="Gibbs step", anchor_top=True)
        self.history_item = self.history_view.image_item

        grid_box = self._boxed(self.caption, self.grid_view)
        self.history_box = self._boxed(self.history_caption, self.history_view)
        self.history_box.hide()         # the chains have the space until the history has a row
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(grid_box)
        splitter.addWidget(self.history_box)
        splitter.setChildrenCollapsible(False)

        self.body.addWidget(splitter, 1)
        self.setMinimumSize(220, 240)

        self.highlight = QtWidgets.QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen("#ffa726", width=2, cosmetic=True))
        self.highlight.hide()
        self.grid_view.view.addItem(self.highlight, ignoreBounds=True)
        self._highlight_timer = QtCore.QTimer(self)
        self._highlight_timer.setSingleShot(True)
        self._highlight_timer.setInterval(HIGHLIGHT_MS)
        self._highlight_timer.timeout.connect(self.highlight.hide)

        self._state: ChainState | None = None
        self._history_steps: np.ndarray | None = None
        self.mode_combo.currentIndexChanged.connect(self._draw_state)
        self.image_item.clicked.connect(self._on_grid_clicked)

    @staticmethod
    def _boxed(caption: QtWidgets.QLabel, view: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(caption)
        layout.addWidget(view, 1)
        return box

    # ------------------------------------------------------------------------------ frames
    STATE_KIND = ChainState         # the kind of the chains' state this panel draws (a subclass may change it)

    def show_frame(self, frame) -> None:
        if isinstance(frame, self.STATE_KIND):
            self._state = frame
            self._draw_state()
        elif isinstance(frame, ChainHistory):
            self._draw_history(frame)
        else:
            raise TypeError(f"{type(self).__name__} draws {self.STATE_KIND.__name__} and ChainHistory frames, "
                            f"not {type(frame).__name__}")

    @property
    def show_samples(self) -> bool:
        return self.mode_combo.currentIndex() == 1

    def tiles(self, state) -> np.ndarray:
        """One picture per chain (the grid's tiles; a click on one restarts that chain): the
        probabilities, or the 0/1 samples as black and white pixels."""
        return state.samples.astype(np.uint8) * np.uint8(255) if self.show_samples else state.probs

    def caption_text(self, state) -> str:
        mean_gibbs = float(np.mean(state.gibbs_steps)) if len(state.gibbs_steps) else 0.0
        return f"{self.title} · {self.weights_text(state)} · {mean_gibbs:,.0f} Gibbs steps on average"

    def weights_text(self, state) -> str:
        """Which weights the chains sample: the step, and live, how long ago they were taken (the
        chains keep sampling between two refreshes of the training state)."""
        age = self.state_age
        return f"step {state.step}" + ("" if age is None else f" (weights {age:.1f} s old)")

    def _draw_state(self) -> None:
        state = self._state
        if state is None:
            return
        self.grid_view.show_tiles(self.tiles(state), state.columns)
        self.caption.setText(self.caption_text(state))

    def _draw_history(self, history: ChainHistory) -> None:
        rows, chains, image_h = history.rows.shape[:3]
        if rows == 0:
            return
        self.history_box.show()
        self.history_view.show_tiles(history.strip(), chains, reflow=False)
        if self._history_steps is None or not np.array_equal(self._history_steps, history.row_steps):
            self._history_steps = np.array(history.row_steps)
            centres = [r * (image_h + TILE_PAD) + image_h / 2 for r in range(rows)]
            labels = [(y, f"{s:,}") for y, s in zip(centres, history.row_steps, strict=True)]
            ends = [labels[0], labels[-1]] if rows > 1 else labels
            # first and last row always labelled; the rows between only when there is room
            self.history_view.plot.getAxis("left").setTicks([ends, labels[1:-1]])
        self.history_caption.setText(
            f"Chain history · first {chains} chains · a row every {history.every:,} Gibbs steps")

    # ------------------------------------------------------------------------------ clicks
    def chain_at(self, x: float, y: float) -> int | None:
        """Index of the chain whose tile holds image pixel (x, y), or None on padding or outside."""
        return None if self._state is None else self.grid_view.tile_at(x, y)

    def _on_grid_clicked(self, x: float, y: float) -> None:
        index = self.chain_at(x, y)
        if index is None or not self.view.calls:
            return
        if self.call(self.view.calls[0], index):
            self._outline(index)

    def _outline(self, index: int) -> None:
        """Outline chain ``index`` for a moment, so the user sees which one was picked."""
        self.highlight.setRect(self.grid_view.tile_rect(index))
        self.highlight.show()
        self._highlight_timer.start()
