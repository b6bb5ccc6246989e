"""The main window: run setup on the left, dockable panels, run controls, status bar and menus.

It owns at most one training run (a :class:`~studio.worker.TrainingWorker`, whose signals arrive
in the GUI thread) or one recorded run being viewed (a :class:`~studio.replay.RecordedRun`).
Nothing here imports torch: the window shows first, the training process loads the heavy parts.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.frames import ChainHistory, ChainState
from engines.registry import MODELS
from studio.controls import RunSetup
from studio.panels import PANEL_TITLES, ChainsPanel, CurvesPanel, create_panel
from studio.worker import RunSpec, TrainingWorker

SETTINGS_ORG, SETTINGS_APP = "genstudio", "studio"
FOLLOW_INTERVAL_MS = 1000   # how often a recorded run that is still training is read again

# Image panels each model family shows, biggest first; the curves dock is always there. Frames
# with other names get a dock of their own when they first arrive.
FAMILY_PANELS = {"boltzmann": ("chains", "filters", "reconstructions")}

SHORTCUTS = (
    ("Space", "pause / resume training"),
    ("S or Ctrl+Right", "one training step (pauses first)"),
    ("F5", "start a run with the settings on the left"),
    ("Ctrl+R", "reset: stop this run (it is kept) and start a new one"),
    ("Shift+F5", "stop the run (it is kept, with a checkpoint)"),
    ("Ctrl+O", "open a recorded run"),
    ("Ctrl+E", "export an animation of this run"),
    ("Click a chain", "restart that Gibbs chain from a test digit"),
    ("Ctrl+Q", "quit"),
)


def family_of(model: str) -> str:
    """``engines.boltzmann.rbm:RBMEngine`` -> ``boltzmann``."""
    module = MODELS.get(model, "").partition(":")[0].split(".")
    return module[1] if len(module) > 2 else model


def panel_name(frame) -> str:
    """Which panel draws a frame: chain states and histories share the chains panel."""
    return "chains" if isinstance(frame, (ChainState, ChainHistory)) else frame.name


class MainWindow(QtWidgets.QMainWindow):
    """The studio. ``start_run(spec)`` trains, ``open_run(path)`` views a recording."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("genstudio")
        self.setObjectName("genstudio-main")
        self.setDockNestingEnabled(True)
        self.setCorner(QtCore.Qt.Corner.BottomLeftCorner, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.worker: TrainingWorker | None = None
        self.recorded = None                      # a RecordedRun while one is viewed
        self.run_dir: Path | None = None          # the run File → Export works on
        self.model = ""                           # the model whose panels are shown
        self.last_status: dict = {}
        self.last_frames: dict[str, object] = {}  # newest frame of each name, as drawn
        self.frames_shown = 0
        self._pending: dict[str, object] = {}     # live frames not drawn yet, by name
        self._pending_timer = QtCore.QTimer(self)
        self._pending_timer.setInterval(0)
        self._pending_timer.timeout.connect(self._draw_next_pending)
        self._frame_times: deque = deque(maxlen=200)
        self._paused = False
        self._last_message = ""
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.panels: dict[str, QtWidgets.QWidget] = {}

        self.setup = RunSetup()
        self.setup_dock = self._dock("setup", "Run setup", self.setup)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.setup.editor.liveChanged.connect(self._live_edit)

        self._make_actions()
        self._make_menus_and_toolbars()
        self.curves: CurvesPanel = self._panel("curves")
        self._make_status_bar()
        self._make_timeline()
        self._set_state("idle")
        self.resize(1400, 860)
        geometry = self._settings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    # ------------------------------------------------------------------------------ building
    @staticmethod
    def _settings() -> QtCore.QSettings:
        fmt, scope = QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope
        return QtCore.QSettings(fmt, scope, SETTINGS_ORG, SETTINGS_APP)

    def _dock(self, name: str, title: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        return dock

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", checkable: bool = False) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        action.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({', '.join(shortcuts)})" if shortcuts else tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)   # shortcuts work even with the toolbar hidden
        return action

    def _make_actions(self) -> None:
        self.action_start = self._action("Start", self.start_clicked, ["F5"], "Start a run with these settings")
        self.action_pause = self._action("Pause", self.set_paused, ["Space"], "Pause or resume training", checkable=True)
        self.action_step = self._action("Step", self.step_once, ["S", "Ctrl+Right"], "Train exactly one step")
        self.action_stop = self._action("Stop", self.stop_run, ["Shift+F5"], "Stop training (the run is kept)")
        self.action_reset = self._action("Reset", self.reset_run, ["Ctrl+R"], "Stop this run and start a new one")
        self.action_open = self._action("Open run…", self.open_run_dialog, ["Ctrl+O"], "Open a recorded run")
        self.action_export = self._action("Export…", self.open_export_dialog, ["Ctrl+E"], "Export an animation")
        self.action_quit = self._action("Quit", self.close, ["Ctrl+Q"], "Quit genstudio")
        self.action_reset_layout = self._action("Reset layout", self.reset_layout, tip="Put the panels back")
        self.action_shortcuts = self._action("Keyboard shortcuts", self.show_shortcuts, ["F1"], "List the shortcuts")
        self.action_about = self._action("About genstudio", self.show_about)
        for action in (self.action_open, self.action_export, self.action_quit):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)

    def _make_menus_and_toolbars(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.action_open, self.action_export])
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        run_menu = menu.addMenu("&Run")
        run_menu.addActions([self.action_start, self.action_pause, self.action_step, self.action_stop,
                             self.action_reset])
        self.view_menu = menu.addMenu("&View")
        help_menu = menu.addMenu("&Help")
        help_menu.addActions([self.action_shortcuts, self.action_about])

        toolbar = self.addToolBar("Run controls")
        toolbar.setObjectName("toolbar-run")
        toolbar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.action_start, self.action_pause, self.action_step, self.action_stop,
                            self.action_reset])
        toolbar.addSeparator()
        toolbar.addAction(self.action_export)

        self.addToolBarBreak()
        self.banner_bar = QtWidgets.QToolBar("Messages")
        self.banner_bar.setObjectName("toolbar-messages")
        self.banner_bar.setMovable(False)
        self.error_banner = QtWidgets.QLabel()
        self.error_banner.setObjectName("errorBanner")
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_banner.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                        QtWidgets.QSizePolicy.Policy.Preferred)
        self.banner_bar.addWidget(self.error_banner)
        self.banner_bar.addAction("Dismiss", self.clear_error)
        self.addToolBar(self.banner_bar)
        self.banner_bar.hide()
        self._refresh_view_menu()

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label, self.step_label, self.rate_label, self.fps_label, self.device_label, self.run_label = (
            QtWidgets.QLabel() for _ in range(6))
        for label in (self.state_label, self.step_label, self.rate_label, self.fps_label, self.device_label):
            bar.addPermanentWidget(label)
        bar.addWidget(self.run_label)

    def _make_timeline(self) -> None:
        """The step slider shown while a recorded run is viewed."""
        self.timeline = QtWidgets.QToolBar("Timeline")
        self.timeline.setObjectName("toolbar-timeline")
        self.timeline.setMovable(False)
        self.step_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.step_slider.setRange(0, 0)
        self.step_slider.setPageStep(1)
        self.timeline_label = QtWidgets.QLabel("no frames recorded")
        self.follow_box = QtWidgets.QCheckBox("Follow")
        self.follow_box.setToolTip("Keep showing the newest frames while the run is still being written")
        self.follow_box.setChecked(True)
        self.timeline.addWidget(QtWidgets.QLabel(" Recorded step "))
        self.timeline.addWidget(self.step_slider)
        self.timeline.addWidget(self.timeline_label)
        self.timeline.addWidget(self.follow_box)
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.timeline)
        self.timeline.hide()
        self.step_slider.valueChanged.connect(self._show_recorded_step)
        self._recorded_steps: list[int] = []
        self._follow_timer = QtCore.QTimer(self)
        self._follow_timer.setInterval(FOLLOW_INTERVAL_MS)
        self._follow_timer.timeout.connect(self._follow_recorded)

    def _refresh_view_menu(self) -> None:
        self.view_menu.clear()
        for dock in [self.setup_dock, *self.docks.values()]:
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.action_reset_layout)

    # ------------------------------------------------------------------------------ panels and layout
    def _panel(self, name: str) -> QtWidgets.QWidget:
        """The panel for frames named ``name``, made (in a dock, placed by default) on first use."""
        if name in self.panels:
            return self.panels[name]
        panel = create_panel(name)
        dock = self._dock(name, PANEL_TITLES.get(name, name.replace("_", " ").capitalize()), panel)
        self.panels[name], self.docks[name] = panel, dock
        self._place(name)
        if isinstance(panel, ChainsPanel):
            panel.chainClicked.connect(self.restart_chain)
            panel.gibbsPerFrameChanged.connect(self._gibbs_per_frame_changed)
        self._refresh_view_menu()
        return panel

    def _place(self, name: str) -> None:
        """Default arrangement: the first image panel big on the right of the setup, the second beside
        it, the others stacked under the second; curves along the bottom."""
        dock = self.docks[name]
        area = QtCore.Qt.DockWidgetArea
        if name == "curves":
            self.addDockWidget(area.BottomDockWidgetArea, dock)
        else:
            images = [self.docks[n] for n in self.docks if n not in ("curves", name)]
            if not images:
                self.addDockWidget(area.RightDockWidgetArea, dock)
            elif len(images) == 1:
                self.splitDockWidget(images[0], dock, QtCore.Qt.Orientation.Horizontal)
            else:
                self.splitDockWidget(images[-1], dock, QtCore.Qt.Orientation.Vertical)
        dock.show()

    def _use_model_panels(self, model: str) -> None:
        """Show the panels of ``model``'s family, laid out as the user left them for this model."""
        if model == self.model:
            return
        if self.model:
            self._save_layout()
        for name in [n for n in self.docks if n != "curves"]:
            dock = self.docks.pop(name)
            self.panels.pop(name)
            self.removeDockWidget(dock)
            dock.deleteLater()
        self.model = model
        for name in FAMILY_PANELS.get(family_of(model), ()):
            self._panel(name)
        state = self._settings().value(f"layout/{model}")
        if state is None or not self.restoreState(state):
            # sizes apply once the new docks are laid out, i.e. after this event
            QtCore.QTimer.singleShot(0, self._apply_default_sizes)

    def _apply_default_sizes(self) -> None:
        images = [d for n, d in self.docks.items() if n != "curves"][:2]
        widths = [290, 700, 400][:1 + len(images)]
        self.resizeDocks([self.setup_dock, *images], widths, QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["curves"]], [230], QtCore.Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """Put every dock back where a first launch puts it."""
        docks, self.docks = self.docks, {}
        for dock in [self.setup_dock, *docks.values()]:
            self.removeDockWidget(dock)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.setup_dock.show()
        for name, dock in docks.items():   # in order of creation, as _place expects
            self.docks[name] = dock
            self._place(name)
        QtCore.QTimer.singleShot(0, self._apply_default_sizes)

    def _save_layout(self) -> None:
        settings = self._settings()
        if self.model:
            settings.setValue(f"layout/{self.model}", self.saveState())
        settings.setValue("window/geometry", self.saveGeometry())

    # ------------------------------------------------------------------------------ state
    def _set_state(self, state: str) -> None:
        """idle | starting | running | paused | viewing: enables what makes sense."""
        self.state = state
        training = state in ("starting", "running", "paused")
        live = state in ("running", "paused")
        self.action_start.setEnabled(not training)
        self.action_pause.setEnabled(live)
        self.action_step.setEnabled(live)
        self.action_stop.setEnabled(training)
        self.action_reset.setEnabled(True)
        self.action_export.setEnabled(self.run_dir is not None)
        with QtCore.QSignalBlocker(self.action_pause):
            self.action_pause.setChecked(state == "paused")
        self.action_pause.setText("Resume" if state == "paused" else "Pause")
        self.setup.set_running(training)
        chains = self.panels.get("chains")
        if isinstance(chains, ChainsPanel):   # a recording's chains moved as they were recorded
            chains.gibbs_spin.setEnabled(state != "viewing")
        self.state_label.setText(state)

    def show_error(self, message: str) -> None:
        """Show a message in the banner over the panels (non-blocking; the app keeps running)."""
        self.error_banner.setText(message)
        self._fit_banner()
        self.banner_bar.show()
        self.statusBar().showMessage((message.splitlines() or [""])[0], 10_000)

    def _fit_banner(self) -> None:
        """A word-wrapped label guesses its height for a narrow width: give it the one it will have."""
        self.error_banner.setFixedHeight(self.error_banner.heightForWidth(max(300, self.width() - 120)))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self.banner_bar.isHidden():
            self._fit_banner()

    def clear_error(self) -> None:
        self.error_banner.clear()
        self.banner_bar.hide()

    @property
    def error_text(self) -> str:
        return "" if self.banner_bar.isHidden() else self.error_banner.text()

    # ------------------------------------------------------------------------------ training
    def start_clicked(self) -> None:
        self.start_run()

    def start_run(self, spec: RunSpec | None = None) -> None:
        """Start training ``spec`` (default: the settings on the left) in a new recorded run."""
        if spec is None:
            spec = RunSpec(model=self.setup.model, data=self.setup.data_combo.currentText().strip(),
                           device=self.setup.device_combo.currentText(), seed=self.setup.seed_spin.value(),
                           overrides=self.setup.editor.overrides())
        self._shutdown_worker()
        self._close_recorded()
        self.clear_error()
        self._use_model_panels(spec.model)
        self.curves.clear()
        self.last_frames.clear()
        self._pending.clear()
        self.run_dir = None
        self.run_label.setText(f"starting {spec.model} on {spec.data}…")
        self.worker = TrainingWorker(spec, self)
        self.worker.ready.connect(self._worker_ready)
        self.worker.framesArrived.connect(self.queue_frames)
        self.worker.rowsArrived.connect(self.curves.add_rows)
        self.worker.statusChanged.connect(self._status_changed)
        self.worker.failed.connect(self._worker_failed)
        self.worker.finished.connect(self._worker_finished)
        self._paused = spec.paused
        self._set_state("starting")

    def _worker_ready(self, info: dict) -> None:
        self.run_dir = Path(info["run_dir"])
        spec = self.worker.spec
        self.setup.set_catalog(info["catalog"])
        self.setup.set_run(info["model"], spec.data, spec.device, spec.seed, info["config"])
        chains = self.panels.get("chains")
        if isinstance(chains, ChainsPanel) and "gibbs_per_frame" in info["config"]:
            chains.set_gibbs_per_frame(info["config"]["gibbs_per_frame"])
        self.device_label.setText(info["device"])
        self.run_label.setText(f"recording to {self.run_dir}")
        self.setWindowTitle(f"genstudio — {self.run_dir.name}")
        self._set_state("paused" if self._paused else "running")

    def _worker_failed(self, message: str, catalog: dict) -> None:
        self.setup.set_catalog(catalog)
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self.run_label.setText("")
        self._set_state("idle")
        self.show_error(f"Could not start training: {message}")

    def _worker_finished(self, summary: dict) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self._set_state("idle")
        status = summary.get("status", "")
        self.state_label.setText(status)
        where = f" (the run is kept in {self.run_dir})" if self.run_dir else ""
        if status in ("failed", "diverged"):
            message = summary.get("message", "")
            if not message.startswith(f"training {status}"):   # a diverged run's message says so itself
                message = f"training {status} at step {summary.get('steps')}: {message}"
            self.show_error(f"{message[:1].upper()}{message[1:]}{where}")
        else:
            self.statusBar().showMessage(f"Run {status} at step {summary.get('steps')}{where}", 10_000)

    def _status_changed(self, status: dict) -> None:
        self.last_status = status
        self.step_label.setText(f"step {status['step']:,}")
        self.rate_label.setText(f"{status['steps_per_s']:,.0f} steps/s")
        now = time.monotonic()
        while self._frame_times and now - self._frame_times[0] > 1.0:
            self._frame_times.popleft()
        self.fps_label.setText(f"{len(self._frame_times)} frames/s")
        if status.get("message") and status["message"] != self._last_message:
            self.statusBar().showMessage(status["message"], 10_000)   # e.g. a live edit the engine refused
        self._last_message = status.get("message", "")

    def show_frames(self, frames: list) -> None:
        """Hand each frame to its panel (made on first use) now."""
        for frame in frames:
            self._draw(frame)
        self._count_frame()

    def queue_frames(self, frames: list) -> None:
        """Live frames: each panel takes its frame in a turn of the event loop of its own (the
        newest frame of a name wins), so the UI is never blocked for all panels' painting at once."""
        for frame in frames:
            self._pending[frame.name] = frame
        self._count_frame()
        if not self._pending_timer.isActive():
            self._pending_timer.start()

    def _draw_next_pending(self) -> None:
        if not self._pending:
            self._pending_timer.stop()
            return
        self._draw(self._pending.pop(next(iter(self._pending))))

    def _draw(self, frame) -> None:
        self._panel(panel_name(frame)).show_frame(frame)
        self.last_frames[frame.name] = frame

    def _count_frame(self) -> None:
        self.frames_shown += 1
        self._frame_times.append(time.monotonic())

    def set_paused(self, paused: bool) -> None:
        if self.worker is None or self.state not in ("running", "paused"):
            return
        self.worker.send("pause" if paused else "resume")
        self._set_state("paused" if paused else "running")

    def step_once(self) -> None:
        """Exactly one training step; a running run is paused first."""
        if self.worker is None or self.state not in ("running", "paused"):
            return
        if self.state == "running":
            self.set_paused(True)
        self.worker.send("step", 1)

    def stop_run(self) -> None:
        """Stop training and wait for the run to be saved (status stopped, checkpoint written)."""
        self._shutdown_worker()
        self._set_state("idle")

    def reset_run(self) -> None:
        """Stop the current run (it is kept) and start a new one with the settings on the left."""
        self.start_run()

    def _shutdown_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                worker.stop()
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
                worker.deleteLater()
            if worker.summary:
                self.statusBar().showMessage(
                    f"Run {worker.summary.get('status')} at step {worker.summary.get('steps')}, kept in {self.run_dir}",
                    10_000)

    def restart_chain(self, index: int) -> None:
        """Restart Gibbs chain ``index`` from a random test digit (the chains panel's click)."""
        if self.worker is not None:
            self.worker.send("call", "restart_chain", (int(index),))

    def _live_edit(self, name: str, value) -> None:
        if self.worker is not None:
            self.worker.send("set", name, value)
        chains = self.panels.get("chains")
        if name == "gibbs_per_frame" and isinstance(chains, ChainsPanel):
            chains.set_gibbs_per_frame(value)

    def _gibbs_per_frame_changed(self, n: int) -> None:
        if self.worker is not None:
            self.worker.send("set", "gibbs_per_frame", int(n))
        if "gibbs_per_frame" in self.setup.editor.fields:
            self.setup.editor.set_value("gibbs_per_frame", int(n))

    # ------------------------------------------------------------------------------ recorded runs
    def open_run_dialog(self) -> None:
        start = str(self.run_dir.parent if self.run_dir else Path.home())
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a recorded run", start)
        if path:
            self.open_run(path)

    def open_run(self, path) -> bool:
        """View a recorded run (finished, or still written by a headless job: then it is followed)."""
        from engines.core.store import StoreError
        from studio.replay import RecordedRun
        from studio.worker import model_catalog

        try:
            recorded = RecordedRun(path)
        except StoreError as exc:
            self.show_error(f"Cannot open run: {exc}")
            return False
        self._shutdown_worker()
        self._close_recorded()
        self.clear_error()
        self.recorded = recorded
        self.run_dir = recorded.path
        meta = recorded.meta
        model = meta["model"]
        if model in MODELS:
            self.setup.set_catalog(model_catalog())
            self.setup.set_run(model, meta.get("data", "mnist"), meta.get("device", "auto"),
                               meta.get("seed", 0), meta.get("config"))
        self._use_model_panels(model)
        chains = self.panels.get("chains")
        if isinstance(chains, ChainsPanel) and "gibbs_per_frame" in meta.get("config", {}):
            chains.set_gibbs_per_frame(meta["config"]["gibbs_per_frame"])
        self.curves.clear()
        self.last_frames.clear()
        self._pending.clear()
        for name, (steps, walls, values) in recorded.series().items():
            self.curves.set_series(name, steps, walls, values)
        self.device_label.setText(meta.get("device", ""))
        self.setWindowTitle(f"genstudio — {recorded.path.name} (recorded)")
        self.timeline.show()
        self._set_state("viewing")
        self._update_timeline(jump_to_end=True)
        if recorded.running:
            self._follow_timer.start()
        self._update_recorded_status()
        return True

    def _update_timeline(self, jump_to_end: bool) -> None:
        self._recorded_steps = self.recorded.frame_steps()
        at_end = self.step_slider.value() >= self.step_slider.maximum()
        with QtCore.QSignalBlocker(self.step_slider):
            self.step_slider.setRange(0, max(0, len(self._recorded_steps) - 1))
        if self._recorded_steps and (jump_to_end or (at_end and self.follow_box.isChecked())):
            self.step_slider.setValue(self.step_slider.maximum())
            self._show_recorded_step(self.step_slider.maximum())
        elif not self._recorded_steps:
            self.timeline_label.setText("no frames recorded yet")

    def _show_recorded_step(self, index: int) -> None:
        if self.recorded is None or not self._recorded_steps:
            return
        step = self._recorded_steps[index]
        self.show_frames(self.recorded.frames_at(step))
        self.timeline_label.setText(f" {step:,} ({index + 1}/{len(self._recorded_steps)}) ")

    def _follow_recorded(self) -> None:
        from engines.core.store import StoreError
        try:
            rows = self.recorded.poll()
        except StoreError as exc:
            self._follow_timer.stop()
            self.show_error(f"Stopped following the run: {exc}")
            return
        if rows:
            self.curves.add_rows(rows)
        self._update_timeline(jump_to_end=False)
        self._update_recorded_status()
        if not self.recorded.running:
            self._follow_timer.stop()

    def _update_recorded_status(self) -> None:
        meta = self.recorded.meta
        status = meta.get("status", "?")
        last = self._recorded_steps[-1] if self._recorded_steps else 0
        self.state_label.setText(f"recorded · {status}" + (" (following)" if self.recorded.running else ""))
        self.step_label.setText(f"step {meta.get('steps', last):,}")
        self.run_label.setText(f"viewing {self.recorded.path}")

    def _close_recorded(self) -> None:
        self._follow_timer.stop()
        self.timeline.hide()
        if self.recorded is not None:
            self.recorded.close()
            self.recorded = None

    # ------------------------------------------------------------------------------ export, help
    def open_export_dialog(self):
        """File → Export for the current run (live, finished or opened); returns the dialog."""
        from studio.export import ExportError
        from studio.export_dialog import ExportDialog

        if self.run_dir is None:
            self.show_error("Nothing to export yet: start a run or open one first.")
            return None
        try:
            dialog = ExportDialog(self.run_dir, self)
        except ExportError as exc:
            self.show_error(f"Cannot export: {exc}")
            return None
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in SHORTCUTS)
        self._message("Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        self._message("About genstudio",
                      "<b>genstudio</b><br>Train the classic image generative models and watch them learn: "
                      "Gibbs chains mixing, filters forming, curves falling.<br><br>"
                      "Every run is recorded; open it again with File → Open run, export it with File → Export.")

    def _message(self, title: str, html: str) -> None:
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.NoIcon, title, html,
                                    QtWidgets.QMessageBox.StandardButton.Close, self)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ------------------------------------------------------------------------------ closing
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Save the layout, stop training (the run is kept, with a checkpoint) and wait for it."""
        self._save_layout()
        self._shutdown_worker()
        self._close_recorded()
        for dialog in self.findChildren(QtWidgets.QDialog):
            dialog.close()
        super().closeEvent(event)
