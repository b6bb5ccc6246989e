"""The run browser: a table of the runs under the runs folder and any folder the user adds (model,
dataset, status, steps, held-out figure, last metrics, start time), sortable and filterable, read
again every few seconds (one run per pass of the event loop) so runs being written elsewhere keep
their figures current.

Double-click opens a run (``openRequested``); with several selected, Compare opens them side by
side (``compareRequested``); Resume continues a stopped or crashed one (``resumeRequested``)."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engines.runs import runs_root
from engines.records.run_index import RunIndex, RunSummary, newest_first
from studio.stepwise import Stepwise

REFRESH_MS = 3000
# what a narrow Runs dock must show first: which run, how it ended, how far, its held-out figure
COLUMNS = ("run", "status", "steps", "held-out", "model", "data", "last metrics", "started")
RUN_COLUMN_MAX = 100        # px: a longer run name is elided in the middle (whole in its tooltip)
STATUS_COLOURS = {"running": "#81c784", "crashed": "#ef5350", "failed": "#ef5350", "diverged": "#ffb74d"}
FOLDERS_KEY = "runs/folders"


class RunTable(QtGui.QStandardItemModel):
    """One row per run; each row's first item keeps the run's path."""

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.removeRows(0, self.rowCount())
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
            for item in items.values():
                item.setEditable(False)
            self.appendRow([items[name] for name in COLUMNS])


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
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("filter: model, dataset, status, name…")
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

        self.model = RunTable(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = QtCore.QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
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
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(add)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.compare_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

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
        key = [(r.path, r.status, r.steps, r.metrics_text) for r in runs]
        if key == [(r.path, r.status, r.steps, r.metrics_text) for r in self.runs]:
            return
        selected = set(self.selected_paths())
        self.runs = runs
        self.model.set_runs(runs)
        self.proxy.sort(self.table.horizontalHeader().sortIndicatorSection(),
                        self.table.horizontalHeader().sortIndicatorOrder())
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(QtCore.Qt.ItemDataRole.UserRole) in selected:
                self.table.selectionModel().select(
                    self.proxy.index(row, 0), QtCore.QItemSelectionModel.SelectionFlag.Select
                    | QtCore.QItemSelectionModel.SelectionFlag.Rows)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), RUN_COLUMN_MAX))

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
