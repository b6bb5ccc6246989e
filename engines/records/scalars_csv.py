"""A run's scalars as CSV, for a spreadsheet, pandas or R.

- One run, wide: ``step,wall_time,<name>,…``: one row per step at which any scalar was recorded, one
  column per scalar in the order the run first logged them; a scalar not recorded at that step is an
  empty cell. ``wall_time`` is the earliest time (seconds since 1970, UTC) recorded at that step.
- Several runs (a comparison), long: ``run,step,name,value``, one row per recorded value, runs in
  the order given.

Values are written with Python's shortest round-trip repr (``nan`` and ``inf`` as such); the file is
written beside its final name and renamed over it, so a failed export leaves no half file.
"""
from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from engines.core.files import replaced_atomically
from engines.records.export import ExportError, open_run


def _series(store) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return {name: store.scalars(name) for name in store.scalar_names()}


def write_scalars_csv(run_dir, out) -> int:
    """Write the run's scalars to ``out`` in the wide layout; returns the number of rows (steps)."""
    with open_run(run_dir) as store:
        series = _series(store)
    if not series:
        raise ExportError(f"run {run_dir} has no scalars recorded")
    cells: dict[int, dict[str, float]] = {}
    walls: dict[int, float] = {}
    for name, (steps, wall, values) in series.items():
        for step, when, value in zip(steps.tolist(), wall.tolist(), values.tolist()):
            cells.setdefault(step, {})[name] = value
            walls[step] = min(walls.get(step, when), when)
    names = list(series)
    with _writing(out) as writer:
        writer.writerow(["step", "wall_time", *names])
        for step in sorted(cells):
            row = cells[step]
            writer.writerow([step, repr(walls[step]), *(repr(row[n]) if n in row else "" for n in names)])
    return len(cells)


def write_long_csv(runs: list[tuple[str, object]], out) -> int:
    """Write the scalars of several runs, ``[(label, run_dir), …]``, to ``out`` in the long layout;
    returns the number of rows."""
    rows = 0
    tables = []
    for label, run_dir in runs:
        with open_run(run_dir) as store:
            tables.append((label, _series(store)))
    with _writing(out) as writer:
        writer.writerow(["run", "step", "name", "value"])
        for label, series in tables:
            for name, (steps, _, values) in series.items():
                for step, value in zip(steps.tolist(), values.tolist()):
                    writer.writerow([label, step, name, repr(value)])
                    rows += 1
    return rows


@contextmanager
def _writing(out):
    """A csv writer on a temp file beside ``out``, renamed over it when the block ends cleanly; a
    file that cannot be written is an :class:`ExportError`."""
    try:
        with replaced_atomically(Path(out)) as temp, open(temp, "w", newline="", encoding="utf-8") as file:
            yield csv.writer(file)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
