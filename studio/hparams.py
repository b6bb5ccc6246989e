"""The runs' settings and final metrics side by side (TensorBoard's HParams), for the Runs dock.

- :func:`columns_of` names every config field (and the seed) and every metric the runs have:
  ``setting:NAME`` and ``metric:NAME`` (the metric's last recorded value).
- :class:`RunFilter` filters the table by terms a user types: ``lr>0.001``, ``model=vae``,
  ``loss<=90`` (a column by its name; numbers compared as numbers, other values as text) and
  plain words, which any cell may contain. A run without the column named fails its term.
- :class:`ParallelPlot` draws one line per run through one vertical axis per chosen column
  (numbers from their smallest to their largest value, other values evenly in sorted order),
  coloured by a chosen metric (viridis, low to high; a run without it grey); clicking a line asks
  for its run (:attr:`ParallelPlot.runClicked`).
"""
from __future__ import annotations

import math
import operator
import re

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from engines.records.run_index import RunSummary

SETTING, METRIC = "setting:", "metric:"
TERM = re.compile(r"^(?P<name>[^<>=!]+?)(?P<op><=|>=|!=|=|<|>)(?P<value>.+)$")
OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "=": operator.eq, "!=": operator.ne}
NO_VALUE_COLOR = "#9e9e9e"


def columns_of(runs: list[RunSummary]) -> list[str]:
    """Every setting, then every metric, of ``runs``, each once, in the order the runs give them."""
    settings = dict.fromkeys(name for run in runs for name in run.config)
    metrics = dict.fromkeys(name for run in runs for name in run.metrics)
    return [SETTING + name for name in settings] + [METRIC + name for name in metrics]


def header(column: str) -> str:
    """A column's heading: a setting by its name, a metric as ``name (last)``."""
    return column[len(METRIC):] + " (last)" if column.startswith(METRIC) else column.removeprefix(SETTING)


def value_of(run: RunSummary, column: str):
    """The run's value in ``column`` (None where it has none)."""
    if column.startswith(METRIC):
        return run.metrics.get(column[len(METRIC):])
    return run.config.get(column.removeprefix(SETTING))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def lookup(run: RunSummary, name: str):
    """The run's value called ``name`` (any case): a table column (run, model, data, status, steps),
    a setting or a metric's last value; None where it has none."""
    base = {"run": run.path.name, "model": run.model, "data": run.data, "status": run.status, "steps": run.steps}
    for source in (base, run.config, run.metrics):
        for key, value in source.items():
            if key.lower() == name:
                return value
    return None


def holds(run: RunSummary, name: str, op: str, wanted: str) -> bool:
    """Whether the run's ``name`` compares with ``wanted`` by ``op``: as numbers where both are,
    else (``=``, ``!=`` only) as text, case aside."""
    value = lookup(run, name)
    if value is None:
        return False
    try:
        number = float(wanted)
    except ValueError:
        number = None
    if number is not None and is_number(value):
        return OPERATORS[op](value, number)
    return op in ("=", "!=") and OPERATORS[op](text_of(value).lower(), wanted.lower())


class RunFilter(QtCore.QSortFilterProxyModel):
    """The run table (one row per run of :attr:`runs`, in order) filtered by :meth:`set_terms`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.terms: list = []
        self.runs: list[RunSummary] = []

    def set_runs(self, runs: list[RunSummary]) -> None:
        """The runs the source model's rows hold, in order (set before the model is filled)."""
        self.beginFilterChange()
        self.runs = runs
        self.endFilterChange()

    def set_terms(self, text: str) -> None:
        """Read ``text``: ``name op value`` terms and plain words, separated by spaces."""
        self.beginFilterChange()
        self.terms = []
        for word in text.split():
            match = TERM.match(word)
            self.terms.append((match["name"].lower(), match["op"], match["value"]) if match else word.lower())
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802 - Qt's name
        model = self.sourceModel()
        cells = [str(model.index(row, col, parent).data() or "").lower() for col in range(model.columnCount())]
        run = self.runs[row] if row < len(self.runs) else None
        for term in self.terms:
            if isinstance(term, str):
                if not any(term in cell for cell in cells):
                    return False
            elif run is None or not holds(run, *term):
                return False
        return True


