"""The run browser: a table of the runs under the runs folder and any folder the user adds (model,
dataset, status, steps, held-out figure, last metrics, start time), sortable and filterable, read
again every few seconds (one run per pass of the event loop) so runs being written elsewhere keep
their figures current.

Its hyper-parameter view (TensorBoard's HParams, :mod:`studio.hparams`): Columns adds any config
field and the last value of any metric as a column (sortable; the filter takes ``lr>0.001``-style
terms), and Plot shows the selected runs (all the listed ones while fewer than two are selected)
in parallel coordinates over the chosen columns (or, with none chosen, the settings that differ),
coloured by a chosen metric; a click on a line selects its run.

Double-click opens a run (``openRequested``); with several selected, Compare opens them side by
side (``compareRequested``); Resume continues a stopped or crashed one (``resumeRequested``)."""
from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from engines.runs import runs_root
from engines.records.run_index import RunIndex, RunSummary, newest_first
from studio.flow_layout import FlowLayout
from studio.hparams import METRIC, SETTING, ParallelPlot, RunFilter, columns_of, header, is_number, text_of, value_of
from studio.stepwise import Stepwise

REFRESH_MS = 3000
# what a narrow Runs dock must show first: which run, how it ended, how far, its held-out figure
COLUMNS = ("run", "status", "steps", "held-out", "model", "data", "last metrics", "started")
RUN_COLUMN_MAX = 100        # px: a longer run name is elided in the middle (whole in its tooltip)
STATUS_COLOURS = {"running": "#81c784", "crashed": "#ef5350", "failed": "#ef5350", "diverged": "#ffb74d"}
FOLDERS_KEY = "runs/folders"
COLUMNS_KEY = "runs/columns"


class RunTable(QtGui.QStandardItemModel):
    """One row per run; each row's first item keeps the run's path."""

    def set_runs(self, runs: list[RunSummary], extra: list[str] = ()) -> None:
        """A row per run: the fixed :data:`COLUMNS`, then the chosen settings and metrics ``extra``."""
        self.removeRows(0, self.rowCount())
        self.setColumnCount(len(COLUMNS) + len(extra))
        self.setHorizontalHeaderLabels([*COLUMNS, *map(header, extra)])
        for run in runs:
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)) if run.created else ""
            texts = {"run": run.path.name, "model": run.model, "data": run.data, "status": run.status,
                     "steps": f"{run.steps:,}", "held-out": run.held_out_text, "last metrics": run.metrics_text,
                     "started": started}
            items = {name: QtGui.QStandardItem(texts[name]) for name in COLUMNS}
            items["run"].setData(str(run.path), QtCore.Qt.ItemDataRole.UserRole)
            items["run"].setToolTip(str(run.path))
            items["steps"].setData(run.steps, QtCore.Qt.ItemDataRole.UserRole)
            items["started"].setData(run.created, QtCore.Qt.ItemDataRole.UserRole)
            if not run.held_out_converged:
                items["held-out"].setForeground(QtGui.QColor(STATUS_COLOURS["diverged"]))
                items["held-out"].setToolTip("its estimator did not converge: the figure is no bound (see eval)")
            if run.status in STATUS_COLOURS:
                items["status"].setForeground(QtGui.QColor(STATUS_COLOURS[run.status]))
            added = []
            for column in extra:
                value = value_of(run, column)
                item = QtGui.QStandardItem(text_of(value))
                item.setData(float(value) if is_number(value) else text_of(value), QtCore.Qt.ItemDataRole.UserRole)
                added.append(item)
            for name in ("model", "data", "status", "held-out", "last metrics"):     # sorted by their text
                items[name].setData(texts[name], QtCore.Qt.ItemDataRole.UserRole)
            row = [items[name] for name in COLUMNS] + added
            for item in row:
                item.setEditable(False)
            self.appendRow(row)


