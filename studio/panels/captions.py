"""alignDRAW's captions panel: type a caption, watch it drawn glimpse by glimpse with the write
windows, and under the canvas the alignment over the words at each step (steps × words).

Typing asks the display copy for the caption (``set_caption``, one of the view's calls) after a
short pause, or at once on Enter; words outside the model's vocabulary are shown struck out in red
(the model leaves them out). A list of held-out compositions (digit and layout pairs never
trained on) tries one with a click. The canvas and its step slider are the attention panel's
:class:`~studio.panels.attention.GlimpsePlayer`.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engines.core.views import View
from engines.data.captions import split_words
from engines.draw.frames import CaptionTrace, heat_colours
from studio.panels.attention import GlimpsePlayer
from studio.panels.base import Panel
from studio.panels.images import caption_label

TYPING_PAUSE_MS = 600
UNKNOWN_STYLE = "color:#ff5252;text-decoration:line-through"
HEAT_LUT = (heat_colours(np.linspace(0, 1, 256)) * 255).astype(np.uint8)


class HeatMap(pg.GraphicsLayoutWidget):
    """The alignment of one caption: one row per step (1 at the top), one column per word (labels
    on the bottom axis), a line on the shown step."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("k")
        self.plot = self.addPlot()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.setLabel("left", "step")
        self.view = self.plot.getViewBox()
        self.view.invertY(True)
        self.image_item = pg.ImageItem()
        self.image_item.setLookupTable(HEAT_LUT)
        self.plot.addItem(self.image_item)
        self.marker = pg.InfiniteLine(angle=0, pen=pg.mkPen("w", width=1))
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.words: tuple[str, ...] = ()
        self.setMinimumHeight(120)

    def show_alignment(self, alignment: np.ndarray, words: tuple[str, ...]) -> None:
        """``alignment`` (T, L) over ``words``."""
        steps = alignment.shape[0]
        self.image_item.setImage(alignment, autoLevels=False, levels=(0, max(float(alignment.max(initial=0)), 1e-6)))
        if words != self.words or self.view.viewRange()[1][1] != steps:
            self.words = words
            self.plot.getAxis("bottom").setTicks([[(k + 0.5, w) for k, w in enumerate(words)]])
            every = max(1, steps // 8)
            self.plot.getAxis("left").setTicks([[(t - 0.5, str(t)) for t in range(1, steps + 1, every)]])
            self.view.setRange(xRange=(0, max(len(words), 1)), yRange=(0, steps), padding=0)

    def mark_step(self, t: int) -> None:
        self.marker.setPos(t - 0.5)


class CaptionsPanel(Panel):
    """Shows :class:`~engines.draw.frames.CaptionTrace` frames (rows of samples, one row per
    caption, the typed caption first) and asks for the typed caption through the view's call."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.caption_box = QtWidgets.QLineEdit()
        self.caption_box.setPlaceholderText("type a caption, e.g. the digit 3 is on the left of the digit 5 (Enter draws it)")
        self.words_label = QtWidgets.QLabel()
        self.words_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.words_label.setWordWrap(True)
        self.player = GlimpsePlayer()
        self.canvas = self.picture_view = self.player.canvas
        self.row_combo = QtWidgets.QComboBox()
        self.row_combo.setToolTip("Whose alignment the heat map shows (the first sample of that caption)")
        self.heat_map = HeatMap()
        self.suggestions = QtWidgets.QListWidget()
        self.suggestions.setToolTip("Compositions held out of training: click one to draw it")
        self.suggestions.setWordWrap(True)
        self.suggestions.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.player, 3)
        left_layout.addWidget(self.row_combo)
        left_layout.addWidget(self.heat_map, 2)
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QtWidgets.QLabel("Novel compositions"))
        right_layout.addWidget(self.suggestions, 1)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 220])
        splitter.setChildrenCollapsible(False)

        self.body.addWidget(self.caption)
        self.body.addWidget(self.caption_box)
        self.body.addWidget(self.words_label)
        self.body.addWidget(splitter, 1)
        self.setMinimumSize(360, 420)

        self.typing_timer = QtCore.QTimer(self)
        self.typing_timer.setSingleShot(True)
        self.typing_timer.setInterval(TYPING_PAUSE_MS)
        self.typing_timer.timeout.connect(self.submit)
        self.caption_box.textEdited.connect(self._on_edited)
        self.caption_box.returnPressed.connect(self.submit)
        self.suggestions.itemClicked.connect(self._on_suggestion)
        self.row_combo.currentIndexChanged.connect(self._draw_heat_map)
        self.player.stepChanged.connect(self._draw)
        self.trace: CaptionTrace | None = None
        self.vocabulary: frozenset[str] = frozenset()

    # ------------------------------------------------------------------------------ typing
    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` outside the vocabulary of the last frame (none known before one)."""
        return [w for w in split_words(text) if self.vocabulary and w not in self.vocabulary]

    def _on_edited(self, text: str) -> None:
        self._mark_words(text)
        self.typing_timer.start()

    def _mark_words(self, text: str, note: str = "") -> None:
        words = split_words(text)
        unknown = set(self.unknown_words(text))
        shown = " ".join(f'<span style="{UNKNOWN_STYLE}">{html.escape(w)}</span>' if w in unknown else html.escape(w)
                         for w in words)
        if unknown:
            note = note or f"not in the vocabulary, left out: {', '.join(sorted(unknown))}"
        self.words_label.setText(shown + (f" <i>— {html.escape(note)}</i>" if note else ""))
        self.caption_box.setStyleSheet("QLineEdit { border: 1px solid #ff5252; }" if unknown else "")

    def submit(self) -> None:
        """Ask the display copy to draw the caption in the box (now: Enter, or after a pause)."""
        self.typing_timer.stop()
        text = self.caption_box.text().strip()
        if not split_words(text):
            self._mark_words("", "type a caption first, e.g. the digit 7 is at the top left of the image")
            return
        if self.vocabulary and not set(split_words(text)) - set(self.unknown_words(text)):
            self._mark_words(text, "none of these words is in the vocabulary: nothing to draw")
            return
        if not self.call("set_caption", text):
            self._mark_words(text, "captions can be drawn while a run trains (this is a replay)")

    def _on_suggestion(self, item: QtWidgets.QListWidgetItem) -> None:
        self.caption_box.setText(item.text())
        self._mark_words(item.text())
        self.submit()

    # ------------------------------------------------------------------------------ frames
    def show_frame(self, frame: CaptionTrace) -> None:
        if not isinstance(frame, CaptionTrace):
            raise TypeError(f"CaptionsPanel draws CaptionTrace frames, not {type(frame).__name__}")
        previous = self.trace
        self.trace = frame
        self.vocabulary = frozenset(frame.vocabulary)
        if previous is None or previous.captions != frame.captions or previous.typed != frame.typed:
            index = self.row_combo.currentIndex()
            self.row_combo.blockSignals(True)
            self.row_combo.clear()
            self.row_combo.addItems([("typed: " if frame.typed and r == 0 else "") + c
                                     for r, c in enumerate(frame.captions)])
            self.row_combo.setCurrentIndex(0 if frame.typed and (previous is None or not previous.typed)
                                           else min(max(index, 0), len(frame.captions) - 1))
            self.row_combo.blockSignals(False)
        if previous is None or previous.suggestions != frame.suggestions:
            self.suggestions.clear()
            self.suggestions.addItems(list(frame.suggestions))
        if self.caption_box.text():
            self._mark_words(self.caption_box.text())
        self.player.set_steps(frame.steps)
        self._draw(self.player.t)
        self._draw_heat_map()

    def _draw(self, t: int) -> None:
        trace = self.trace
        if trace is None:
            return
        t = min(max(t, 1), trace.steps)
        self.canvas.show_step(trace.canvases[:, t - 1], trace.columns, trace.write[:, t - 1], trace.write_n)
        self.picture_shown()
        self.heat_map.mark_step(t)
        rows = len(trace.captions)
        self.caption.setText(f"{self.title} · step {trace.step} · glimpse {t} of {trace.steps} · "
                             f"{rows} caption{'s' if rows > 1 else ''}, one per row"
                             + (" (the first is yours)" if trace.typed else ""))

    def set_live(self, live: bool) -> None:
        """A run that starts training plays its glimpses (the player's button pauses them)."""
        if live != self.live:
            self.player.set_playing(live)
        super().set_live(live)

    def _draw_heat_map(self) -> None:
        trace = self.trace
        if trace is None:
            return
        row = max(self.row_combo.currentIndex(), 0)
        self.heat_map.show_alignment(trace.row_alignment(row), trace.words[row])
        self.heat_map.mark_step(min(self.player.t, trace.steps))
