"""The runs in a set of folders, each summed up from its run store (no Qt, no torch): what the run
browser lists. A run being written by another process (a headless job, rank 0 of torchrun) reads
as running; one marked running whose writer is gone reads as crashed. :class:`RunIndex` keeps the
summaries between two scans and reads a run again only when its store's files changed (or it was
running): the browser rescans every few seconds, and opening every store of a full runs folder
each time cost the training run beside it a share of a core."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator
from pathlib import Path

from engines.core.store import DB_NAME, RunStore, StoreError, is_run_dir, writer_alive

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
    held_out: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)     # the run's settings: its config fields and seed

    @property
    def metrics_text(self) -> str:
        return "  ".join(f"{k} {v:.4g}" for k, v in list(self.metrics.items())[:METRICS_SHOWN]
                         if isinstance(v, float) and math.isfinite(v))

    @property
    def held_out_converged(self) -> bool:
        """False where any ``…_converged`` flag of the held-out metrics is false."""
        return not any(k.endswith("_converged") and v is False for k, v in self.held_out.items())

    @property
    def held_out_text(self) -> str:
        """The run's held-out figure from ``train --eval``: an interval where the metrics give
        both ends (``log_likelihood_conservative`` / ``_optimistic``), else the first number, and
        ``NOT converged`` where any ``…_converged`` flag is false."""
        metrics = self.held_out
        if "log_likelihood_conservative" in metrics and "log_likelihood_optimistic" in metrics:
            ends = sorted((metrics["log_likelihood_conservative"], metrics["log_likelihood_optimistic"]))
            text = f"log-likelihood [{ends[0]:.2f}, {ends[1]:.2f}]"     # ends that met may cross by noise
        else:
            first = next(((k, v) for k, v in metrics.items() if isinstance(v, float) and math.isfinite(v)), None)
            text = f"{first[0]} {first[1]:.4g}" if first else ""
        if not self.held_out_converged:
            text += " NOT converged"
        return text


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
    held_out, config = meta.get("eval"), meta.get("config")
    settings = {**(config if isinstance(config, dict) else {}), "seed": meta.get("seed", 0)}
    return RunSummary(Path(path), str(meta.get("model", "?")), str(meta.get("data", "")), status, steps,
                      float(meta.get("created", 0.0)), metrics, held_out if isinstance(held_out, dict) else {},
                      settings)


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


def store_signature(path: Path) -> tuple:
    """(modification time, size) of the run's database and its write-ahead log: equal signatures,
    nothing written in between."""
    signature = []
    for name in (DB_NAME, f"{DB_NAME}-wal"):
        try:
            stat = (Path(path) / name).stat()
            signature.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            signature.append(None)
    return tuple(signature)


class RunIndex:
    """Summaries kept from one scan to the next: a run is read again only when its store changed
    or it read as running (its writer may have died since)."""

    def __init__(self):
        self._known: dict[Path, tuple[tuple, RunSummary | None]] = {}

    def summarize(self, path: Path) -> RunSummary | None:
        signature = store_signature(path)
        known = self._known.get(path)
        if known is not None and known[0] == signature and (known[1] is None or known[1].status != "running"):
            return known[1]
        summary = summarize(path)
        self._known[path] = (signature, summary)
        return summary

    def scan_steps(self, folders) -> Iterator[RunSummary | None]:
        """Each run's summary in turn (None for a directory that cannot be read), read again only
        where it changed, for reading them one at a time between the window's events
        (:class:`~studio.stepwise.Stepwise`)."""
        paths = run_dirs(folders)
        for gone in set(self._known) - set(paths):
            del self._known[gone]
        return map(self.summarize, paths)


def newest_first(summaries) -> list[RunSummary]:
    return sorted((s for s in summaries if s is not None), key=lambda s: s.created, reverse=True)


def scan(folders) -> list[RunSummary]:
    """The runs in ``folders``, newest first."""
    return newest_first(RunIndex().scan_steps(folders))
