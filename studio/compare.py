"""Runs side by side: the views they share at the same step (one shared step slider), every metric
overlaid with a curve per run and a legend, and their settings diffed (only what differs).

The runs are read from their stores like any recorded run (no engine, no torch)."""
from __future__ import annotations

import bisect
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engines.records.replay import RecordedRun
from engines.records.series import ScalarSeries
from studio.panels import create_panel
from studio.panels.curves import (PALETTE, PLOT_MIN_HEIGHT, add_smoothing_control, draw_smoothed, smoothed_curves,
                                  smoothing_control, smoothing_text)
from studio.panels.step_cursor import StepCursor
from studio.recorded_view import Timeline

COMPARE_SIZE = (1300, 900)
PANEL_HEIGHT = 260           # each row of pictures


def differing_settings(metas: list[dict]) -> list[tuple[str, list]]:
    """(setting, value per run) for the model, dataset, seed and config fields that are not the same
    in every run (a field a run does not have counts as different)."""
    rows = []
    for key in ("model", "data", "seed"):
        values = [meta.get(key) for meta in metas]
        if len({repr(v) for v in values}) > 1:
            rows.append((key, values))
    names = []
    for meta in metas:
        names += [n for n in (meta.get("config") or {}) if n not in names]
    for name in names:
        values = [(meta.get("config") or {}).get(name, "—") for meta in metas]
        if len({repr(v) for v in values}) > 1:
            rows.append((name, values))
    return rows


