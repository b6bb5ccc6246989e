"""The curves panel: every scalar an engine reports, live, one small plot per metric (each its own
y scale, x axes linked), with TensorBoard-style smoothing, step or wall-time x axis, log y and a
hover read-out.

Built to stay smooth with a million points per curve: values go into NumPy buffers that double
when full (amortised O(1) per row, never ``np.append``), each curve is one ``PlotDataItem`` with
peak downsampling and clip-to-view, smoothing is computed only for points not smoothed yet, and a
redraw happens at most once per ``add_rows`` call, only while the panel is visible, and less often
when redraws get expensive.

Painting, not data, is the price of a live plot: auto-range fitted to data that grow every frame
moves the axes every frame, and re-laying out tick text costs several ms per axis. So each plot
holds an invisible "headroom box" item that spans the data plus a margin and only grows in steps;
the view auto-ranges to it, and its axes change only when the data leave the box. (A grid doubles
the paint time; there is none.)
"""
from __future__ import annotations

import bisect
import math
import time

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtWidgets

from engines.records.series import ScalarSeries
from studio.panels.images import without_si_prefixes
from studio.panels.step_cursor import StepCursor, nearest

PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#4db6ac", "#f06292")
RAW_ALPHA = 70              # opacity (of 255) of the raw curve drawn behind a smoothed one
MIN_REDRAW_INTERVAL_S = 1.0   # live curves are redrawn at most once a second (a redraw of the RBM's
                              # eight plots costs ~6 ms: twice a second took 1.3 % of a core from training)
REDRAW_HOLDOFF = 50.0       # after a redraw, wait this many times its cost before the next: the curves
MAX_HOLDOFF_S = 5.0         # take at most 2 % of the window's time (alignDRAW's 16 plots: ~25 ms a redraw)
X_AXES = ("step", "wall time")
X_HEADROOM = 0.2            # a growing headroom box reaches this fraction of the x extent past the data
Y_HEADROOM = 0.1            # and this fraction of the y extent above and below it
PLOT_MIN_HEIGHT = 120       # pixels a plot keeps (more plots than fit: the panel scrolls)
PLOT_MIN_WIDTH = 380        # plots are laid out in as many columns of at least this width as fit
TITLE_COLOR = "#dddddd"
MARKER_COLOR = "#ffa726"    # live edits and actions, marked on every plot
X_LABELS = {"step": "step", "wall time": "wall time (s)"}


class _Series(ScalarSeries):
    """One metric's data (:class:`~engines.records.series.ScalarSeries`) and the curves that draw
    it in its plot: the smoothed curve over a faint raw one, an invisible headroom box, a hover
    marker."""

    def __init__(self, name: str, plot: pg.PlotItem, color: str):
        super().__init__(name)
        self.plot = plot
        self.y_box: tuple[float, float] | None = None   # headroom box's y extent, in display units
        self.log_blank = False                  # on a log axis with no value > 0 to show
        self.set_title(name)
        self.raw_curve, self.curve = smoothed_curves(plot, color)
        self.headroom = pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0))    # invisible; the view fits it
        plot.addItem(self.headroom)
        self.marker = pg.PlotDataItem(symbol="o", symbolSize=7, pen=None, symbolBrush=color, symbolPen="w")
        self.marker.hide()
        plot.addItem(self.marker, ignoreBounds=True)

    def set_title(self, text: str) -> None:
        """The metric's name above its plot, outside the data."""
        self.plot.setTitle(text, size="9pt", color=TITLE_COLOR, justify="left")

    def replace(self, steps, walls, values) -> None:
        self.y_box = None
        super().replace(steps, walls, values)