def axis_positions(values: list) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Each value's height on its axis in [0, 1] (NaN where there is none) and the axis's labels:
    numbers from the smallest to the largest (equal ones in the middle), others evenly by order."""
    present = [v for v in values if v is not None]
    if present and all(is_number(v) for v in present):
        lo, hi = min(present), max(present)
        span = hi - lo
        heights = [math.nan if v is None else (0.5 if span == 0 else (v - lo) / span) for v in values]
        labels = [(0.0, text_of(lo)), (1.0, text_of(hi))] if span else [(0.5, text_of(lo))]
        return np.asarray(heights, dtype=np.float64), labels
    kinds = sorted({text_of(v) for v in present})
    place = {k: (0.5 if len(kinds) == 1 else i / (len(kinds) - 1)) for i, k in enumerate(kinds)}
    heights = [math.nan if v is None else place[text_of(v)] for v in values]
    return np.asarray(heights, dtype=np.float64), [(h, k) for k, h in place.items()]


class ParallelPlot(pg.PlotWidget):
    """Parallel coordinates of runs: :meth:`set_runs` draws them; a click on a line emits its path."""

    runClicked = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getAxis("left").hide()
        self.setMinimumHeight(160)
        self.lines: dict[str, pg.PlotCurveItem] = {}
        self.colour_range: tuple[float, float] | None = None

    def set_runs(self, runs: list[RunSummary], columns: list[str], colour: str | None) -> None:
        """One line per run through an axis per column, coloured by the column ``colour``."""
        self.clear()
        self.lines = {}
        self.colour_range = None
        if not runs or not columns:
            return
        axes = [axis_positions([value_of(run, c) for run in runs]) for c in columns]
        heights = np.stack([placed for placed, _ in axes], axis=1)
        colours = self._colours(runs, colour)
        for index, (_, labels) in enumerate(axes):
            self.addItem(pg.InfiniteLine(pos=index, angle=90, pen=pg.mkPen("#777777")))
            for height, text in labels:
                label = pg.TextItem(text, color="#cccccc", anchor=(0, 0.5))
                label.setPos(index + 0.03, height)
                self.addItem(label)
        for run, row, colour_of_run in zip(runs, heights, colours):
            line = pg.PlotCurveItem(np.arange(len(columns), dtype=np.float64), row, connect="finite",
                                    pen=pg.mkPen(colour_of_run, width=2))
            line.setClickable(True, width=8)
            line.setToolTip(run.path.name)
            line.sigClicked.connect(self._clicked)
            self.addItem(line)
            self.lines[str(run.path)] = line
        self.getAxis("bottom").setTicks([[(i, header(c)) for i, c in enumerate(columns)]])
        self.setXRange(-0.2, len(columns) - 0.5, padding=0)
        self.setYRange(-0.08, 1.08, padding=0)

    def _colours(self, runs: list[RunSummary], colour: str | None) -> list:
        values = [value_of(run, colour) if colour else None for run in runs]
        numbers = [v for v in values if is_number(v)]
        if not numbers:
            return [pg.mkColor(NO_VALUE_COLOR)] * len(runs)
        lo, hi = min(numbers), max(numbers)
        self.colour_range = (lo, hi)
        cmap = pg.colormap.get("viridis")
        return [cmap.map((v - lo) / (hi - lo) if hi > lo else 0.5, mode="qcolor") if is_number(v)
                else pg.mkColor(NO_VALUE_COLOR) for v in values]

    def _clicked(self, line: pg.PlotCurveItem, event=None) -> None:
        path = next((p for p, item in self.lines.items() if item is line), None)
        if path is not None:
            self.runClicked.emit(path)
