"""What the window shows: its state (:class:`RunState`) and the run it shows (:class:`ShownRun`),
live or recorded.

A live run (:class:`~studio.worker.TrainingWorker`) and a recorded one
(:class:`~studio.recorded_view.RecordedRunView`) announce themselves the same way: ``opened``
carries a :class:`ShownRun`, and ``rowsArrived`` / ``eventsArrived`` bring scalar rows and events;
the window connects one or the other to the same slots.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from engines.core.config import FieldInfo
from engines.core.views import View


class RunState(enum.StrEnum):
    """The window's state: what the run controls may do (a ``str``, so it reads as its name)."""
    IDLE = "idle"              # nothing trains, nothing is viewed
    STARTING = "starting"      # a run's processes are being started
    RUNNING = "running"
    PAUSED = "paused"
    VIEWING = "viewing"        # a recorded run is shown

    @property
    def training(self) -> bool:
        """A live run exists (starting, running or paused)."""
        return self in (RunState.STARTING, RunState.RUNNING, RunState.PAUSED)

    @property
    def live(self) -> bool:
        """A live run takes commands (running or paused)."""
        return self in (RunState.RUNNING, RunState.PAUSED)


@dataclass(frozen=True)
class ShownRun:
    """A run as the window shows it: where it is recorded, what it trains and where, the config in force, its
    views and config fields (a live run's from its model's spec, a recorded one's from its store),
    and whether it trains live."""
    run_dir: Path
    model: str
    data: str
    device: str                # where it trains (or trained)
    device_setting: str        # what the run setup's device box shows for it ("auto": the best there is)
    seed: int
    config: dict
    views: tuple[View, ...]
    fields: tuple[FieldInfo, ...]
    live: bool
