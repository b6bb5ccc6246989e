"""The panel a family adds for a picture kind of its own, shown with the toy's :class:`Bars`: a bar
chart whose bars the user can click (each click calls the view's ``poke`` on the display copy).
The studio takes it with one line in ``studio/panels/__init__.py``'s ``PANELS``
(``Bars: BarsPanel``); the tests add that line for the time of a test."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from studio.panels.base import Panel


class BarsPanel(Panel):
    def __init__(self, view, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.plot = pg.PlotWidget()
        self.plot.setYRange(0, 1)
        self.picture_view = self.plot
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#4fc3f7")
        self.plot.addItem(self.bars)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.body.addWidget(self.plot, 1)
        self.values = np.zeros(0, np.float32)

    def show_frame(self, frame) -> None:
        self.values = np.asarray(frame.values, np.float32)
        brushes = ["#ffa726" if i == frame.highlight else "#4fc3f7" for i in range(len(self.values))]
        self.bars.setOpts(x=np.arange(len(self.values)), height=self.values, brushes=brushes)

    def _clicked(self, event) -> None:
        x = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        index = int(round(x))
        if 0 <= index < len(self.values):
            self.call("poke", index)