class RunBrowser(QtWidgets.QWidget):
    openRequested = QtCore.Signal(str)
    compareRequested = QtCore.Signal(list)
    resumeRequested = QtCore.Signal(str)

    def __init__(self, settings: QtCore.QSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.folders: list[str] = [str(runs_root())] + [f for f in (settings.value(FOLDERS_KEY) or [])
                                                         if f != str(runs_root())]
        self.runs: list[RunSummary] = []
        self.columns: list[str] = [str(c) for c in (settings.value(COLUMNS_KEY) or [])]
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("filter: words, or lr>0.001 model=vae loss<90 …")
        self.filter_edit.setToolTip("Runs whose cells hold every word, and whose settings or last metrics "
                                    "pass every term name<value, <=, >, >=, = or !=")
        self.filter_edit.setClearButtonEnabled(True)
        add = QtWidgets.QPushButton("Add folder…")
        add.setToolTip("List the runs of another folder too")
        add.clicked.connect(self._add_folder_dialog)
        self.compare_button = QtWidgets.QPushButton("Compare")
        self.compare_button.setToolTip("Open the selected runs side by side (select two or more)")
        self.compare_button.clicked.connect(self._compare)
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected stopped or crashed run from its last checkpoint")
        self.resume_button.clicked.connect(self._resume)
        self.columns_button = QtWidgets.QToolButton()
        self.columns_button.setText("Columns")
        self.columns_button.setToolTip("Show config fields and metrics' last values as columns")
        self.columns_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QtWidgets.QMenu(self.columns_button)
        self.columns_menu.aboutToShow.connect(self._fill_columns_menu)
        self.columns_button.setMenu(self.columns_menu)
        self.plot_button = QtWidgets.QPushButton("Plot")
        self.plot_button.setCheckable(True)
        self.plot_button.setToolTip("Parallel coordinates of the selected runs (all listed ones while fewer "
                                    "than two are selected); click a line to select its run")

        self.model = RunTable(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = RunFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(QtCore.Qt.ItemDataRole.UserRole)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("started"), QtCore.Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)   # a run's name keeps its date
        self.table.setWordWrap(False)                                      # one line a run
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.filter_edit.textChanged.connect(self._filter_changed)

        self.colour_box = QtWidgets.QComboBox()
        self.colour_box.setToolTip("the metric the lines are coloured by (viridis: low purple, high yellow)")
        self.colour_box.currentIndexChanged.connect(self._draw_plot)
        self.plot = ParallelPlot()
        self.plot.runClicked.connect(self.select_run)
        self.plot_caption = QtWidgets.QLabel()
        self.plot_box = QtWidgets.QWidget()
        plot_layout = QtWidgets.QVBoxLayout(self.plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        colour_row = QtWidgets.QHBoxLayout()
        colour_row.addWidget(QtWidgets.QLabel("colour by"))
        colour_row.addWidget(self.colour_box, 1)
        plot_layout.addLayout(colour_row)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addWidget(self.plot_caption)
        self.plot_box.hide()
        self.plot_button.toggled.connect(self._plot_toggled)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot_box)

        buttons = QtWidgets.QWidget()               # wrapped onto two rows in a narrow dock
        button_row = FlowLayout(buttons)
        for button in (self.compare_button, self.resume_button, self.columns_button, self.plot_button, add):
            button_row.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)

        self._scanning: Stepwise | None = None
        self._index = RunIndex()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._selection_changed()

    # ------------------------------------------------------------------------------ reading
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def refresh(self) -> None:
        """Read the folders again, one changed run per pass of the event loop (a run store per run)."""
        if self._scanning is not None:
            if self._scanning.running:
                return
            self._scanning.deleteLater()
        self._scanning = Stepwise(self._index.scan_steps(list(self.folders)), self._show_runs, parent=self)

    def _show_runs(self, summaries: list) -> None:
        runs = newest_first(summaries)
        key = [(r.path, r.status, r.steps, r.metrics, r.config) for r in runs]
        if key == [(r.path, r.status, r.steps, r.metrics, r.config) for r in self.runs]:
            return
        self.runs = runs
        self._fill_table()

    def _fill_table(self) -> None:
        """The table from :attr:`runs` and the chosen columns, keeping the selection and the sort."""
        selected = set(self.selected_paths())
        self.proxy.set_runs(self.runs)
        self.model.set_runs(self.runs, self.columns)
        self.proxy.sort(self.table.horizontalHeader().sortIndicatorSection(),
                        self.table.horizontalHeader().sortIndicatorOrder())
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(QtCore.Qt.ItemDataRole.UserRole) in selected:
                self.table.selectionModel().select(
                    self.proxy.index(row, 0), QtCore.QItemSelectionModel.SelectionFlag.Select
                    | QtCore.QItemSelectionModel.SelectionFlag.Rows)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), RUN_COLUMN_MAX))
        self._fill_colour_box()
        self._draw_plot()

    # ------------------------------------------------------------------------------ hyper-parameters
    def _fill_columns_menu(self) -> None:
        self.columns_menu.clear()
        available = columns_of(self.runs)
        for title, prefix in (("Settings", SETTING), ("Final metrics", METRIC)):
            self.columns_menu.addSection(title)
            for column in (c for c in available if c.startswith(prefix)):
                action = self.columns_menu.addAction(header(column))
                action.setCheckable(True)
                action.setChecked(column in self.columns)
                action.toggled.connect(lambda on, c=column: self.show_column(c, on))
        if not available:
            self.columns_menu.addAction("no runs listed yet").setEnabled(False)

    def show_column(self, column: str, shown: bool = True) -> None:
        """Add (or remove) a setting (``setting:NAME``) or a metric's last value (``metric:NAME``)
        as a column; the choice is remembered."""
        if shown and column not in self.columns:
            self.columns.append(column)
        elif not shown and column in self.columns:
            self.columns.remove(column)
        self.settings.setValue(COLUMNS_KEY, self.columns)
        self._fill_table()

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_terms(text)
        self._draw_plot()

    def _fill_colour_box(self) -> None:
        metrics = [c for c in columns_of(self.runs) if c.startswith(METRIC)]
        chosen = self.colour_box.currentData()
        if metrics != [self.colour_box.itemData(i) for i in range(self.colour_box.count())]:
            with QtCore.QSignalBlocker(self.colour_box):
                self.colour_box.clear()
                for column in metrics:
                    self.colour_box.addItem(header(column), column)
                if chosen in metrics:
                    self.colour_box.setCurrentIndex(metrics.index(chosen))

    def plotted_runs(self) -> list[RunSummary]:
        """The selected runs, or every listed (filtered) one while fewer than two are selected."""
        selected = self.selected_paths()
        listed = [self.proxy.index(row, 0).data(QtCore.Qt.ItemDataRole.UserRole) for row in range(self.proxy.rowCount())]
        paths = selected if len(selected) >= 2 else listed
        by_path = {str(r.path): r for r in self.runs}
        return [by_path[p] for p in paths if p in by_path]

    def plot_columns(self, runs: list[RunSummary]) -> list[str]:
        """The chosen columns, or (none chosen) the settings whose values differ among ``runs``;
        then the colour's metric, if not among them."""
        columns = list(self.columns) or [c for c in columns_of(runs) if c.startswith(SETTING)
                                         and len({text_of(value_of(r, c)) for r in runs}) > 1]
        colour = self.colour_box.currentData()
        return columns + ([colour] if colour and colour not in columns else [])

    def _plot_toggled(self, shown: bool) -> None:
        self.plot_box.setVisible(shown)
        self._draw_plot()

    def _draw_plot(self, *_) -> None:
        if not self.plot_button.isChecked():
            return
        runs = self.plotted_runs()
        columns = self.plot_columns(runs)
        colour = self.colour_box.currentData()
        self.plot.set_runs(runs, columns, colour)
        for path in self.selected_paths():
            if path in self.plot.lines:
                self.plot.lines[path].setPen(pg.mkPen("w", width=4))
        scale = (f" · colour: {header(colour)} from {self.plot.colour_range[0]:.4g} (purple) to "
                 f"{self.plot.colour_range[1]:.4g} (yellow)") if colour and self.plot.colour_range else ""
        self.plot_caption.setText(f"{len(runs)} runs · {len(columns)} axes{scale}" if columns else
                                  "no axes: choose Columns, or select runs whose settings differ")

    def select_run(self, path: str) -> None:
        """Select the run at ``path`` in the table (a click on its line)."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(QtCore.Qt.ItemDataRole.UserRole) == path:
                self.table.selectionModel().select(index, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                   | QtCore.QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
                return

    def add_folder(self, folder: str) -> None:
        folder = str(Path(folder).expanduser())
        if folder not in self.folders:
            self.folders.append(folder)
            self.settings.setValue(FOLDERS_KEY, self.folders[1:])
        self.refresh()

    def _add_folder_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "List the runs of a folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    # ------------------------------------------------------------------------------ acting
    def selected_paths(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows(0) if self.table.selectionModel() else []
        return [index.data(QtCore.Qt.ItemDataRole.UserRole) for index in rows]

    def _selection_changed(self, *_) -> None:
        paths = self.selected_paths()
        self.compare_button.setEnabled(len(paths) >= 2)
        statuses = {str(r.path): r.status for r in self.runs}
        self.resume_button.setEnabled(len(paths) == 1 and statuses.get(paths[0]) in ("stopped", "crashed"))
        self._draw_plot()

    def _double_clicked(self, index: QtCore.QModelIndex) -> None:
        self.openRequested.emit(index.siblingAtColumn(0).data(QtCore.Qt.ItemDataRole.UserRole))

    def _compare(self) -> None:
        paths = self.selected_paths()
        if len(paths) >= 2:
            self.compareRequested.emit(paths)

    def _resume(self) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            self.resumeRequested.emit(paths[0])
