"""Image panels: any frame's still picture (a grid of filters, reconstructions, samples...) drawn
as one mosaic.

The fast path, as in pyqtgraph's examples: one ``ImageItem`` per view, levels given explicitly
(no per-frame histogram), auto-range off and the view re-ranged only when the mosaic's shape
changes, so a frame costs one ``tile()`` and one texture upload.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engines.core.views import View
from studio.panels.base import Panel


class MosaicView(pg.GraphicsLayoutWidget):
    """A black, aspect-locked view showing one mosaic upright (row 0 at the top).

    ``image_item`` may be a subclass of ``pg.ImageItem`` (the chains panel passes a clickable one);
    ``left_label`` turns on the left axis (the chain history labels its rows there); ``anchor_top``
    keeps a mosaic that is wider than the view's shape at the top instead of centring it, so a strip
    that grows row by row builds downwards from the top.
    """

    def __init__(self, parent=None, image_item: pg.ImageItem | None = None, left_label: str | None = None,
                 anchor_top: bool = False):
        super().__init__(parent)
        self.anchor_top = anchor_top
        self.setBackground("k")
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.plot = self.addPlot()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(enableMenu=False, enableViewBoxMenu=True)  # keeps "View All" after a zoom
        self.plot.hideAxis("bottom")
        if left_label:
            self.plot.setLabel("left", left_label)
        else:
            self.plot.hideAxis("left")
        self.view = self.plot.getViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.disableAutoRange()
        self.image_item = image_item if image_item is not None else pg.ImageItem()
        self.plot.addItem(self.image_item)
        self._shape: tuple[int, int] | None = None
        if anchor_top:
            self.view.sigResized.connect(self._fit)
        self.setMinimumSize(120, 120)

    def show_mosaic(self, mosaic: np.ndarray) -> None:
        """Draw ``mosaic`` ((H, W) grey or (H, W, 3) colour, values in [0, 1]); re-range on a new shape."""
        self.image_item.setImage(mosaic, autoLevels=False, levels=(0, 1))
        shape = mosaic.shape[:2]
        if shape != self._shape:
            self._shape = shape
            self._fit()

    def _fit(self) -> None:
        """Range the view on the whole mosaic (with ``anchor_top``, its top edge at the view's top)."""
        if self._shape is None:
            return
        height, width = self._shape
        view_aspect = self.view.height() / self.view.width() if self.view.width() > 0 else 0.0
        if self.anchor_top and height / width < view_aspect:
            self.view.setRange(xRange=(0, width), yRange=(0, width * view_aspect), padding=0.01)
        else:
            self.view.setRange(QtCore.QRectF(0, 0, width, height), padding=0.01)


def caption_label(text: str) -> QtWidgets.QLabel:
    """A one-line caption whose text changes every frame without relayouting its parent."""
    label = QtWidgets.QLabel(text)
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


class StillPanel(Panel):
    """Shows any frame as its still picture (``frame.still()``: an image grid's mosaic,
    ``frame.columns`` wide), with a caption: the panel of every kind that needs no other."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.mosaic_view = MosaicView()
        self.image_item = self.mosaic_view.image_item
        self.body.addWidget(self.caption)
        self.body.addWidget(self.mosaic_view, 1)
        self.setMinimumSize(160, 160)

    def show_frame(self, frame) -> None:
        self.mosaic_view.show_mosaic(frame.still())
        self.caption.setText(f"{self.title} · step {frame.step}")
