"""Viewing a recorded run: the timeline toolbar (a slider over the recorded steps) and the object
that reads the run for it, following a run that another process is still writing."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from engines.records.replay import RecordedRun
from studio.panels.step_cursor import nearest
from studio.shown_run import ShownRun
from studio.stepwise import Stepwise

FOLLOW_INTERVAL_MS = 1000   # how often a recorded run that is still training is read again
PLAY_FPS = 5.0              # the timeline plays this many recorded frames a second by default


class FrameMarks(QtWidgets.QWidget):
    """Where a run's frames were recorded, along its steps: a tick per recorded step (dense early,
    where training changes fastest, then the regular cadence), the one shown in the highlight colour."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps: list[int] = []
        self.current = -1
        self.setFixedHeight(7)
        self.setMinimumWidth(80)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_steps(self, steps: list[int]) -> None:
        self.steps = list(steps)
        self.setToolTip(f"{len(steps):,} recorded frames, from step {steps[0]:,} to {steps[-1]:,}" if steps
                        else "no frames recorded yet")
        self.update()

    def set_current(self, index: int) -> None:
        self.current = index
        self.update()

    def x_of(self, step: int) -> int:
        """Where ``step`` is drawn: from the run's start (step 0) to its last recorded step."""
        last = max(1, self.steps[-1]) if self.steps else 1
        return round(step / last * (self.width() - 1))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QtGui.QPainter(self)
        painter.setPen(QtGui.QColor("#888888"))
        for step in self.steps:
            x = self.x_of(step)
            painter.drawLine(x, 1, x, self.height() - 1)
        if 0 <= self.current < len(self.steps):
            painter.setPen(QtGui.QColor("#ffa726"))
            x = self.x_of(self.steps[self.current])
            painter.drawLine(x, 0, x, self.height())
        painter.end()


class Timeline(QtWidgets.QToolBar):
    """One step slider over every recorded frame of a run (all panels move together), with play /
    pause at a chosen speed and stepping by keyboard (the slider's arrow keys, Home, End). It says
    which step it shows (:attr:`stepShown`: the curves' step cursor follows it) and goes to the
    recorded step nearest to a step asked for (:meth:`show_nearest`: a click or drag on a curve)."""

    stepShown = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__("Timeline", parent)
        self.steps: list[int] = []
        self.setObjectName("toolbar-timeline")
        self.setMovable(False)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setText("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the recorded frames (Space); the arrow keys step through them")
        self.speed_spin = QtWidgets.QDoubleSpinBox()
        self.speed_spin.setRange(0.5, 60.0)
        self.speed_spin.setValue(PLAY_FPS)
        self.speed_spin.setSuffix(" frames/s")
        self.speed_spin.setToolTip("Playback speed")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(10)
        self.marks = FrameMarks()
        track = QtWidgets.QWidget()                 # the slider over where its frames are, in steps
        column = QtWidgets.QVBoxLayout(track)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.slider)
        column.addWidget(self.marks)
        self.label = QtWidgets.QLabel("no frames recorded")
        self.follow_box = QtWidgets.QCheckBox("Follow")
        self.follow_box.setToolTip("Keep showing the newest frames while the run is still being written")
        self.follow_box.setChecked(True)
        self.addWidget(self.play_button)
        self.addWidget(self.speed_spin)
        self.addWidget(QtWidgets.QLabel(" Recorded step "))
        self.addWidget(track)
        self.addWidget(self.label)
        self.addWidget(self.follow_box)
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.timeout.connect(self._advance)
        self.play_button.toggled.connect(self._play_toggled)
        self.speed_spin.valueChanged.connect(self._speed_changed)

    def set_steps(self, steps: list[int]) -> None:
        """The recorded steps the slider runs over (no signal: the slider's value is the caller's to set)."""
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setRange(0, max(0, len(steps) - 1))
        self.steps = list(steps)
        self.marks.set_steps(steps)

    def show_step(self, index: int, steps: list[int]) -> None:
        """Say which recorded step is shown: its number, its place among the frames, its mark."""
        self.marks.set_current(index)
        self.label.setText(f" {steps[index]:,} ({index + 1}/{len(steps)}) ")
        self.stepShown.emit(int(steps[index]))

    def show_nearest(self, step: int) -> None:
        """Move the slider to the recorded step nearest to ``step`` (the pictures follow it)."""
        if self.steps:
            self.slider.setValue(nearest(self.steps, step))

    def toggle_play(self) -> None:
        self.play_button.toggle()

    def _play_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)             # from the start again
            self._speed_changed(self.speed_spin.value())
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _speed_changed(self, fps: float) -> None:
        self._play_timer.setInterval(max(1, int(1000 / fps)))

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)      # at the end: stop
        else:
            self.slider.setValue(self.slider.value() + 1)

    def hideEvent(self, event) -> None:
        self.play_button.setChecked(False)
        super().hideEvent(event)


