"""The main window: run setup on the left, a dock per view of the run, run controls, status bar
and menus.

It owns at most one training run (a :class:`~studio.worker.TrainingWorker`, whose signals arrive
in the GUI thread) or one recorded run being viewed (a :class:`~studio.recorded_view.RecordedRunView`),
which may be the copy of a run another machine serves, made as it is viewed (:mod:`studio.remote_follow`).
Both announce the run they show the same way (``opened``: a :class:`~studio.shown_run.ShownRun`),
and :meth:`MainWindow._run_opened` shows either. It knows no model and no panel by name: a run's
views (from its model's spec, or from the run store of a recording) say which panels to show, and
every panel is wired the same way. Its commands come from one table (:mod:`studio.actions`); live
pictures are paced by :mod:`studio.live_pictures`. Nothing here imports torch: the window shows
first, the training process loads the heavy parts.
"""
from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.config import FieldInfo
from engines.core.views import View
from engines.live.protocol import Pause, Resume, RunSpec, SaveCheckpoint, Step
from studio.actions import MENUS, RECORD_PANEL, SAVE_PICTURE, TOOLBAR, VIEW_MENU, fill, make_actions, shortcut_rows
from studio.controls import RunSetup
from studio.keys import ShortcutsWin
from studio.layout import DockLayout, settings
from studio.live_pictures import LivePictures
from studio.panels.images import Caption
from studio.record_control import RecordControl
from studio.recorded_view import RecordedRunView, Timeline
from studio.remote_follow import FollowRemoteDialog, RemoteMirror
from studio.run_browser import RunBrowser
from studio.shown_run import RunState, ShownRun
from studio.worker import TrainingWorker