class OverlaidCurves(QtWidgets.QWidget):
    """One plot per metric, a curve per run in the run's colour, with a legend, and the curves
    panel's smoothing (a debiased EMA over the faint raw curve; the same series data,
    :class:`~engines.records.series.ScalarSeries`, bounded in memory however long the runs)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.smoothing_slider, self.smoothing_value = smoothing_control()
        toolbar = QtWidgets.QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 0, 0)
        add_smoothing_control(toolbar, self.smoothing_slider, self.smoothing_value)
        toolbar.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.graphics, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self._curves: list[tuple[ScalarSeries, pg.PlotDataItem, pg.PlotDataItem]] = []
        self.cursor = StepCursor(parent=self)          # the timeline's step on every plot
        self.graphics.scene().sigMouseClicked.connect(self.cursor.clicked)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_changed)

    @property
    def smoothing(self) -> float:
        return self.smoothing_slider.value() / 100.0

    def set_runs(self, labels: list[str], series: list[dict]) -> None:
        self.graphics.clear()
        self.cursor.forget()
        self.plots, self._curves = {}, []
        names = []
        for run in series:
            names += [n for n in run if n not in names]
        first = None
        for row, name in enumerate(names):
            plot = self.graphics.addPlot(row=row, col=0)
            plot.setTitle(name, size="9pt", justify="left")
            plot.addLegend(offset=(-10, 5))
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.getAxis("left").setWidth(56)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self.cursor.attach(plot)
            for i, (label, run) in enumerate(zip(labels, series)):
                if name in run:
                    data = ScalarSeries(name)
                    data.extend(*run[name])
                    raw, curve = smoothed_curves(plot, PALETTE[i % len(PALETTE)], label)
                    self._curves.append((data, raw, curve))
            self.plots[name] = plot
        self.graphics.setMinimumHeight(len(names) * PLOT_MIN_HEIGHT)
        self._draw()

    def _draw(self) -> None:
        weight = self.smoothing
        for data, raw, curve in self._curves:
            draw_smoothed(data, raw, curve, data.steps[:data.n], weight)

    def _on_smoothing_changed(self, value: int) -> None:
        self.smoothing_value.setText(smoothing_text(value))
        for data, _, _ in self._curves:
            data.reset_smoothing()
        self._draw()


class CompareWindow(QtWidgets.QMainWindow):
    """Two or more recorded runs side by side. Raises StoreError for a run that cannot be read."""

    def __init__(self, paths, parent=None):
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.runs = []
        try:
            for path in paths:
                self.runs.append(RecordedRun(path))
        except Exception:
            self.close_runs()
            raise
        self.labels = [run.path.name for run in self.runs]
        self.setWindowTitle("genstudio — compare " + " · ".join(self.labels))
        self.resize(*COMPARE_SIZE)

        self.timeline = Timeline(self)
        self.timeline.follow_box.hide()
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.timeline)

        views = [{v.name: v for v in run.views()} for run in self.runs]
        shared = [name for name in views[0] if all(name in v for v in views[1:])]
        self.panels: list[dict] = [{} for _ in self.runs]
        grid_widget = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(grid_widget)
        for col, (label, run) in enumerate(zip(self.labels, self.runs)):
            title = QtWidgets.QLabel(f"<b style='color:{PALETTE[col % len(PALETTE)]}'>{label}</b> · "
                                     f"{run.meta.get('model', '?')} · {run.status}")
            grid.addWidget(title, 0, col)
            fields = {f.name: f for f in run.fields()}
            for row, name in enumerate(shared, 1):
                panel = create_panel(views[col][name], fields)
                panel.set_config(run.meta.get("config") or {})
                panel.set_live(False)
                panel.setMinimumHeight(PANEL_HEIGHT)
                self.panels[col][name] = panel
                grid.addWidget(panel, row, col)
        pictures = QtWidgets.QScrollArea()
        pictures.setWidgetResizable(True)
        pictures.setWidget(grid_widget)

        self.curves = OverlaidCurves()
        self.curves.set_runs(self.labels, [run.series() for run in self.runs])
        curves = QtWidgets.QScrollArea()
        curves.setWidgetResizable(True)
        curves.setWidget(self.curves)

        diff = differing_settings([run.meta for run in self.runs])
        self.diff_table = QtWidgets.QTableWidget(len(diff), len(self.runs))
        self.diff_table.setHorizontalHeaderLabels(self.labels)
        self.diff_table.setVerticalHeaderLabels([name for name, _ in diff])
        for row, (_, values) in enumerate(diff):
            for col, value in enumerate(values):
                text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
                self.diff_table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.diff_table.horizontalHeader().setStretchLastSection(True)
        diff_box = QtWidgets.QGroupBox(f"Settings that differ ({len(diff)})" if diff else "Same settings")
        QtWidgets.QVBoxLayout(diff_box).addWidget(self.diff_table)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(pictures)
        splitter.addWidget(curves)
        splitter.addWidget(diff_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 1)
        self.setCentralWidget(splitter)

        export = self.menuBar().addMenu("&File").addAction("Export scalars…")
        export.setToolTip("Write every run's scalars as one CSV: run, step, name, value")
        export.triggered.connect(self.export_scalars_dialog)

        self.steps = sorted({s for run in self.runs for s in run.frame_steps()})
        self.timeline.set_steps(self.steps)
        self.timeline.slider.valueChanged.connect(self.show_index)
        self.timeline.stepShown.connect(self.curves.cursor.set_step)
        self.curves.cursor.moved.connect(self.timeline.show_nearest)
        if self.steps:
            self.timeline.slider.setValue(len(self.steps) - 1)
            self.show_index(len(self.steps) - 1)

    def export_scalars_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export scalars", str(Path.home() / "compared-runs.csv"),
                                                        "CSV files (*.csv)")
        if path:
            self.export_scalars(path)

    def export_scalars(self, path) -> bool:
        """Write the runs' scalars to ``path`` as one long CSV (``run, step, name, value``, a run by
        its folder's name); says in the status bar how many rows, or why not."""
        from engines.records.export import ExportError
        from engines.records.scalars_csv import write_long_csv

        try:
            rows = write_long_csv([(label, run.path) for label, run in zip(self.labels, self.runs)], path)
        except ExportError as exc:
            self.statusBar().showMessage(f"Cannot export the scalars: {exc}")
            return False
        self.statusBar().showMessage(f"wrote {rows} rows of scalars to {path}")
        return True

    def show_index(self, index: int) -> None:
        """Every run at the same step: each shows its newest frames at or before it."""
        if not self.steps:
            return
        step = self.steps[index]
        for run, panels in zip(self.runs, self.panels):
            recorded = run.frame_steps()
            if not recorded or bisect.bisect_right(recorded, step) == 0:
                continue
            for frame in run.frames_at(step):
                for panel in panels.values():
                    if frame.name in panel.view.frames:
                        panel.show_frame(frame)
        self.timeline.show_step(index, self.steps)

    def close_runs(self) -> None:
        for run in self.runs:
            run.close()
        self.runs = []

    def closeEvent(self, event) -> None:
        self.close_runs()
        super().closeEvent(event)
