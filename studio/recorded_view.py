"""Viewing a recorded run: the timeline toolbar (a slider over the recorded steps) and the object
that reads the run for it, following a run that another process is still writing."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio.replay import RecordedRun

FOLLOW_INTERVAL_MS = 1000   # how often a recorded run that is still training is read again


class Timeline(QtWidgets.QToolBar):
    """The step slider shown while a recorded run is viewed."""

    def __init__(self, parent=None):
        super().__init__("Timeline", parent)
        self.setObjectName("toolbar-timeline")
        self.setMovable(False)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.label = QtWidgets.QLabel("no frames recorded")
        self.follow_box = QtWidgets.QCheckBox("Follow")
        self.follow_box.setToolTip("Keep showing the newest frames while the run is still being written")
        self.follow_box.setChecked(True)
        self.addWidget(QtWidgets.QLabel(" Recorded step "))
        self.addWidget(self.slider)
        self.addWidget(self.label)
        self.addWidget(self.follow_box)


class RecordedRunView(QtCore.QObject):
    """Shows one :class:`RecordedRun` through the window's panels: ``framesShown`` carries the frames
    at the step the timeline picks, ``rowsArrived`` and ``eventsArrived`` the scalars and events a followed run adds, ``statusChanged``
    (state, step) texts for the status bar; ``failed`` a problem reading the run."""

    framesShown = QtCore.Signal(list)
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
        timeline.slider.valueChanged.connect(self.show_index)

    @property
    def following(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Show the newest recorded frames; follow the run if it is still being written."""
        self.timeline.show()
        self._update_timeline(jump_to_end=True)
        if self.recorded.running:
            self._timer.start()
        self._report_status()

    def close(self) -> None:
        self._timer.stop()
        self.timeline.slider.valueChanged.disconnect(self.show_index)
        self.timeline.hide()
        self.recorded.close()

    def _update_timeline(self, jump_to_end: bool) -> None:
        slider = self.timeline.slider
        self.steps = self.recorded.frame_steps()
        at_end = slider.value() >= slider.maximum()
        with QtCore.QSignalBlocker(slider):
            slider.setRange(0, max(0, len(self.steps) - 1))
        if self.steps and (jump_to_end or (at_end and self.timeline.follow_box.isChecked())):
            slider.setValue(slider.maximum())
            self.show_index(slider.maximum())
        elif not self.steps:
            self.timeline.label.setText("no frames recorded yet")

    def show_index(self, index: int) -> None:
        if not self.steps:
            return
        step = self.steps[index]
        self.framesShown.emit(self.recorded.frames_at(step))
        self.timeline.label.setText(f" {step:,} ({index + 1}/{len(self.steps)}) ")

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
