"""The runs in a set of folders, each summed up from its run store (no Qt, no torch): what the run
browser lists. A run being written by another process (a headless job, rank 0 of torchrun) reads
as running; one marked running whose writer is gone reads as crashed."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator
from pathlib import Path

from engines.core.store import RunStore, StoreError, is_run_dir, writer_alive

METRICS_SHOWN = 3          # last values shown per run


@dataclass(frozen=True)
class RunSummary:
    path: Path
    model: str
    data: str
    status: str
    steps: int
    created: float
    metrics: dict

    @property
    def metrics_text(self) -> str:
        return "  ".join(f"{k} {v:.4g}" for k, v in list(self.metrics.items())[:METRICS_SHOWN]
                         if isinstance(v, float) and math.isfinite(v))


def summarize(path: Path) -> RunSummary | None:
    """One run's summary, or None for a directory that is not a readable run."""
    try:
        store = RunStore.open(path)
    except StoreError:
        return None
    try:
        meta = store.meta()
        status = meta.get("status", "?")
        if status == "running" and writer_alive(path) is False:
            status = "crashed"
        steps = int(meta.get("steps") or store.last_step())
        metrics = store.last_scalars()
    except (StoreError, ValueError, TypeError):
        return None
    finally:
        store.close()
    return RunSummary(Path(path), str(meta.get("model", "?")), str(meta.get("data", "")), status, steps,
                      float(meta.get("created", 0.0)), metrics)


def run_dirs(folders) -> list[Path]:
    """Every run directory in ``folders`` or directly under them."""
    found = []
    for folder in map(Path, folders):
        if is_run_dir(folder):
            found.append(folder)
        elif folder.is_dir():
            try:
                found.extend(sorted(p for p in folder.iterdir() if p.is_dir() and is_run_dir(p)))
            except OSError:
                continue
    return found


def scan_steps(folders) -> Iterator[RunSummary | None]:
    """Each run's summary in turn (None for a directory that cannot be read), for reading them
    one at a time between the window's events (:class:`~studio.stepwise.Stepwise`)."""
    return map(summarize, run_dirs(folders))


def newest_first(summaries) -> list[RunSummary]:
    return sorted((s for s in summaries if s is not None), key=lambda s: s.created, reverse=True)


def scan(folders) -> list[RunSummary]:
    """The runs in ``folders``, newest first."""
    return newest_first(scan_steps(folders))
