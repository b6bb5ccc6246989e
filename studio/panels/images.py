"""Image panels: any frame's still picture (a grid of filters, reconstructions, samples...) drawn
as one mosaic.

The fast path, as in pyqtgraph's examples: one ``ImageItem`` per view, levels given explicitly
(no per-frame histogram), auto-range off and the view re-ranged only when the mosaic's shape
changes, so a frame costs one ``tile()`` and one texture upload.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.frames import as_u8, tile
from engines.core.views import View
from studio.panels.base import Panel


TILE_PAD = 1                # pixels between tiles, as tile() lays them out by default
ZOOM_SIZE = 128             # the hovered tile is shown about this many pixels tall
WHOLE_PIXEL_SHARE = 0.75    # a whole-pixel scale is used when it keeps at least this share of the fill


def without_si_prefixes(plot: pg.PlotItem) -> pg.PlotItem:
    """Turn off the automatic SI prefix of all four axes of ``plot``, shown or hidden: with it on,
    each axis rewrites its label (as HTML) at every change of the view's range, which was most of
    what redrawing sixteen linked curves cost."""
    for side in ("left", "bottom", "top", "right"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    return plot


def best_columns(n: int, tile_h: int, tile_w: int, width: float, height: float, pad: int = TILE_PAD) -> int:
    """The number of columns that lets ``n`` tiles of ``tile_h`` x ``tile_w`` fill a ``width`` x
    ``height`` view at the largest scale (ties: the fewer rows)."""
    if n <= 0 or width <= 0 or height <= 0:
        return max(1, n)
    best, best_scale = 1, -1.0
    for columns in range(1, n + 1):
        rows = -(-n // columns)
        scale = min(width / (columns * (tile_w + pad) - pad), height / (rows * (tile_h + pad) - pad))
        if scale > best_scale * (1 + 1e-9):
            best, best_scale = columns, scale
    return best


def mosaic_to_rgb8(picture: np.ndarray) -> np.ndarray:
    """Pixels (H, W) or (H, W, 3), uint8 or in [0, 1] -> uint8 RGB, for a QImage."""
    pixels = as_u8(picture)
    return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2) if pixels.ndim == 2 else pixels)


def rgba(pixels: np.ndarray) -> np.ndarray:
    """uint8 (H, W) grey or (H, W, 3) colour -> opaque (H, W, 4) RGBA (grey: one 32-bit
    multiply per pixel, R = G = B, A = 255, in memory order on a little-endian machine)."""
    if pixels.ndim == 2 and np.little_endian:
        return (pixels.astype(np.uint32) * 0x010101 | 0xFF000000).view(np.uint8).reshape(pixels.shape + (4,))
    out = np.empty(pixels.shape[:2] + (4,), np.uint8)
    out[..., :3] = pixels[..., None] if pixels.ndim == 2 else pixels
    out[..., 3] = 255
    return out


def zoomed_tile(image: np.ndarray, label: str) -> QtGui.QPixmap:
    """One tile enlarged by a whole factor to about ``ZOOM_SIZE`` pixels, ``label`` under it."""
    picture = mosaic_to_rgb8(image)
    h, w = picture.shape[:2]
    factor = max(1, ZOOM_SIZE // max(h, w))
    qimage = QtGui.QImage(picture.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888)
    band = 18
    pixmap = QtGui.QPixmap(w * factor, h * factor + band)
    pixmap.fill(QtGui.QColor("#26262a"))
    painter = QtGui.QPainter(pixmap)
    painter.drawImage(QtCore.QRect(0, 0, w * factor, h * factor), qimage)
    painter.setPen(QtGui.QColor("#e1e1e1"))
    painter.drawText(QtCore.QRect(0, h * factor, w * factor, band), QtCore.Qt.AlignmentFlag.AlignCenter, label)
    painter.end()
    return pixmap


class MosaicView(pg.GraphicsLayoutWidget):
    """A black, aspect-locked view showing one mosaic upright (row 0 at the top), scaled to fill the
    view (by whole screen pixels per image pixel when it fits at least once).

    ``show_tiles`` lays a set of images out itself: with ``reflow`` it picks the number of columns
    that fills the view's shape best (again when the view is resized), and hovering a tile shows it
    enlarged with its index. ``image_item`` may be a subclass of ``pg.ImageItem`` (the chains panel
    passes a clickable one); ``left_label`` turns on the left axis (the chain history labels its rows
    there); ``anchor_top`` keeps a mosaic that is wider than the view's shape at the top instead of
    centring it, so a strip that grows row by row builds downwards from the top.
    """

    def __init__(self, parent=None, image_item: pg.ImageItem | None = None, left_label: str | None = None,
                 anchor_top: bool = False):
        super().__init__(parent)
        self.anchor_top = anchor_top
        self.setBackground("k")
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.plot = without_si_prefixes(self.addPlot())
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
        self.mosaic: np.ndarray | None = None      # the picture shown, as it was given
        self.plot.addItem(self.image_item)
        self._shape: tuple[int, int] | None = None
        self._fitted_to: tuple[float, float] | None = None     # the view size the range was fitted to
        self._tiles: np.ndarray | None = None      # the images of the last show_tiles
        self._reflow = False
        self.columns = 1                           # columns of the mosaic shown (show_tiles)
        self.hovered: int | None = None            # the tile under the mouse
        self.zoom = QtWidgets.QLabel(self)
        self.zoom.setObjectName("tileZoom")
        self.zoom.hide()
        self.view.sigResized.connect(self._resized)
        self.scene().sigMouseMoved.connect(self._hover)
        self.setMinimumSize(64, 48)        # small: a short panel shrinks its pictures, whole, rather than cutting them

    def show_mosaic(self, mosaic: np.ndarray) -> None:
        """Draw ``mosaic`` ((H, W) grey or (H, W, 3) colour pixels, uint8 or in [0, 1]); re-range on
        a new shape. uint8 pixels take pyqtgraph's path without rescaling (no levels), as RGBA:
        Qt scales a 32-bit image to the screen about three times faster than an 8-bit grey one
        (measured: 0.4 against 1.2 ms for a 233-pixel mosaic drawn 700 pixels wide)."""
        self.mosaic = mosaic
        if mosaic.dtype == np.uint8:
            self.image_item.setImage(rgba(mosaic), autoLevels=False, levels=None)
        else:
            self.image_item.setImage(mosaic, autoLevels=False, levels=(0, 1))
        shape = mosaic.shape[:2]
        if shape != self._shape or self._fitted_to != (self.view.width(), self.view.height()):
            self._shape = shape
            self._fit()

    def show_tiles(self, images: np.ndarray, columns: int, reflow: bool = True, fill: float = 0.0) -> None:
        """Lay ``images`` (N, H, W[, 3]) out as a mosaic: ``columns`` wide, or (``reflow``) as many
        columns as fill the view best."""
        self._tiles, self._reflow = images, reflow
        n, h, w = images.shape[:3]
        self.columns = best_columns(n, h, w, self.view.width(), self.view.height()) if reflow else max(1, min(columns, n))
        self.show_mosaic(tile(images, self.columns, TILE_PAD, fill))

    def tile_at(self, x: float, y: float) -> int | None:
        """Index of the tile holding image pixel (x, y), or None on padding or outside."""
        if self._tiles is None or x < 0 or y < 0:
            return None
        n, h, w = self._tiles.shape[:3]
        col, x_in = divmod(int(x), w + TILE_PAD)
        row, y_in = divmod(int(y), h + TILE_PAD)
        if x_in >= w or y_in >= h or col >= self.columns:
            return None
        index = row * self.columns + col
        return index if index < n else None

    def tile_rect(self, index: int) -> QtCore.QRectF:
        """Where tile ``index`` lies in image pixels."""
        _, h, w = self._tiles.shape[:3]
        row, col = divmod(index, self.columns)
        return QtCore.QRectF(col * (w + TILE_PAD), row * (h + TILE_PAD), w, h)

    def _resized(self) -> None:
        if self._tiles is not None and self._reflow:
            n, h, w = self._tiles.shape[:3]
            if best_columns(n, h, w, self.view.width(), self.view.height()) != self.columns:
                self.show_tiles(self._tiles, self.columns, reflow=True)
        self._fit()

    def _fit(self) -> None:
        """Range the view on the whole mosaic, at a whole number of screen pixels per image pixel
        when that still fills most of the view (with ``anchor_top``, its top edge at the view's top)."""
        if self._shape is None:
            return
        height, width = self._shape
        view_w, view_h = self.view.width(), self.view.height()
        if view_w <= 0 or view_h <= 0:
            return
        self._fitted_to = (view_w, view_h)
        scale = min(view_w / width, view_h / height)
        if scale >= 1 and int(scale) >= WHOLE_PIXEL_SHARE * scale:
            scale = float(int(scale))
        span_x, span_y = view_w / scale, view_h / scale
        top = 0.0 if self.anchor_top else (height - span_y) / 2
        left = (width - span_x) / 2
        self.view.setRange(xRange=(left, left + span_x), yRange=(top, top + span_y), padding=0)

    def _hover(self, scene_pos: QtCore.QPointF) -> None:
        """Show the tile under the mouse enlarged, with its index, beside the cursor."""
        index = None
        if self._tiles is not None and self.image_item.sceneBoundingRect().contains(scene_pos):
            pos = self.image_item.mapFromScene(scene_pos)
            index = self.tile_at(pos.x(), pos.y())
        self.hovered = index
        if index is None:
            self.zoom.hide()
            return
        pixmap = zoomed_tile(self._tiles[index], f"#{index}")
        self.zoom.setPixmap(pixmap)
        self.zoom.resize(pixmap.size())
        point = self.mapFromScene(scene_pos)
        x = point.x() + 16 if point.x() + 16 + pixmap.width() < self.width() else point.x() - 16 - pixmap.width()
        y = min(max(0, point.y() - pixmap.height() // 2), max(0, self.height() - pixmap.height()))
        self.zoom.move(int(x), int(y))
        self.zoom.show()
        self.zoom.raise_()

    def leaveEvent(self, event) -> None:
        self.zoom.hide()
        super().leaveEvent(event)


class Caption(QtWidgets.QWidget):
    """One line of text that changes often (every frame, every status update) without costing a
    relayout: ``setText`` only repaints this widget. (A QLabel's ``setText`` asks its parent's
    layout to recompute, up to the main window and a repaint of it, several times a second.) Text
    wider than the widget is elided (at its end, or where ``elide`` says: a path in the middle),
    the whole of it in the tooltip. ``width_of`` fixes the width to fit that sample text (for the
    status bar); otherwise the caption takes the width it is given."""

    def __init__(self, text: str = "", scale: float = 1.0, width_of: str | None = None, parent=None,
                 elide: QtCore.Qt.TextElideMode = QtCore.Qt.TextElideMode.ElideRight):
        super().__init__(parent)
        self.elide = elide
        if scale != 1.0:
            font = self.font()
            font.setPointSizeF(font.pointSizeF() * scale)
            self.setFont(font)
        self.setAutoFillBackground(True)     # opaque: a new text repaints this widget, not its parents
        metrics = self.fontMetrics()
        self.setFixedHeight(metrics.height() + 2)
        if width_of is not None:
            self.setFixedWidth(metrics.horizontalAdvance(width_of) + 8)
        else:
            self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._text = ""
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - the Qt name, as QLabel's
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(self.fontMetrics().horizontalAdvance(self._text) + 8, self.height())

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        shown = self.fontMetrics().elidedText(self._text, self.elide, self.width() - 4)
        tip = self._text if shown != self._text else ""
        if tip != self.toolTip():
            self.setToolTip(tip)
        painter.drawText(self.rect().adjusted(2, 0, -2, 0),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, shown)


def caption_label(text: str) -> Caption:
    """A panel's caption: one line a little smaller than the body text, changing every frame."""
    return Caption(text, scale=0.9)


class StillPanel(Panel):
    """Shows any frame as its still picture (``frame.still()``: an image grid's mosaic,
    ``frame.columns`` wide), with a caption: the panel of every kind that needs no other."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.caption = caption_label(self.title)
        self.mosaic_view = MosaicView()
        self.picture_view = self.mosaic_view
        self.image_item = self.mosaic_view.image_item
        self.body.addWidget(self.caption)
        self.body.addWidget(self.mosaic_view, 1)
        self.setMinimumSize(160, 160)

    def show_frame(self, frame) -> None:
        tiles = frame.tiles()
        if tiles is not None:
            self.mosaic_view.show_tiles(tiles, len(tiles))      # reflowed to fill the panel
        else:
            self.mosaic_view.show_mosaic(frame.still())
        self.caption.setText(f"{self.title} · step {frame.step}")