def smoothed_curves(plot: pg.PlotItem, color: str, name: str | None = None) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
    """A faint raw curve (drawn behind) and the main curve of one series, in ``plot``."""
    faint = pg.mkColor(color)
    faint.setAlpha(RAW_ALPHA)
    raw = pg.PlotDataItem(pen=pg.mkPen(faint, width=1), connect="finite")
    raw.setZValue(-1)
    main = pg.PlotDataItem(pen=pg.mkPen(color, width=1), connect="finite", name=name)
    plot.addItem(raw)              # each takes the plot's downsampling and clip-to-view settings
    plot.addItem(main)
    return raw, main


def draw_smoothed(series: ScalarSeries, raw_curve: pg.PlotDataItem, curve: pg.PlotDataItem, x: np.ndarray,
                  weight: float) -> None:
    """The series' values at ``x``: smoothed (weight > 0) over the faint raw curve, or raw alone."""
    raw = series.values[:series.n]
    if weight > 0:
        curve.setData(x, series.smoothed_values(weight))
        raw_curve.setData(x, raw)
    else:
        curve.setData(x, raw)
        raw_curve.clear()


def smoothing_control() -> tuple[QtWidgets.QSlider, QtWidgets.QLabel]:
    """The smoothing weight's slider (0 to 0.99, in hundredths) and the label that shows it."""
    slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    slider.setRange(0, 99)
    slider.setFixedWidth(110)
    slider.setToolTip("EMA smoothing weight, debiased as in TensorBoard")
    return slider, QtWidgets.QLabel(smoothing_text(0))


def add_smoothing_control(row: QtWidgets.QHBoxLayout, slider: QtWidgets.QSlider, value: QtWidgets.QLabel) -> None:
    row.addWidget(QtWidgets.QLabel("Smoothing"))
    row.addWidget(slider)
    row.addWidget(value)


def smoothing_text(value: int) -> str:
    return f"{value / 100:.2f}"