class RecordedRunView(QtCore.QObject):
    """Shows one :class:`RecordedRun` through the window's panels: ``opened`` says what the run is
    (a :class:`~studio.shown_run.ShownRun`), ``framesShown`` carries the frames at the step the
    timeline picks, ``rowsArrived`` and ``eventsArrived`` the scalars and events a followed run
    adds, ``statusChanged`` (state, step) texts for the status bar; ``failed`` a problem reading
    the run."""

    opened = QtCore.Signal(object)
    framesShown = QtCore.Signal(list)
    curvesLoaded = QtCore.Signal(dict, list)   # every scalar series and the events, read step by step
    rowsArrived = QtCore.Signal(list)
    eventsArrived = QtCore.Signal(list)
    statusChanged = QtCore.Signal(str, str)
    failed = QtCore.Signal(str)

    def __init__(self, recorded: RecordedRun, timeline: Timeline, parent=None):
        super().__init__(parent)
        self.recorded = recorded
        self.timeline = timeline
        self.steps: list[int] = []
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FOLLOW_INTERVAL_MS)
        self._timer.timeout.connect(self._follow)
        self._reading: Stepwise | None = None
        timeline.slider.valueChanged.connect(self.show_index)

    @property
    def following(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Show the newest recorded frames at once; read the curves one at a time between the
        window's events (a long run has millions of rows), then follow the run if it is still
        being written."""
        meta, recorded = self.recorded.meta, self.recorded
        self.opened.emit(ShownRun(recorded.path, meta["model"], meta.get("data", ""), meta.get("device", ""),
                                  meta.get("device", "auto"), meta.get("seed", 0), meta.get("config") or {},
                                  tuple(recorded.views()), tuple(recorded.fields()), live=False))
        self.timeline.show()
        self._update_timeline(jump_to_end=True)
        self._report_status()
        self._reading = Stepwise(self.recorded.series_steps(), self._curves_read, self._curves_failed, parent=self)

    def _curves_failed(self, exc: Exception) -> None:
        from engines.core.store import StoreError

        if not isinstance(exc, StoreError):
            raise exc
        self.failed.emit(f"Cannot read the run's curves: {exc}")

    def _curves_read(self, series: list) -> None:
        from engines.core.store import StoreError

        try:
            events = self.recorded.events()
        except StoreError as exc:
            self._curves_failed(exc)
            return
        self.curvesLoaded.emit(dict(series), events)
        if self.recorded.running:
            self._timer.start()
        self._report_status()

    def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        self._timer.stop()
        self.timeline.slider.valueChanged.disconnect(self.show_index)
        self.timeline.hide()
        self.recorded.close()

    def _update_timeline(self, jump_to_end: bool) -> None:
        slider = self.timeline.slider
        self.steps = self.recorded.frame_steps()
        at_end = slider.value() >= slider.maximum()
        self.timeline.set_steps(self.steps)
        if self.steps and (jump_to_end or (at_end and self.timeline.follow_box.isChecked())):
            slider.setValue(slider.maximum())
            self.show_index(slider.maximum())
        elif not self.steps:
            self.timeline.label.setText("no frames recorded yet")

    def show_index(self, index: int) -> None:
        from engines.core.store import StoreError

        if not self.steps:
            return
        step = self.steps[index]
        try:
            frames = self.recorded.frames_at(step)
        except StoreError as exc:
            self.failed.emit(f"Cannot show the frames of step {step:,}: {exc}")
            return
        self.framesShown.emit(frames)
        self.timeline.show_step(index, self.steps)

    def _follow(self) -> None:
        from engines.core.store import StoreError

        try:
            rows = self.recorded.poll()
        except StoreError as exc:
            self._timer.stop()
            self.failed.emit(f"Stopped following the run: {exc}")
            return
        if rows:
            self.rowsArrived.emit(rows)
        events = self.recorded.events()
        if events:
            self.eventsArrived.emit(events)
        self._update_timeline(jump_to_end=False)
        if not self.recorded.running:
            self._timer.stop()
        self._report_status()

    def _report_status(self) -> None:
        meta = self.recorded.meta
        last = self.steps[-1] if self.steps else 0
        following = " (following)" if self.following else ""
        self.statusChanged.emit(f"recorded · {self.recorded.status}{following}",
                                f"step {meta.get('steps', last):,}")
