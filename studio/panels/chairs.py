"""The chair generator's slider panel: pick a chair, a view and a transformation, see what the
network makes of it beside the true render.

Sliders: chair id, azimuth, elevation, zoom, brightness. Moving one asks the display copy for
``set_view(chair, azimuth, elevation, zoom, brightness)`` (coalesced: at most one call per
:data:`CALL_MS` while dragging); the next :class:`~engines.deconv.frames.ChairView` frame shows
generated | mask | true render and says whether the view is a training view, a held-out view or
a new one. In replay the sliders show the recorded request and are disabled.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engines.core.views import View
from engines.deconv.frames import ChairView
from studio.panels.images import StillPanel

CALL_MS = 30

# name, label, minimum, maximum, scale (slider integer / scale = value), default
SLIDERS = (("chair", "chair", 0, 0, 1, 0), ("azimuth", "azimuth °", 0, 359, 1, 30),
           ("elevation", "elevation °", 0, 60, 1, 20), ("zoom", "zoom", 80, 125, 100, 100),
           ("brightness", "brightness", 60, 140, 100, 100))


class ChairSlidersPanel(StillPanel):
    """Draws ``ChairView`` frames over a row of sliders that call the view's first method."""

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(4, 0, 4, 0)
        self.sliders: dict[str, QtWidgets.QSlider] = {}
        self.value_labels: dict[str, QtWidgets.QLabel] = {}
        self.scales: dict[str, int] = {}
        for row, (name, label, low, high, scale, default) in enumerate(SLIDERS):
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(low, high)
            slider.setValue(default)
            slider.valueChanged.connect(self._slider_moved)
            value = QtWidgets.QLabel()
            value.setMinimumWidth(40)
            self.sliders[name], self.value_labels[name], self.scales[name] = slider, value, scale
            grid.addWidget(QtWidgets.QLabel(label), row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
        self.body.addLayout(grid)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CALL_MS)
        self._timer.timeout.connect(self._send)
        self._update_labels()
        self.set_live(False)
        self.setMinimumSize(240, 260)

    def values(self) -> tuple:
        """(chair, azimuth, elevation, zoom, brightness) as the sliders stand."""
        v = {name: slider.value() / self.scales[name] for name, slider in self.sliders.items()}
        return int(v["chair"]), v["azimuth"], v["elevation"], v["zoom"], v["brightness"]

    def _update_labels(self) -> None:
        for name, value in zip(self.sliders, self.values()):
            self.value_labels[name].setText(f"{value:g}")

    def _slider_moved(self, _value: int) -> None:
        self._update_labels()
        if self.live:
            self._timer.start()

    def _send(self) -> None:
        if self.view.calls:
            self.call(self.view.calls[0], *self.values())

    def set_live(self, live: bool) -> None:
        super().set_live(live)
        for slider in self.sliders.values():
            slider.setEnabled(live)

    def show_frame(self, frame: ChairView) -> None:
        if not isinstance(frame, ChairView):
            raise TypeError(f"ChairSlidersPanel draws ChairView frames, not {type(frame).__name__}")
        chair_slider = self.sliders["chair"]
        if chair_slider.maximum() != frame.chairs - 1:
            chair_slider.blockSignals(True)
            chair_slider.setMaximum(max(0, frame.chairs - 1))
            chair_slider.blockSignals(False)
        if not self.live:   # replay: the sliders show what was asked for
            shown = (frame.chair, frame.azimuth, frame.elevation, frame.zoom, frame.brightness)
            for (name, slider), value in zip(self.sliders.items(), shown):
                slider.blockSignals(True)
                slider.setValue(int(round(value * self.scales[name])))
                slider.blockSignals(False)
            self._update_labels()
        self.mosaic_view.show_mosaic(frame.still())
        self.caption.setText(f"{self.title} · step {frame.step} · chair {frame.chair} · azimuth {frame.azimuth:g}° "
                             f"· elevation {frame.elevation:g}° · {frame.status}")