SCREEN_FILL = 0.92                # first launch: this share of the screen's available area
STATUS_MESSAGE_MS = 10_000        # how long a status-bar message stays
PICTURE_RATE_WINDOW_S = 2.0       # pictures/s: the main panel's pictures painted in the last 2 s
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
        self.remote: RemoteMirror | None = None   # the copy of a run another machine serves, being made
        self.run_dir: Path | None = None          # the run File → Export works on
        self.shown_model: str | None = None       # its model (File → Animate)
        self.last_status: dict = {}
        self.last_frames: dict[str, object] = {}  # newest frame of each name, as drawn
        self.frames_shown = 0                     # frame messages received (a first picture, for tests)
        self.live_pictures = LivePictures(self._draw, self)
        self._wanted_timer = QtCore.QTimer(self)
        self._wanted_timer.setSingleShot(True)
        self._wanted_timer.timeout.connect(self._send_wanted)
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

        self._actions = make_actions(self)
        self.save_picture_menu = QtWidgets.QMenu("Save picture of", self)
        self.save_picture_menu.setToolTipsVisible(True)
        self.save_picture_menu.aboutToShow.connect(self._fill_save_picture_menu)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)     # Esc in a field gives the window the keys
        QtWidgets.QApplication.instance().installEventFilter(ShortcutsWin(self))
        self._make_status_bar()
        self.record_control = RecordControl(self)
        self._make_menus_and_toolbars()
        self.timeline = Timeline(self)
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.timeline)
        self.timeline.hide()
        self.timeline.stepShown.connect(self.curves.cursor.set_step)     # the step cursor on every curve
        self.curves.cursor.moved.connect(self.timeline.show_nearest)     # a click or drag on a curve moves it
        self._set_state(RunState.IDLE)
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
    def _make_menus_and_toolbars(self) -> None:
        submenus = {SAVE_PICTURE: self.save_picture_menu, RECORD_PANEL: self.record_control.menu}
        titles = list(MENUS)
        titles.insert(titles.index("&Help"), VIEW_MENU)              # the docks' menu, before Help
        menus = {title: self.menuBar().addMenu(title) for title in titles}
        for title, names in MENUS.items():
            fill(menus[title], names, self._actions, submenus)
        self.view_menu = menus[VIEW_MENU]
        toolbar = self.addToolBar("Run controls")
        toolbar.setObjectName("toolbar-run")
        toolbar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        fill(toolbar, TOOLBAR, self._actions, submenus)

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
        self._visibility_changed()
        self.live_pictures.set_panels_ready()

    def _visibility_changed(self) -> None:
        self._wanted_timer.start(0)     # once the dock moves of this event have settled

    def _send_wanted(self) -> None:
        if self.worker is not None and self.live_pictures.panels_ready:
            self.worker.set_wanted(self.layout_.visible_frames())

    def reset_layout(self) -> None:
        """Put every dock back where a first launch puts it."""
        self.layout_.reset()

    # ------------------------------------------------------------------------------ state
    def _set_state(self, state: RunState) -> None:
        """Enable what makes sense in ``state``."""
        self.state = state
        viewing = state is RunState.VIEWING
        self.action_start.setEnabled(not state.training)
        self.action_pause.setEnabled(state.live or viewing)
        self.action_step.setEnabled(state.live)
        self.action_stop.setEnabled(state.training)
        self.action_reset.setEnabled(True)
        self.action_export.setEnabled(self.run_dir is not None)
        self.action_resume.setEnabled(viewing and self.viewer is not None
                                      and self.viewer.recorded.status in RESUMABLE)
        with QtCore.QSignalBlocker(self.action_pause):
            self.action_pause.setChecked(state is RunState.PAUSED)
        self.action_pause.setText({RunState.PAUSED: "Resume", RunState.VIEWING: "Play / pause"}.get(state, "Pause"))
        self.action_pause.setStatusTip("Play or pause the recorded run's timeline" if viewing
                                       else "Pause or resume training")
        self.setup.set_running(state.training)
        for name in self.layout_.views:
            self.panels[name].set_live(state.training)
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
        self._clear_run()
        self.run_label.setText(f"starting {spec.model}…")
        self.setup.show_starting(spec.model, spec.data, spec.seed)     # not the first model of the list
        self.worker = TrainingWorker(spec, self, children)
        self._connect_run(self.worker)
        self.worker.framesArrived.connect(self._live_frames)
        self.worker.trainingFramesArrived.connect(self._training_frames)
        self.worker.runArrived.connect(self.queue_run)
        self.worker.statusChanged.connect(self._status_changed)
        self.worker.failed.connect(self._worker_failed)
        self.worker.finished.connect(self._worker_finished)
        self.worker.building.connect(self._building)
        self._paused = spec.paused
        self._set_state(RunState.STARTING)

    def _clear_run(self) -> None:
        """Nothing of the run shown before: no error, curves, frames or frames waiting."""
        self.clear_error()
        self.curves.clear()
        self.last_frames.clear()
        self.live_pictures.clear()
        self._shown_up_to = -1                    # live rows at or before this step are shown already
        self.run_dir = None

    def _connect_run(self, source) -> None:
        """What a live run and a recorded one both say (see :mod:`studio.shown_run`)."""
        source.opened.connect(self._run_opened)
        source.rowsArrived.connect(self._rows_arrived)
        source.eventsArrived.connect(self._events_arrived)

    def _run_opened(self, run: ShownRun) -> None:
        """Show a run, live or recorded: its settings on the left, its panels, where it is recorded."""
        self.run_dir, self.shown_model = run.run_dir, run.model
        self.setup.set_run(run.model, run.data, run.device_setting, run.seed, run.config, fields=list(run.fields))
        self._show_views(run.model, list(run.views), list(run.fields), run.config, live=run.live)
        self.device_label.setText(run.device)
        if run.live:
            if self.worker.spec.resume:
                self._show_recorded_curves(run.run_dir)     # the curves so far; live rows continue them
            self.run_label.setText(f"recording to {run.run_dir}")
            self.setWindowTitle(f"genstudio — {run.run_dir.name}")
            self._set_state(RunState.PAUSED if self._paused else RunState.RUNNING)
        else:
            self.run_label.setText(f"viewing {run.run_dir}")
            self.setWindowTitle(f"genstudio — {run.run_dir.name} (recorded)")
            self._set_state(RunState.VIEWING)

    def _building(self, text: str, done: bool) -> None:
        """A first use builds a cached artefact (a dataset, the digit classifier): the status bar
        says what and how far until it is built (training waits for it)."""
        self.statusBar().showMessage(text[:1].upper() + text[1:], STATUS_MESSAGE_MS if done else 0)

    def _worker_failed(self, message: str) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self.run_label.setText("")
        self._set_state(RunState.IDLE)
        self.show_error(f"Could not start training: {message}")

    def _worker_finished(self, summary: dict) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self._set_state(RunState.IDLE)
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
                if self.state is RunState.RUNNING:
                    self._set_state(RunState.PAUSED)    # the run paused itself

    def show_frames(self, frames: list) -> None:
        """Hand each frame to its panel now."""
        for frame in frames:
            self._draw(frame)
        self.frames_shown += 1

    def _live_frames(self, frames: list) -> None:
        self.queue_frames(frames, self.worker.state_wall if self.worker is not None else 0.0)

    def _training_frames(self, frames: list) -> None:
        self.live_pictures.queue_frames(frames, 0.0)

    def queue_frames(self, frames: list, state_wall: float = 0.0) -> None:
        """Live frames, drawn one panel per turn of the event loop (:mod:`studio.live_pictures`)."""
        self.live_pictures.queue_frames(frames, state_wall)
        self.frames_shown += 1

    def queue_run(self, pictures: list, spacing: float, state_wall: float) -> None:
        """Pictures of sampling views drawn from one training state, played ``spacing`` seconds apart."""
        self.live_pictures.queue_run(pictures, spacing, state_wall)
        self.frames_shown += 1

    def _draw(self, frame, state_wall: float = 0.0) -> None:
        panel, new = self.layout_.panel_for(frame)
        if new:
            panel.set_live(self.state.training)
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
        if self.state is RunState.VIEWING:
            with QtCore.QSignalBlocker(self.action_pause):
                self.action_pause.setChecked(False)
            self.timeline.toggle_play()
            return
        if self.worker is None or not self.state.live:
            return
        self.worker.send(Pause() if paused else Resume())
        self._set_state(RunState.PAUSED if paused else RunState.RUNNING)

    def step_once(self) -> None:
        """Exactly one training step; a running run is paused first."""
        if self.worker is None or not self.state.live:
            return
        if self.state is RunState.RUNNING:
            self.set_paused(True)
        self.worker.send(Step(1))

    def stop_run(self) -> None:
        """Stop training, wait for the run to be saved (status stopped, checkpoint written), then
        show it as a recorded run: every frame it recorded is on the timeline."""
        run_dir = self.run_dir
        self._shutdown_worker()
        self._set_state(RunState.IDLE)
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
        self._clear_run()
        self.viewer = RecordedRunView(recorded, self.timeline, self)
        self._connect_run(self.viewer)
        self.viewer.framesShown.connect(self.show_frames)
        self.viewer.curvesLoaded.connect(self._curves_loaded)
        self.viewer.statusChanged.connect(self._recorded_status)
        self.viewer.failed.connect(self.show_error)
        self.viewer.start()
        return True

    def open_remote_dialog(self) -> FollowRemoteDialog:
        """File → Follow a remote run: asks for a served run's address and token; returns the dialog."""
        dialog = FollowRemoteDialog(self.follow_remote, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def follow_remote(self, url: str, token: str) -> str:
        """Copy the run served at ``url`` into a new ``remote-HOST-PORT-TIME`` folder of the runs
        folder (:mod:`studio.remote_follow`) and view the copy, followed, once it exists. Returns ""
        once the copy has started, else what is wrong."""
        from engines.records.serving import parse_url
        from engines.runs import new_run_dir, runs_root

        try:
            host, port = parse_url(url)
        except ValueError as exc:
            return f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        if not token.strip():
            return "Give the run's token: the node has it in RUN_DIR/serve-token."
        try:
            into = new_run_dir(runs_root(), f"remote-{re.sub(r'[^A-Za-z0-9.-]', '_', host)}-{port}")
        except OSError as exc:
            return f"Cannot make a folder for the copy in {runs_root()}: {exc.strerror or exc}"
        self._stop_remote()
        self.remote = RemoteMirror(url.strip(), token.strip(), into, self)
        self.remote.ready.connect(self._remote_ready)
        self.remote.ended.connect(self._remote_ended)
        self.remote.start()
        self.statusBar().showMessage(f"Connecting to {url.strip()}…", STATUS_MESSAGE_MS)
        return ""

    def _remote_ready(self, path: str) -> None:
        """The copy exists: view it (as a run another process writes, it is followed)."""
        if self.remote is not None and self.open_run(path):
            self.remote.shown = True
        else:
            self._stop_remote()

    def _remote_ended(self, message: str) -> None:
        """The copy is no longer written: say why, when it is not that the served run ended."""
        remote, self.remote = self.remote, None
        if remote is None:
            return
        remote.deleteLater()
        kept = f"; what was copied is kept in {remote.into}" if remote.shown else ""
        if message:
            self.show_error(f"{message[:1].upper()}{message[1:]}{kept}")
        else:
            self.statusBar().showMessage(f"The run served at {remote.url} ended{kept}", STATUS_MESSAGE_MS)
        if not remote.shown:
            remote.forget_if_empty()

    def _stop_remote(self) -> None:
        remote, self.remote = self.remote, None
        if remote is not None:
            remote.stop()
            remote.deleteLater()
            if not remote.shown:
                remote.forget_if_empty()

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
        if self.remote is not None and self.remote.shown:      # the copy shown is no longer wanted
            self._stop_remote()
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

    def export_scalars_dialog(self) -> None:
        """File → Export scalars: asks where, then :meth:`export_scalars`."""
        if self.run_dir is None:
            self.show_error("No scalars to export yet: start a run or open one first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export scalars",
                                                        str(Path.home() / f"{Path(self.run_dir).name}.csv"),
                                                        "CSV files (*.csv)")
        if path:
            self.export_scalars(path)

    def export_scalars(self, path) -> bool:
        """Write the current run's scalars to ``path`` as CSV (wide: one column per scalar); says in
        the status bar how many steps, or why not."""
        from engines.records.export import ExportError
        from engines.records.scalars_csv import write_scalars_csv

        try:
            rows = write_scalars_csv(self.run_dir, path)
        except ExportError as exc:
            self.show_error(f"Cannot export the scalars: {exc}")
            return False
        self.statusBar().showMessage(f"wrote {rows} steps of scalars to {path}", 8000)
        return True

    def open_animate_dialog(self):
        """File → Animate for the current run: its model's own dynamics from a checkpoint; returns the
        dialog. The views come from the model's spec (a run recorded before a view could animate
        animates as the model does now)."""
        from engines.core.config import ConfigError
        from engines.registry import model_spec
        from studio.animate_dialog import AnimateDialog

        if self.run_dir is None or self.shown_model is None:
            self.show_error("Nothing to animate yet: start a run or open one first.")
            return None
        try:
            views = model_spec(self.shown_model).views
        except ConfigError as exc:
            self.show_error(f"Cannot animate: {exc}")
            return None
        dialog = AnimateDialog(self.run_dir, self.shown_model, views, self,
                               save_live=self.save_live_checkpoint if self.state.live else None)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def save_live_checkpoint(self) -> None:
        """Ask the live run for a checkpoint of its state now (File → Animate from the live run)."""
        if self.worker is not None and self.state.live:
            self.worker.send(SaveCheckpoint())

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

    def set_recording(self, on: bool) -> None:
        """Record (F9): record the whole window, or stop and save the recording running."""
        self.record_control.toggle_window(on)

    def record(self, name: str | None, path=None) -> bool:
        """Record panel ``name`` (None: the window) until Record is pressed again."""
        return self.record_control.record(name, path)

    def show_shortcuts(self) -> None:
        """F1: every shortcut, listed from the actions themselves."""
        rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in shortcut_rows(self))
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
        self.record_control.finish()
        self.layout_.save()
        settings().setValue("window/geometry", self.saveGeometry())
        settings().setValue("window/screen", self.layout_.screen_key)
        self._shutdown_worker()
        self._close_recorded()
        self._stop_remote()
        self.curves.stop_making_plots()
        for dialog in self.findChildren(QtWidgets.QDialog):
            dialog.close()
        super().closeEvent(event)
