"""A recorded run read back from its store, for ``--open``: its description (views and config
fields: a run describes itself, so no engine is imported), its curves, and its frames at any
recorded step; a run still being written (headless job) is followed by polling. No Qt, no torch."""
from __future__ import annotations

import bisect
from collections import defaultdict
from pathlib import Path
from typing import Iterator


class RecordedRun:
    """Reads one run directory. ``poll()`` returns the scalar rows and frame steps added since the
    previous call, so a viewer can follow a run that another process is still training."""

    def __init__(self, path):
        from engines.core.store import RunStore

        self.path = Path(path)
        self.store = RunStore.open(self.path)
        self.meta = self.store.meta()
        if "model" not in self.meta:
            self.store.close()
            from engines.core.store import StoreError
            raise StoreError(f"{self.path} holds no run description (not a genstudio run?)")
        self._last_scalar_step: dict[str, int] = {}
        self._events_seen = 0
        self._frame_steps: dict[str, list[int]] = {}
        self._read_status()
        self._refresh_frame_steps()

    def views(self) -> list:
        """The run's views as its description names them, then one per recorded frame name that no
        view declares (the Runner's weights and gradients; every frame of a store written by other
        code than the engines' runs)."""
        from engines.core.views import View, undeclared_view

        declared = []
        if isinstance(self.meta.get("views"), list):
            try:
                declared = [View.from_dict(v) for v in self.meta["views"]]
            except ValueError:
                pass
        covered = {name for view in declared for name in view.frames}
        return declared + [undeclared_view(name, self.store.frame_kind(name))
                           for name in self.store.frame_names() if name not in covered]

    def fields(self) -> list:
        """The run's config fields as its description names them (none when it names none)."""
        from engines.core.config import ConfigError, FieldInfo

        try:
            return [FieldInfo.from_dict(f) for f in self.meta.get("fields") or []]
        except (ConfigError, TypeError):
            return []

    def _read_status(self) -> None:
        from engines.core.store import writer_alive

        self._writer_alive = writer_alive(self.path)
        self.meta = self.store.meta()

    @property
    def status(self) -> str:
        """The recorded status, or ``crashed`` for a run marked running whose writer was gone when
        it was last read (killed, power loss: no process holds its lock)."""
        status = self.meta.get("status", "?")
        return "crashed" if status == "running" and self._writer_alive is False else status

    @property
    def running(self) -> bool:
        return self.status == "running"

    def series(self) -> dict[str, tuple]:
        """Every scalar recorded so far: ``{name: (steps, walls, values)}`` (NumPy arrays)."""
        return dict(self.series_steps())

    def series_steps(self) -> Iterator[tuple[str, tuple]]:
        """:meth:`series` one scalar at a time, ``(name, (steps, walls, values))`` (for reading a
        long run between the window's events); ``poll`` then continues from where it ended."""
        self._read_status()
        for name in self.store.scalar_names():
            series = self.store.scalars(name)
            if len(series[0]):
                self._last_scalar_step[name] = int(series[0][-1])
            yield name, series
        self._refresh_frame_steps()

    def poll(self) -> list[tuple[int, float, dict[str, float]]]:
        """Scalar rows ``(step, wall, {name: value})`` recorded since the last call (or since
        :meth:`series`); also refreshes the run's status and its recorded frame steps."""
        self._read_status()                 # first: a run read as ended has all its rows written already
        by_step: dict[int, tuple[float, dict]] = defaultdict(lambda: (0.0, {}))
        for name in self.store.scalar_names():
            steps, walls, values = self.store.scalars(name, self._last_scalar_step.get(name, -1))
            if len(steps):
                self._last_scalar_step[name] = int(steps[-1])
            for step, wall, value in zip(steps.tolist(), walls.tolist(), values.tolist()):
                by_step[step] = (wall, {**by_step[step][1], name: value})
        self._refresh_frame_steps()
        return [(step, wall, values) for step, (wall, values) in sorted(by_step.items())]

    def events(self) -> list[tuple[int, str, str]]:
        """Events (step, kind, text) recorded since the last call (all of them the first time)."""
        events = self.store.events()
        new, self._events_seen = events[self._events_seen:], len(events)
        return new

    def _refresh_frame_steps(self) -> None:
        self._frame_steps = {name: self.store.frame_steps(name) for name in self.store.frame_names()}

    def frame_steps(self) -> list[int]:
        """Every step at which some frame was recorded, in order."""
        return sorted({s for steps in self._frame_steps.values() for s in steps})

    def frames_at(self, step: int) -> list:
        """For each recorded panel, its newest frame at or before ``step``."""
        out = []
        for name, steps in self._frame_steps.items():
            i = bisect.bisect_right(steps, step) - 1
            if i >= 0:   # a step may hold two frames of a panel (the last one saved at a stop): take the newest
                out.append(list(self.store.frames(name, steps[i], steps[i]))[-1])
        return out

    def close(self) -> None:
        self.store.close()
