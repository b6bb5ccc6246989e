"""Animations of a model's own dynamics, from a run's last checkpoint: what its views show when
the model runs on without training (``python -m engines animate RUN --view chains``).

How a view animates is what its ``motion`` declares (:mod:`engines.core.views`), so a new family
gets this from its declaration: a ``sampling`` view moves on at every call of ``frames()`` (the
RBM's and the DBM's Gibbs chains, a sweep a frame; ``gibbs_per_frame`` sweeps), so its animation
is that many calls; a ``playback`` view's frame holds a sequence of its own (DRAW's and alignDRAW's
glimpses), played as it is. A ``state`` view changes only with the weights: a checkpoint gives it
one picture, and it has no animation here.

The frames go into a temporary run store and out through the exporter (:mod:`engines.records.export`):
the same uint8 drawing, layout and writers as a recorded run's export, every picture labelled
with its sweep number (a playback, with the training step it was drawn at).
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from engines.core.store import RunStore, StoreError
from engines.records.export import ExportError, checked_request, export_run

ANIMATED = {"sampling": "sweep", "playback": "step"}     # motion -> what a picture's number counts


def animatable_views(engine) -> list[str]:
    """The views of ``engine`` that have an animation of their own."""
    return [view.name for view in engine.views if view.motion in ANIMATED]


def animate(engine, view_name: str, count: int, out, fps: float = 15.0, scale: int | None = None,
            progress=None) -> int:
    """Write ``count`` pictures of view ``view_name`` moving on from ``engine``'s state to ``out``
    (MP4, GIF or a PNG sheet, by its suffix); returns the pictures written. Training state is not
    touched: a sampling view moves its own chains, with its own generator."""
    views = {view.name: view for view in engine.views}
    if view_name not in views:
        raise ExportError(f"{engine.name} has no view '{view_name}' (its views: {', '.join(views)})")
    view = views[view_name]
    if view.motion not in ANIMATED:
        choices = ", ".join(animatable_views(engine)) or "none"
        raise ExportError(f"the {view_name} view changes only with training: it has no animation of its own "
                          f"(views that animate: {choices})")
    if not 1 <= count <= 100_000:
        raise ExportError(f"frames must be from 1 to 100,000, got {count}")
    name = view.frames[0]
    checked_request(out, None, [name], fps, scale)               # a bad request is told before drawing
    with tempfile.TemporaryDirectory(prefix="genstudio-animate-") as folder:
        store = RunStore.create(Path(folder) / "run", {"model": engine.name, "views": [view.to_dict()]})
        try:
            for i in range(1, (count if view.motion == "sampling" else 1) + 1):
                frame = next(f for f in engine.frames({name}) if f.name == name)
                store.add_frames([dataclasses.replace(frame, step=i) if view.motion == "sampling" else frame])
            store.close()
        except StoreError as exc:
            raise ExportError(f"cannot draw the animation: {exc}") from None
        return export_run(Path(folder) / "run", [name], out, fps=fps, scale=scale, progress=progress,
                          unit=ANIMATED[view.motion])
