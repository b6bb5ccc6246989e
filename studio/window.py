"""The main window: run setup on the left, a dock per view of the run, run controls, status bar
and menus.

It owns at most one training run (a :class:`~studio.worker.TrainingWorker`, whose signals arrive
in the GUI thread) or one recorded run being viewed (a :class:`~studio.recorded_view.RecordedRunView`).
It knows no model and no panel by name: a run's views (from the training process, or from the run
store of a recording) say which panels to show, and every panel is wired the same way.
Nothing here imports torch: the window shows first, the training process loads the heavy parts.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.config import FieldInfo, fields_of
from engines.core.views import View
from studio.controls import RunSetup
from studio.keys import ShortcutsWin
from studio.layout import DockLayout, settings
from studio.panels.images import Caption
from engines.live.protocol import Pause, Resume, RunSpec, Step
from engines.registry import model_spec
from studio.recorded_view import RecordedRunView, Timeline
from studio.run_browser import RunBrowser
from studio.worker import TrainingWorker

SCREEN_FILL = 0.92                # first launch: this share of the screen's available area
STATUS_MESSAGE_MS = 10_000        # how long a status-bar message stays
PICTURE_RATE_WINDOW_S = 2.0       # pictures/s: the main panel's pictures painted in the last 2 s
RUN_BACKLOG_S = 0.5               # a run of sampling pictures more than this far behind plays faster
MARKED_EVENTS = ("set", "action", "rewound", "resumed")  # run events shown as lines on the curves
RESUMABLE = ("stopped", "crashed")

def version() -> str:
    """The installed package's version (or "development" from a checkout that is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("genstudio")
    except metadata.PackageNotFoundError:
        return "development"


