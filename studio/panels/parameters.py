"""The weights-and-gradients panel (TensorBoard's Histograms and Distributions, one tensor at a time).

For the tensor picked in its list (``layer · param``), four plots: the histogram of the values and of
the last gradient at the frame's step (left), and their distribution over the steps recorded so far
(right): bands between the percentiles 0–100, 6.7–93.3, 15.9–84.1 and 30.9–69.1 (a normal
distribution's ±∞, ±1.5σ, ±1σ and ±0.5σ), darker inwards, with the median as a line.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from engines.core.parameters import ParameterStats, layer_of
from engines.core.views import View
from studio.panels.base import Panel
from studio.panels.images import caption_label, without_si_prefixes

ROWS = (("values", "#4fc3f7"), ("gradients", "#ffb74d"))
BAND_ALPHAS = (40, 70, 110, 160)        # outer band to inner band


def tensor_label(name: str) -> str:
    """``G.net.0.weight`` → ``G.net.0 · weight``; a tensor that is its own layer (an RBM's ``W``) as it is."""
    layer = layer_of(name)
    return name if layer == name else f"{layer} · {name[len(layer) + 1:]}"


class ParametersPanel(Panel):
    """Histogram now and percentile bands over steps, for the values and gradients of one tensor."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.tensor_box = QtWidgets.QComboBox()
        self.tensor_box.setToolTip("the parameter tensor shown (layer · parameter)")
        self.tensor_box.currentIndexChanged.connect(self._redraw)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.tensor_box)
        self.body.addLayout(top)
        self.plots = pg.GraphicsLayoutWidget()
        self.picture_view = self.plots
        self.body.addWidget(self.plots, 1)
        self.histograms: list[pg.PlotDataItem] = []
        self.bands: list[list[pg.FillBetweenItem]] = []
        self.band_edges: list[list[pg.PlotDataItem]] = []
        self.medians: list[pg.PlotDataItem] = []
        for row, (label, color) in enumerate(ROWS):
            hist_plot = without_si_prefixes(self.plots.addPlot(row=row, col=0))
            hist_plot.setLabel("left", f"{label} · count")
            hist_plot.setMenuEnabled(False)
            hist_plot.hideButtons()
            self.histograms.append(hist_plot.plot(stepMode="center", fillLevel=0, brush=pg.mkBrush(color + "90"),
                                                  pen=pg.mkPen(color)))
            band_plot = without_si_prefixes(self.plots.addPlot(row=row, col=1))
            band_plot.setLabel("left", label)
            band_plot.setLabel("bottom", "step")
            band_plot.setMenuEnabled(False)
            band_plot.hideButtons()
            edges, bands = [], []
            for alpha in BAND_ALPHAS:
                low, high = (pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0)) for _ in range(2))   # drawn by the fill
                band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(pg.mkColor(color).red(), pg.mkColor(color).green(),
                                                                      pg.mkColor(color).blue(), alpha))
                band_plot.addItem(low)
                band_plot.addItem(high)
                band_plot.addItem(band)
                edges.append((low, high))
                bands.append(band)
            self.band_edges.append(edges)
            self.bands.append(bands)
            self.medians.append(band_plot.plot(pen=pg.mkPen("w", width=1.5)))
        self.setMinimumSize(200, 160)
        self.frame: ParameterStats | None = None

    def show_frame(self, frame: ParameterStats) -> None:
        if not isinstance(frame, ParameterStats):
            raise TypeError(f"ParametersPanel draws ParameterStats frames, not {type(frame).__name__}")
        chosen = self.tensor_box.currentText()
        self.frame = frame
        labels = [tensor_label(name) for name in frame.names]
        if labels != [self.tensor_box.itemText(i) for i in range(self.tensor_box.count())]:
            self.tensor_box.blockSignals(True)
            self.tensor_box.clear()
            self.tensor_box.addItems(labels)
            self.tensor_box.setCurrentIndex(labels.index(chosen) if chosen in labels else 0)
            self.tensor_box.blockSignals(False)
        self._redraw()

    def select(self, name: str) -> None:
        """Show the tensor ``name`` (``layer.param``)."""
        self.tensor_box.setCurrentIndex(list(self.frame.names).index(name))

    def _redraw(self) -> None:
        frame, index = self.frame, self.tensor_box.currentIndex()
        if frame is None or not 0 <= index < len(frame.names):
            return
        steps = frame.history_steps.astype(np.float64)
        for row in range(len(ROWS)):
            low, high = (float(v) for v in frame.ranges[index, row])
            counts = frame.counts[index, row].astype(np.float64)
            if np.isfinite(low) and counts.sum() > 0:
                self.histograms[row].setData(np.linspace(low, high, len(counts) + 1), counts)
            else:
                self.histograms[row].setData([], [])
            levels = frame.history[:, index, row, :].astype(np.float64)       # (K, P)
            shown = np.isfinite(levels).all(axis=1)
            for band, (low_item, high_item) in enumerate(self.band_edges[row]):
                last = levels.shape[1] - 1 - band
                low_item.setData(steps[shown], levels[shown, band])
                high_item.setData(steps[shown], levels[shown, last])
            self.medians[row].setData(steps[shown], levels[shown, levels.shape[1] // 2])
        name = frame.names[index]
        gradient = "no gradient yet" if not np.isfinite(frame.ranges[index, 1, 0]) else (
            f"gradient in [{frame.ranges[index, 1, 0]:.3g}, {frame.ranges[index, 1, 1]:.3g}]")
        self.caption.setText(f"{self.title} · {name} · step {frame.step} · values in "
                             f"[{frame.ranges[index, 0, 0]:.3g}, {frame.ranges[index, 0, 1]:.3g}] · {gradient}")


__all__ = ["ParametersPanel"]
