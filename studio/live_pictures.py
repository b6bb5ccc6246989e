"""How a live run's pictures reach the panels without blocking the window.

Frames of ``state`` views wait by name (the newest of a name wins) and are drawn one per turn of
the event loop, so the window never paints every panel at once. Pictures of ``sampling`` views
come as a run drawn from one training state, played ``spacing`` seconds apart on a clock of their
own (a little faster while more than :data:`RUN_BACKLOG_S` of them wait). A frame that arrives for a
name still in a run replaces the run's pictures of that name (it was drawn for what the user did,
after them). Nothing is drawn until the run's panels exist.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

from PySide6 import QtCore

RUN_BACKLOG_S = 0.5               # a run of sampling pictures more than this far behind plays faster


class LivePictures(QtCore.QObject):
    """Queues live frames for ``draw(frame, state_wall)`` (``state_wall``: when the training state
    they were drawn from was taken)."""

    def __init__(self, draw: Callable[[object, float], None], parent=None):
        super().__init__(parent)
        self._draw = draw
        self.panels_ready = False
        self._pending: dict[str, object] = {}     # frames not drawn yet, by name
        self._state_wall = 0.0                    # when the state of the frames pending was taken
        self._pending_timer = QtCore.QTimer(self)
        self._pending_timer.setInterval(0)
        self._pending_timer.timeout.connect(self._draw_next_pending)
        self._playlist: deque = deque()           # sampling pictures still to play: (frames, state time)
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._play_timer.setSingleShot(True)
        self._play_timer.timeout.connect(self._play_next)
        self._spacing = 0.0
        self._next_play = 0.0

    def clear(self) -> None:
        """A new run: nothing queued, nothing drawn until its panels exist."""
        self._pending.clear()
        self._playlist.clear()
        self.panels_ready = False

    def set_panels_ready(self) -> None:
        """The run's panels exist: draw what waits."""
        self.panels_ready = True
        if self._pending and not self._pending_timer.isActive():
            self._pending_timer.start()

    def queue_frames(self, frames: list, state_wall: float) -> None:
        names = {frame.name for frame in frames}
        for frame in frames:
            self._pending[frame.name] = frame
        self._state_wall = state_wall
        if self._playlist and names:
            kept = [([f for f in picture if f.name not in names], wall) for picture, wall in self._playlist]
            self._playlist = deque((picture, wall) for picture, wall in kept if picture)
        if self.panels_ready and not self._pending_timer.isActive():
            self._pending_timer.start()

    def queue_run(self, pictures: list, spacing: float, state_wall: float) -> None:
        self._playlist.extend((picture, state_wall) for picture in pictures)
        self._spacing = spacing
        if not self._play_timer.isActive():
            self._next_play = time.monotonic()
            self._play_next()

    def _play_next(self) -> None:
        """Show the next sampling picture; the one after it is due ``spacing`` after this one was."""
        if not self._playlist or not self.panels_ready:
            self._play_timer.stop()
            return
        picture, wall = self._playlist.popleft()
        for frame in picture:
            self._draw(frame, wall)
        behind = len(self._playlist) * self._spacing > RUN_BACKLOG_S
        now = time.monotonic()
        self._next_play = max(now, self._next_play + self._spacing * (0.75 if behind else 1.0))
        self._play_timer.start(max(0, round(1000 * (self._next_play - now))))

    def _draw_next_pending(self) -> None:
        if not self._pending or not self.panels_ready:
            self._pending_timer.stop()
            return
        self._draw(self._pending.pop(next(iter(self._pending))), self._state_wall)