class MainWindow(QtWidgets.QMainWindow):
    """The studio. ``start_run(spec)`` trains, ``open_run(path)`` views a recording."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("genstudio")
        self.setObjectName("genstudio-main")
        self.setDockNestingEnabled(True)
        self.setCorner(QtCore.Qt.Corner.BottomLeftCorner, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.worker: TrainingWorker | None = None
        self.viewer: RecordedRunView | None = None
        self.run_dir: Path | None = None          # the run File → Export works on
        self.last_status: dict = {}
        self.last_frames: dict[str, object] = {}  # newest frame of each name, as drawn
        self.frames_shown = 0                     # frame messages received (a first picture, for tests)
        self._views_known = False                 # the run's panels exist: frames can be drawn
        self._pending: dict[str, object] = {}     # live frames not drawn yet, by name
        self._pending_timer = QtCore.QTimer(self)
        self._pending_timer.setInterval(0)
        self._pending_timer.timeout.connect(self._draw_next_pending)
        self._wanted_timer = QtCore.QTimer(self)
        self._wanted_timer.setSingleShot(True)
        self._wanted_timer.timeout.connect(self._send_wanted)
        self._playlist: deque = deque()          # sampling pictures still to play: (frames, state time)
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._play_next)
        self._spacing = 0.0
        self._next_play = 0.0
        self._state_wall = 0.0                    # when the state of the live frames queued was taken
        self._painted: deque = deque()            # (time, main panel's pictures painted) samples
        self._paused = False
        self._last_message = ""
        self._shown_up_to = -1

        self.setup = RunSetup()
        self.setup.editor.liveChanged.connect(self._live_edit)
        self.setup.editor.refused.connect(self._edit_refused)
        self.browser = RunBrowser(settings())
        self.browser.openRequested.connect(self.open_run)
        self.browser.compareRequested.connect(self.compare_runs)
        self.browser.resumeRequested.connect(self.resume_run)
        left = []
        for name, title, widget in (("setup", "Run setup", self.setup), ("runs", "Runs", self.browser)):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(widget)
            left.append(dock)
        self.layout_ = DockLayout(self, left)
        self.layout_.layoutChanged.connect(self._refresh_view_menu)
        self.layout_.visibilityChanged.connect(self._visibility_changed)
        self.curves = self.layout_.curves

        self._make_actions()
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)     # Esc in a field gives the window the keys
        QtWidgets.QApplication.instance().installEventFilter(ShortcutsWin(self))
        self._make_menus_and_toolbars()
        self._make_status_bar()
        self.timeline = Timeline(self)
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.timeline)
        self.timeline.hide()
        self._set_state("idle")
        self._restore_geometry()

    def _restore_geometry(self) -> None:
        """The size and place of the last session, if it was on a screen of this size; else most
        of the screen."""
        geometry = settings().value("window/geometry")
        if geometry is not None and settings().value("window/screen") == self.layout_.screen_key:
            self.restoreGeometry(geometry)
            return
        screen = self.screen().availableGeometry()
        self.resize(int(screen.width() * SCREEN_FILL), int(screen.height() * SCREEN_FILL))
        self.move(screen.center() - self.rect().center())

    @property
    def panels(self) -> dict:
        return self.layout_.panels

    @property
    def docks(self) -> dict:
        return self.layout_.docks

    @property
    def setup_dock(self) -> QtWidgets.QDockWidget:
        return self.layout_.setup_dock

    # ------------------------------------------------------------------------------ building
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
        self.action_resume = self._action("Resume run", self.resume_viewed_run, ["Ctrl+Shift+R"],
                                          "Continue the run shown (stopped or crashed) from its last checkpoint")
        self.save_picture_menu = QtWidgets.QMenu("Save picture of", self)
        self.save_picture_menu.setToolTipsVisible(True)
        self.save_picture_menu.aboutToShow.connect(self._fill_save_picture_menu)
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
        file_menu.addActions([self.action_open, self.action_resume, self.action_export])
        file_menu.addMenu(self.save_picture_menu)
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
        # Captions, not QLabels: they change several times a second, and a QLabel's new text
        # relayouts the window (sized for the longest text they usually show).
        self.state_label, self.step_label, self.rate_label, self.fps_label, self.device_label = (
            Caption(width_of=sample) for sample in ("recorded · stopped (following)", "step 10,000,000",
                                                    "10,000 steps/s", "30.0 pictures/s", "cuda:0"))
        self.run_label = Caption(elide=QtCore.Qt.TextElideMode.ElideMiddle)    # a run's path: both ends matter
        for label in (self.state_label, self.step_label, self.rate_label, self.fps_label, self.device_label):
            bar.addPermanentWidget(label)
        bar.addWidget(self.run_label, 1)

    def _refresh_view_menu(self) -> None:
        self.view_menu.clear()
        for dock in self.layout_.all_docks():
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.action_reset_layout)

    # ------------------------------------------------------------------------------ panels
    def _show_views(self, model: str, views: list[View], fields: list[FieldInfo], config: dict, live: bool) -> None:
        """Make the run's panels (kept if the same model's are shown), wired the same way for all,
        showing ``config`` in their controls; ``live`` while a run trains, else a replay."""
        for panel in self.layout_.use(model, views, fields):
            panel.configEdited.connect(self._panel_edit)
            panel.methodCalled.connect(self._panel_call)
        for name in self.layout_.views:
            self.panels[name].set_config(config)
            self.panels[name].set_live(live)
        self._views_known = True
        self._visibility_changed()
        if self._pending and not self._pending_timer.isActive():
            self._pending_timer.start()

    def _visibility_changed(self) -> None:
        self._wanted_timer.start(0)     # once the dock moves of this event have settled

    def _send_wanted(self) -> None:
        if self.worker is not None and self._views_known:
            self.worker.set_wanted(self.layout_.visible_frames())

    def reset_layout(self) -> None:
        """Put every dock back where a first launch puts it."""
        self.layout_.reset()

    # ------------------------------------------------------------------------------ state
    def _set_state(self, state: str) -> None:
        """idle | starting | running | paused | viewing: enables what makes sense."""
        self.state = state
        training = state in ("starting", "running", "paused")
        live = state in ("running", "paused")
        self.action_start.setEnabled(not training)
        self.action_pause.setEnabled(live or state == "viewing")
        self.action_step.setEnabled(live)
        self.action_stop.setEnabled(training)
        self.action_reset.setEnabled(True)
        self.action_export.setEnabled(self.run_dir is not None)
        self.action_resume.setEnabled(state == "viewing" and self.viewer is not None
                                      and self.viewer.recorded.status in RESUMABLE)
        with QtCore.QSignalBlocker(self.action_pause):
            self.action_pause.setChecked(state == "paused")
        self.action_pause.setText({"paused": "Resume", "viewing": "Play / pause"}.get(state, "Pause"))
        self.action_pause.setStatusTip("Play or pause the recorded run's timeline" if state == "viewing"
                                       else "Pause or resume training")
        self.setup.set_running(training)
        for name in self.layout_.views:
            self.panels[name].set_live(training)
        self.state_label.setText(state)

    def show_error(self, message: str) -> None:
        """Show a message in the banner over the panels (non-blocking; the app keeps running)."""
        self.error_banner.setText(message)
        self._fit_banner()
        self.banner_bar.show()
        self.statusBar().showMessage((message.splitlines() or [""])[0], STATUS_MESSAGE_MS)

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

    def start_run(self, spec: RunSpec | None = None, children=None) -> None:
        """Start training ``spec`` (default: the settings on the left) in a new recorded run
        (``children``: its processes, already started by ``studio.worker.start_children``)."""
        if spec is None:
            spec = RunSpec(model=self.setup.model, data=self.setup.data_combo.currentText().strip() or None,
                           device=self.setup.device_combo.currentText(), seed=self.setup.seed_spin.value(),
                           overrides=self.setup.editor.overrides())
        self._shutdown_worker()
        self._close_recorded()
        self.clear_error()
        self.curves.clear()
        self.last_frames.clear()
        self._pending.clear()
        self._playlist.clear()
        self._views_known = False
        self._shown_up_to = -1                    # live rows at or before this step are shown already
        self.run_dir = None
        self.run_label.setText(f"starting {spec.model}…")
        self.setup.show_starting(spec.model, spec.data, spec.seed)     # not the first model of the list
        self.worker = TrainingWorker(spec, self, children)
        self.worker.ready.connect(self._worker_ready)
        self.worker.framesArrived.connect(self._live_frames)
        self.worker.runArrived.connect(self.queue_run)
        self.worker.rowsArrived.connect(self._rows_arrived)
        self.worker.eventsArrived.connect(self._events_arrived)
        self.worker.statusChanged.connect(self._status_changed)
        self.worker.failed.connect(self._worker_failed)
        self.worker.finished.connect(self._worker_finished)
        self.worker.building.connect(self._building)
        self._paused = spec.paused
        self._set_state("starting")

    def _worker_ready(self, info: dict) -> None:
        self.run_dir = Path(info["run_dir"])
        spec = self.worker.spec
        model = model_spec(info["model"])
        self.setup.set_run(model.name, info["data"], spec.device, spec.seed, info["config"])
        self._show_views(model.name, list(model.views), fields_of(model.Config), info["config"], live=True)
        if spec.resume:
            self._show_recorded_curves(self.run_dir)     # the curves so far; live rows continue them
        self.device_label.setText(info["device"])
        self.run_label.setText(f"recording to {self.run_dir}")
        self.setWindowTitle(f"genstudio — {self.run_dir.name}")
        self._set_state("paused" if self._paused else "running")

    def _building(self, text: str, done: bool) -> None:
        """A first use builds a cached artefact (a dataset, the digit classifier): the status bar
        says what and how far until it is built (training waits for it)."""
        self.statusBar().showMessage(text[:1].upper() + text[1:], STATUS_MESSAGE_MS if done else 0)

    def _worker_failed(self, message: str) -> None:
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
            self.statusBar().showMessage(f"Run {status} at step {summary.get('steps')}{where}", STATUS_MESSAGE_MS)
        self.run_label.setText(f"run kept in {self.run_dir}" if self.run_dir else "")

    def _status_changed(self, status: dict) -> None:
        self.last_status = status
        self.step_label.setText(f"step {status['step']:,}")
        self.rate_label.setText(f"{0 if status['paused'] else status['steps_per_s']:,.0f} steps/s")   # "paused" is the state label's
        self.fps_label.setText(f"{self.pictures_per_s():.1f} pictures/s")
        if status.get("message") and status["message"] != self._last_message:
            self.statusBar().showMessage(status["message"], STATUS_MESSAGE_MS)   # e.g. a refused edit
        self._last_message = status.get("message", "")

    def _events_arrived(self, events: list) -> None:
        """Applied live edits and actions are confirmed in the status bar and marked on the curves;
        a run that paused itself (it diverged, the disk is nearly full) says why in the banner."""
        marks = [(step, text) for step, kind, text in events if kind in MARKED_EVENTS]
        self.curves.add_markers(marks)
        for step, text in marks:
            self.statusBar().showMessage(f"{text} applied at step {step:,}", STATUS_MESSAGE_MS)
        for step, kind, text in events:
            if kind == "alert":
                self.show_error(text[:1].upper() + text[1:])
                if self.state == "running":
                    self._set_state("paused")           # the run paused itself

    def show_frames(self, frames: list) -> None:
        """Hand each frame to its panel now."""
        for frame in frames:
            self._draw(frame)
        self.frames_shown += 1

    def _live_frames(self, frames: list) -> None:
        self._state_wall = self.worker.state_wall if self.worker is not None else 0.0
        self.queue_frames(frames)

    def queue_frames(self, frames: list) -> None:
        """Live frames: each panel takes its frame in a turn of the event loop of its own (the
        newest frame of a name wins), so the UI is never blocked for all panels' painting at once.
        A frame of a name that a run of sampling pictures still holds replaces the run's (it was
        drawn for what the user did, after them)."""
        names = {frame.name for frame in frames}
        for frame in frames:
            self._pending[frame.name] = frame
        if self._playlist and names:
            kept = [([f for f in picture if f.name not in names], wall) for picture, wall in self._playlist]
            self._playlist = deque((picture, wall) for picture, wall in kept if picture)
        self.frames_shown += 1
        if self._views_known and not self._pending_timer.isActive():
            self._pending_timer.start()

    def queue_run(self, pictures: list, spacing: float, state_wall: float) -> None:
        """Pictures of sampling views drawn from one training state, played ``spacing`` seconds
        apart (a little faster while more than ``RUN_BACKLOG_S`` of them wait)."""
        self._playlist.extend((picture, state_wall) for picture in pictures)
        self._spacing = spacing
        self.frames_shown += 1
        if not self._play_timer.isActive():
            self._next_play = time.monotonic()
            self._play_next()

    def _play_next(self) -> None:
        """Show the next sampling picture; the one after it is due ``spacing`` after this one was
        (a clock of its own: the time a picture takes to show does not slow the pace)."""
        if not self._playlist or not self._views_known:
            self._play_timer.stop()
            return
        picture, wall = self._playlist.popleft()
        for frame in picture:
            self._draw(frame, wall)
        behind = len(self._playlist) * self._spacing > RUN_BACKLOG_S
        now = time.monotonic()
        self._next_play = max(now, self._next_play + self._spacing * (0.75 if behind else 1.0))
        self._play_timer.setSingleShot(True)
        self._play_timer.start(max(0, round(1000 * (self._next_play - now))))

    def _draw_next_pending(self) -> None:
        if not self._pending or not self._views_known:
            self._pending_timer.stop()
            return
        self._draw(self._pending.pop(next(iter(self._pending))), self._state_wall)

    def _draw(self, frame, state_wall: float = 0.0) -> None:
        panel, new = self.layout_.panel_for(frame)
        if new:
            panel.set_live(self.state in ("starting", "running", "paused"))
        panel.state_wall = state_wall
        panel.show_frame(frame)
        panel.picture_shown()
        self.last_frames[frame.name] = frame

    @property
    def main_pictures_painted(self) -> int:
        """Pictures the main panel has painted (counted by the panel; see ``Panel.picture_shown``)."""
        panel = self.layout_.main_panel
        return panel.pictures_painted if panel is not None else 0

    def pictures_per_s(self) -> float:
        """The main panel's pictures painted a second, over the last ``PICTURE_RATE_WINDOW_S``."""
        now, painted = time.monotonic(), self.main_pictures_painted
        self._painted.append((now, painted))
        while len(self._painted) > 2 and now - self._painted[1][0] >= PICTURE_RATE_WINDOW_S:
            self._painted.popleft()
        then, before = self._painted[0]
        return (painted - before) / (now - then) if now > then and painted >= before else 0.0

    def set_paused(self, paused: bool) -> None:
        """Space: pause or resume training; while a recorded run is viewed, play or pause its timeline."""
        if self.state == "viewing":
            with QtCore.QSignalBlocker(self.action_pause):
                self.action_pause.setChecked(False)
            self.timeline.toggle_play()
            return
        if self.worker is None or self.state not in ("running", "paused"):
            return
        self.worker.send(Pause() if paused else Resume())
        self._set_state("paused" if paused else "running")

    def step_once(self) -> None:
        """Exactly one training step; a running run is paused first."""
        if self.worker is None or self.state not in ("running", "paused"):
            return
        if self.state == "running":
            self.set_paused(True)
        self.worker.send(Step(1))

    def stop_run(self) -> None:
        """Stop training, wait for the run to be saved (status stopped, checkpoint written), then
        show it as a recorded run: every frame it recorded is on the timeline."""
        run_dir = self.run_dir
        self._shutdown_worker()
        self._set_state("idle")
        if run_dir is not None:
            self.open_run(run_dir, confirm=False)

    def reset_run(self) -> None:
        """Stop the current run (it is kept) and start a new one with the settings on the left."""
        self.start_run()

    def _shutdown_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.blockSignals(True)       # what it still sends while stopping is for a window that moved on
            self.state_label.setText("stopping…")
            self.statusBar().showMessage("Stopping: saving the run's last pictures and a checkpoint…")
            self.statusBar().repaint()      # painted now: the wait below runs no event loop
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                worker.stop()
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
                worker.deleteLater()
            if worker.summary:
                self.statusBar().showMessage(
                    f"Run {worker.summary.get('status')} at step {worker.summary.get('steps')}, kept in {self.run_dir}",
                    STATUS_MESSAGE_MS)

    def _live_edit(self, name: str, value) -> None:
        """A live field edited in the run setup: the run takes it, the panels show it."""
        if self.worker is not None:
            self.worker.set_field(name, value)
        for view_name in self.layout_.views:
            self.panels[view_name].set_config({name: value})

    def _panel_edit(self, name: str, value) -> None:
        """A live field edited in a panel's controls: the run takes it, the run setup shows it."""
        if self.worker is not None:
            self.worker.set_field(name, value)
        self.setup.editor.set_value(name, value)

    def _panel_call(self, method: str, args) -> None:
        if self.worker is not None:
            self.worker.call(method, tuple(args))

    def _edit_refused(self, name: str, message: str) -> None:
        self.statusBar().showMessage(f"Not applied: {message}", STATUS_MESSAGE_MS)

    # ------------------------------------------------------------------------------ recorded runs
    def open_run_dialog(self) -> None:
        start = str(self.run_dir.parent if self.run_dir else Path.home())
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a recorded run", start)
        if path:
            self.open_run(path)

    def open_run(self, path, confirm: bool = True) -> bool:
        """View a recorded run (finished, or still written by a headless job: then it is followed).
        A run training in this window is stopped first (it is kept), after asking when ``confirm``."""
        from engines.core.store import StoreError
        from engines.records.replay import RecordedRun

        try:
            recorded = RecordedRun(path)
        except StoreError as exc:
            self.show_error(f"Cannot open run: {exc}")
            return False
        if confirm and self.worker is not None and not self._confirm_stop(Path(path).name):
            recorded.close()
            return False
        self._shutdown_worker()
        self._close_recorded()
        self.clear_error()
        self.run_dir = recorded.path
        meta = recorded.meta
        model, fields, config = meta["model"], recorded.fields(), meta.get("config") or {}
        self.setup.set_run(model, meta.get("data", ""), meta.get("device", "auto"), meta.get("seed", 0), config,
                           fields=fields)
        self.curves.clear()
        self.last_frames.clear()
        self._pending.clear()
        self._playlist.clear()
        self._show_views(model, recorded.views(), fields, config, live=False)
        self.device_label.setText(meta.get("device", ""))
        self.run_label.setText(f"viewing {recorded.path}")
        self.setWindowTitle(f"genstudio — {recorded.path.name} (recorded)")
        self.viewer = RecordedRunView(recorded, self.timeline, self)
        self._set_state("viewing")
        self.viewer.framesShown.connect(self.show_frames)
        self.viewer.curvesLoaded.connect(self._curves_loaded)
        self.viewer.rowsArrived.connect(self.curves.add_rows)
        self.viewer.eventsArrived.connect(self._events_arrived)
        self.viewer.statusChanged.connect(self._recorded_status)
        self.viewer.failed.connect(self.show_error)
        self.viewer.start()
        return True

    def resume_viewed_run(self) -> None:
        if self.viewer is not None:
            self.resume_run(str(self.viewer.recorded.path))

    def resume_run(self, path: str) -> bool:
        """Continue a stopped or crashed run from its last checkpoint, live, in the same directory."""
        from engines.core.store import RunStore, StoreError

        try:
            store = RunStore.open(path)
            meta = store.meta()
            store.close()
        except StoreError as exc:
            self.show_error(f"Cannot resume: {exc}")
            return False
        if "model" not in meta:
            self.show_error(f"Cannot resume: {path} holds no run description")
            return False
        if self.worker is not None and not self._confirm_stop(Path(path).name):
            return False
        device = meta.get("device", "auto")
        self.start_run(RunSpec(model=meta["model"], data=meta.get("data"), seed=int(meta.get("seed", 0)),
                               device=device if device == "cpu" else "auto", overrides=meta.get("config") or {},
                               resume=str(path)))
        return True

    def compare_runs(self, paths: list) -> None:
        """Open the runs side by side in a window of their own."""
        from engines.core.store import StoreError
        from studio.compare import CompareWindow

        try:
            window = CompareWindow(paths, self)
        except StoreError as exc:
            self.show_error(f"Cannot compare: {exc}")
            return
        window.show()

    def _confirm_stop(self, opening: str) -> bool:
        answer = QtWidgets.QMessageBox.question(
            self, "Stop training?", f"A run is training. Stop it (it is kept, with a checkpoint) and open {opening}?",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel,
            QtWidgets.QMessageBox.StandardButton.Cancel)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def _rows_arrived(self, rows: list) -> None:
        self.curves.add_rows([row for row in rows if row[0] > self._shown_up_to])

    def _curves_loaded(self, series: dict, events: list) -> None:
        """A recorded run's curves, with its live edits, actions and resumes marked on them."""
        for name, (steps, walls, values) in series.items():
            self.curves.set_series(name, steps, walls, values)
            if len(steps):
                self._shown_up_to = max(self._shown_up_to, int(steps[-1]))
        self.curves.add_markers([(step, text) for step, kind, text in events if kind in MARKED_EVENTS])

    def _show_recorded_curves(self, path) -> None:
        from engines.core.store import StoreError
        from engines.records.replay import RecordedRun

        try:
            recorded = RecordedRun(path)
        except StoreError:
            return
        try:
            self._curves_loaded(recorded.series(), recorded.events())
        finally:
            recorded.close()

    def _recorded_status(self, state: str, step: str) -> None:
        self.state_label.setText(state)
        self.step_label.setText(step)

    def _close_recorded(self) -> None:
        if self.viewer is not None:
            self.viewer.close()
            self.viewer.deleteLater()
            self.viewer = None

    # ------------------------------------------------------------------------------ export, help
    def open_export_dialog(self):
        """File → Export for the current run (live, finished or opened); returns the dialog."""
        from engines.records.export import ExportError
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

    def _fill_save_picture_menu(self) -> None:
        """One entry per panel shown: File → Save picture of → a panel saves it as a PNG."""
        self.save_picture_menu.clear()
        for name, dock in self.docks.items():
            if dock.isVisible():
                action = self.save_picture_menu.addAction(dock.windowTitle())
                action.triggered.connect(lambda _=False, n=name: self.save_picture(n))

    def save_picture(self, name: str, path: str | None = None) -> bool:
        """Save panel ``name`` as it looks now to a PNG (asking where when ``path`` is None)."""
        if path is None:
            start = str((self.run_dir or Path.home()) / f"{name}.png")
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save picture", start, "PNG image (*.png)")
            if not path:
                return False
        if not self.panels[name].grab().save(path, "PNG"):
            self.show_error(f"Could not save the picture to {path}")
            return False
        self.statusBar().showMessage(f"Saved {self.docks[name].windowTitle()} to {path}", STATUS_MESSAGE_MS)
        return True

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) of every action with a shortcut: F1's list, made from the actions themselves."""
        return [(" or ".join(k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()),
                 action.statusTip()) for action in self.actions() if action.shortcuts()]

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in self.shortcut_rows())
        self._message("Keyboard shortcuts", f"<table>{rows}<tr><td><b>Esc</b>&nbsp;&nbsp;</td>"
                                            f"<td>Leave a field (the shortcuts above work in one too, "
                                            f"except the keys that type)</td></tr></table>")

    def show_about(self) -> None:
        self._message("About genstudio",
                      f"<b>genstudio {version()}</b><br>Train the classic image generative models and watch them learn: "
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
        self.layout_.save()
        settings().setValue("window/geometry", self.saveGeometry())
        settings().setValue("window/screen", self.layout_.screen_key)
        self._shutdown_worker()
        self._close_recorded()
        for dialog in self.findChildren(QtWidgets.QDialog):
            dialog.close()
        super().closeEvent(event)