class CurvesPanel(QtWidgets.QWidget):
    """Live scalar curves. Feed it with ``add_rows`` (live) or ``set_series`` (a recorded run)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.smoothing_slider, self.smoothing_value = smoothing_control()
        self.x_axis_combo = QtWidgets.QComboBox()
        self.x_axis_combo.addItems(X_AXES)
        self.x_axis_combo.setToolTip("x axis: training step, or seconds since the first row")
        self.log_check = QtWidgets.QCheckBox("log y")
        self.log_check.setToolTip("Logarithmic y axes (values <= 0 are left out)")

        toolbar = QtWidgets.QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 0, 0)
        add_smoothing_control(toolbar, self.smoothing_slider, self.smoothing_value)
        toolbar.addSpacing(8)
        toolbar.addWidget(QtWidgets.QLabel("x"))
        toolbar.addWidget(self.x_axis_combo)
        toolbar.addSpacing(8)
        toolbar.addWidget(self.log_check)
        toolbar.addStretch(1)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.ci.layout.setContentsMargins(0, 0, 4, 0)
        self.plots.ci.layout.setVerticalSpacing(2)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.plots)
        self.readout = QtWidgets.QLabel("Hover a curve to read its values")
        self.readout.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(toolbar)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.readout)
        self.setMinimumSize(240, 160)

        self._series: dict[str, _Series] = {}
        self._columns = 1
        self._markers: list[tuple[int, str]] = []          # (step, text) of live edits and actions
        self._marker_lines: list[tuple[pg.InfiniteLine, int]] = []
        self._t0: float | None = None          # wall time of the first row: wall-time axis origin
        self._x_box: tuple[float, float] | None = None   # headroom boxes' x extent (shared: x linked)
        self._stale: set[str] = set()          # series whose curves lag their buffers
        self._redraw_cost = 0.0
        self._last_redraw_end = 0.0
        self._redraw_timer = QtCore.QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw_made)
        self.cursor = StepCursor(self._marker_x, self._step_at, self)   # a recorded run's step, on every plot
        self._waiting: dict[str, list] = {}     # rows of metrics whose plots are not made yet
        self._closing = False
        self._plot_timer = QtCore.QTimer(self)  # makes one of those plots per turn of the event loop
        self._plot_timer.setInterval(0)
        self._plot_timer.timeout.connect(self._make_next_plot)

        self.smoothing_slider.valueChanged.connect(self._on_smoothing_changed)
        self.x_axis_combo.currentIndexChanged.connect(self._on_axes_changed)
        self.log_check.toggled.connect(self._on_axes_changed)
        self.plots.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plots.scene().sigMouseClicked.connect(self.cursor.clicked)
        self.scroll.verticalScrollBar().valueChanged.connect(self._request_redraw)   # stale plots come into view

    # ------------------------------------------------------------------------------ data in
    def add_rows(self, rows: list[tuple[int, float, dict[str, float]]]) -> None:
        """Append (step, wall time, {metric: value}) rows. A metric seen for the first time gets a
        plot in a turn of the event loop of its own (a plot costs ~30 ms to make: DRAW's fifteen
        metrics at once kept the window from painting for half a second); its rows wait till then."""
        if not rows or self._closing:
            return
        grouped: dict[str, tuple[list, list, list]] = {}
        for step, wall, values in rows:
            for name, value in values.items():
                columns = grouped.get(name)
                if columns is None:
                    columns = grouped[name] = ([], [], [])
                columns[0].append(step)
                columns[1].append(wall)
                columns[2].append(value)
        self._note_first_wall(rows[0][1])
        for name, columns in grouped.items():
            if name in self._series:
                self._series[name].extend(columns[0], columns[1], np.asarray(columns[2], dtype=np.float64))
                self._stale.add(name)
            else:
                self._waiting.setdefault(name, []).append(columns)
                self._plot_timer.start()
        self._request_redraw()

    def _make_next_plot(self) -> None:
        if not self._waiting or not (shiboken6.isValid(self.plots) and shiboken6.isValid(self.plots.ci)):
            # none left, or the window closed
            self._drop_waiting_plots()
            return
        name = next(iter(self._waiting))
        try:
            series = self._get_series(name)
        except RuntimeError:        # the window closed under it: its plot layout's C++ side is gone
            self._drop_waiting_plots()
            return
        for steps, walls, values in self._waiting.pop(name):
            series.extend(steps, walls, np.asarray(values, dtype=np.float64))
        self._stale.add(name)
        self._request_redraw()

    def _drop_waiting_plots(self) -> None:
        if shiboken6.isValid(self._plot_timer):
            self._plot_timer.stop()
        self._waiting.clear()

    def stop_making_plots(self) -> None:
        """The window is closing: no plot is made any more, and rows still arriving (a run's last
        pull) are dropped, so no plot is made while Qt deletes the window."""
        self._closing = True
        self._drop_waiting_plots()

    def _make_waiting_plots(self) -> None:
        """Every plot still to be made, now (before reading or drawing the curves)."""
        while self._waiting:
            self._make_next_plot()

    def set_series(self, name: str, steps, walls, values) -> None:
        """Replace the whole series ``name`` (e.g. when replaying a recorded run)."""
        walls = np.asarray(walls, dtype=np.float64)
        if len(walls):
            self._note_first_wall(float(walls.min()))
        self._get_series(name).replace(steps, walls, np.asarray(values, dtype=np.float64))
        self._x_box = None                      # the x extent may have shrunk
        self._stale.add(name)
        self._request_redraw()

    def clear(self) -> None:
        """Forget every series and marker and remove their plots."""
        self.plots.clear()
        self._series.clear()
        self._waiting.clear()
        self._markers.clear()
        self._marker_lines.clear()
        self.cursor.forget()
        self.cursor.set_step(None)
        self._stale.clear()
        self._t0 = None
        self._x_box = None
        self.readout.setText("Hover a curve to read its values")

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, wall times, values) of ``name``: views of the raw buffers, trimmed to length."""
        self._make_waiting_plots()
        s = self._series[name]
        return s.steps[:s.n], s.walls[:s.n], s.values[:s.n]

    def names(self) -> list[str]:
        return [*self._series, *self._waiting]

    def _note_first_wall(self, wall: float) -> None:
        if self._t0 is None or wall < self._t0:
            self._t0 = wall
            if not self._x_is_step:
                self._x_box = None
                self._stale.update(self._series)   # every wall-time x moved

    def _get_series(self, name: str) -> _Series:
        s = self._series.get(name)
        if s is None:
            row, col = divmod(len(self._series), self._columns)
            plot = without_si_prefixes(self.plots.addPlot(row=row, col=col))
            plot.setMenuEnabled(enableMenu=False, enableViewBoxMenu=True)
            plot.setLabel("bottom", X_LABELS[self.x_axis_combo.currentText()])
            plot.setLogMode(False, self.log_check.isChecked())
            plot.setDownsampling(auto=True, mode="peak")   # draw ~ a few points per pixel column
            plot.setClipToView(True)                      # and only those in view once zoomed
            plot.getAxis("left").setWidth(48)      # equal widths keep the linked x axes aligned
            if self._series:
                plot.setXLink(next(iter(self._series.values())).plot)
            s = self._series[name] = _Series(name, plot, PALETTE[len(self._series) % len(PALETTE)])
            for step, text in self._markers:
                self._add_marker_line(plot, step, text, labelled=len(self._series) == 1)
            self.cursor.attach(plot)
            self._fit_height()
        return s

    # ------------------------------------------------------------------------------ layout
    def _fit_height(self) -> None:
        """Each plot keeps a readable height: more rows than fit scroll."""
        rows = -(-len(self._series) // self._columns)
        self.plots.setMinimumHeight(rows * PLOT_MIN_HEIGHT)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        columns = max(1, self.scroll.viewport().width() // PLOT_MIN_WIDTH)
        if columns != self._columns:
            self._columns = columns
            plots = [s.plot for s in self._series.values()]
            for plot in plots:
                self.plots.removeItem(plot)
            for i, plot in enumerate(plots):
                self.plots.addItem(plot, *divmod(i, columns))
            self._fit_height()

    # ------------------------------------------------------------------------------ markers
    def add_markers(self, markers: list[tuple[int, str]]) -> None:
        """Mark live edits and actions (``(step, text)``) with a vertical line on every plot; the
        text labels the line on the first plot (hover any line for it)."""
        for step, text in markers:
            self._markers.append((int(step), text))
            for i, s in enumerate(self._series.values()):
                self._add_marker_line(s.plot, int(step), text, labelled=i == 0)

    def _add_marker_line(self, plot: pg.PlotItem, step: int, text: str, labelled: bool) -> None:
        line = pg.InfiniteLine(pos=self._marker_x(step), angle=90, movable=False,
                               pen=pg.mkPen(MARKER_COLOR, width=1, style=QtCore.Qt.PenStyle.DashLine),
                               label=text if labelled else None,
                               labelOpts={"position": 0.97, "color": MARKER_COLOR,   # hangs down from the top:
                                          "anchors": [(0, 0), (0, 0)]})                 # inside the plot
        line.setToolTip(f"{text} (step {step:,})")
        plot.addItem(line, ignoreBounds=True)
        self._marker_lines.append((line, step))

    def _marker_x(self, step: int) -> float:
        """A step on the x axis: itself, or (wall-time axis) the wall time of the nearest row."""
        if self._x_is_step or not self._series or self._t0 is None:
            return float(step)
        s = next(iter(self._series.values()))
        if s.n == 0:
            return 0.0
        i = min(bisect.bisect_left(s.steps[:s.n], step), s.n - 1)
        return float(s.walls[i] - self._t0)

    def _step_at(self, x: float) -> int:
        """The step at ``x`` on the x axis: x itself, or (wall-time axis) the step of the nearest row."""
        if self._x_is_step or not self._series or self._t0 is None:
            return round(x)
        s = next(iter(self._series.values()))
        if s.n == 0:
            return round(x)
        return int(s.steps[nearest(s.walls[:s.n] - self._t0, x)])

    def markers(self) -> list[tuple[int, str]]:
        return list(self._markers)

    # ------------------------------------------------------------------------------ drawing
    @property
    def smoothing(self) -> float:
        return self.smoothing_slider.value() / 100.0

    @property
    def _x_is_step(self) -> bool:
        return self.x_axis_combo.currentIndex() == 0

    def _request_redraw(self) -> None:
        """Redraw now, unless the last redraw was recent: then once its hold-off ends (at least
        ``MIN_REDRAW_INTERVAL_S``, longer after a costly redraw)."""
        if self._redraw_timer.isActive():
            return
        holdoff = min(MAX_HOLDOFF_S, max(MIN_REDRAW_INTERVAL_S, REDRAW_HOLDOFF * self._redraw_cost))
        wait = holdoff - (time.perf_counter() - self._last_redraw_end)
        if wait <= 0:
            self._redraw_made()
        else:
            self._redraw_timer.start(max(1, int(wait * 1000)))

    def redraw(self) -> None:
        """Push every stale series to its curves now, making the plots still to be made first
        (nothing happens while the panel is hidden)."""
        self._make_waiting_plots()
        self._redraw_made(scrolled_away_too=True)

    def _redraw_made(self, scrolled_away_too: bool = False) -> None:
        """Push the stale series of the plots made so far (a live redraw: the others' plots are
        made one per turn of the event loop, each redrawn when it is), of those in view unless
        ``scrolled_away_too`` (the others wait until they are scrolled into view: alignDRAW's
        sixteen plots redrawn once a second took a tenth of a core, four of them in view)."""
        self._redraw_timer.stop()
        if not shiboken6.isValid(self.plots.ci):             # the window closed: its plots are gone
            return
        if not self._stale or not self.isVisible():
            return
        started = time.perf_counter()
        weight = self.smoothing
        drawn = [self._series[name] for name in self._stale
                 if scrolled_away_too or self._in_view(self._series[name].plot)]
        for s in drawn:
            self._draw(s, weight)
        self._stale.difference_update(s.name for s in drawn)
        self._fit_headroom(drawn)
        self._last_redraw_end = time.perf_counter()
        self._redraw_cost = self._last_redraw_end - started

    def _in_view(self, plot: pg.PlotItem) -> bool:
        """Whether any of ``plot`` shows in the scroll area's viewport."""
        shown = self.scroll.viewport().rect().translated(0, self.scroll.verticalScrollBar().value())
        return self.plots.mapFromScene(plot.sceneBoundingRect()).boundingRect().intersects(shown)

    def _draw(self, s: _Series, weight: float) -> None:
        if s.n == 0:
            return
        x = s.steps[:s.n] if self._x_is_step else s.walls[:s.n] - self._t0
        draw_smoothed(s, s.raw_curve, s.curve, x, weight)
        blank = self.log_check.isChecked() and s.positive_extent.empty
        if blank != s.log_blank:
            s.log_blank = blank
            s.set_title(f"{s.name} · no value > 0 for a log axis" if blank else s.name)
            if blank:
                s.plot.setYRange(0, 1)      # log10 space: 1 to 10, instead of a range made of NaN
            else:
                s.plot.enableAutoRange(y=True)

    def _fit_headroom(self, drawn: list[_Series]) -> None:
        """Grow the headroom boxes that the drawn data left (all of them when the x box grows).

        A new box fits the data tightly (a replayed run fills the plot); a box that the data outgrow
        gets headroom, so live data move the axes only now and then. A smoothed curve needs no room
        of its own: a debiased EMA is a weighted mean of the values.
        """
        extents = [s.step_extent if self._x_is_step else s.wall_extent for s in self._series.values()]
        extents = [e for e in extents if not e.empty]
        if not extents:
            return
        offset = 0.0 if self._x_is_step else self._t0
        x_lo, x_hi = min(e.lo for e in extents) - offset, max(e.hi for e in extents) - offset
        x_moved = self._x_box is None or x_lo < self._x_box[0] or x_hi > self._x_box[1]
        if x_moved:
            room = 0.0 if self._x_box is None else X_HEADROOM * max(x_hi - x_lo, 1.0)
            self._x_box = (x_lo, x_hi + room)
        log_y = self.log_check.isChecked()
        for s in self._series.values() if x_moved else drawn:
            extent = s.y_extent(log_y)
            y_moved = extent is not None and (s.y_box is None or extent[0] < s.y_box[0] or extent[1] > s.y_box[1])
            if y_moved:
                margin = 0.0 if s.y_box is None else Y_HEADROOM * ((extent[1] - extent[0]) or abs(extent[1]) or 1.0)
                s.y_box = (extent[0] - margin, extent[1] + margin)
            if x_moved or y_moved:
                y_box = [math.nan, math.nan] if s.y_box is None else list(s.y_box)
                s.headroom.setData(list(self._x_box), np.power(10.0, y_box) if log_y else y_box)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._request_redraw()

    def _on_smoothing_changed(self, value: int) -> None:
        self.smoothing_value.setText(smoothing_text(value))
        for s in self._series.values():
            s.reset_smoothing()
        self._stale.update(self._series)
        self._request_redraw()

    def _on_axes_changed(self) -> None:
        self._make_waiting_plots()             # the user asked: every plot changes now
        log_y = self.log_check.isChecked()
        self._x_box = None
        for line, step in self._marker_lines:
            line.setValue(self._marker_x(step))
        self.cursor.replace()
        for s in self._series.values():
            s.plot.setLabel("bottom", X_LABELS[self.x_axis_combo.currentText()])
            s.plot.setLogMode(False, log_y)
            s.y_box = None
            s.marker.hide()
        self._stale.update(self._series)
        self.redraw()
        for s in self._series.values():
            if not s.log_blank:
                s.plot.enableAutoRange()

    # ------------------------------------------------------------------------------ hover
    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        """Under the mouse: the row of the hovered metric nearest (in x) to it, and every metric's
        value at that row's step."""
        for s in self._series.values():
            view = s.plot.getViewBox()
            if s.n == 0 or not view.sceneBoundingRect().contains(scene_pos):
                continue
            x = view.mapSceneToView(scene_pos).x()
            keys = s.steps[:s.n] if self._x_is_step else s.walls[:s.n]
            self._show_readout(s, nearest(keys, x if self._x_is_step else x + self._t0))
            return

    def _show_readout(self, s: _Series, i: int) -> None:
        """The hovered row's step and time, then each metric's value at that step (its row nearest
        to it, whose step is named when it is another), each marked on its plot."""
        step = int(s.steps[i])
        parts = []
        for other in self._series.values():
            if other.n == 0:
                continue
            j = i if other is s else nearest(other.steps[:other.n], step)
            value, shown = other.values[j], other.values[j]
            text = f"{other.name} {value:.6g}"
            if self.smoothing > 0 and j < other.smoothed_upto:
                shown = other.smoothed[j]
                text += f" (smoothed {shown:.6g})"
            if other.steps[j] != step:
                text += f" at step {int(other.steps[j]):,}"
            parts.append(text)
            x = other.steps[j] if self._x_is_step else other.walls[j] - self._t0
            if np.isfinite(shown) and (shown > 0 or not self.log_check.isChecked()):
                other.marker.setData([x], [shown])
                other.marker.show()
            else:
                other.marker.hide()
        self.readout.setText(f"step {step:,} · {s.walls[i] - self._t0:,.1f} s · " + " · ".join(parts))
        self.readout.setToolTip("\n".join(parts))

