"""Animations of a model's own dynamics, from a run's checkpoint: what its views show when the model
runs on without training (``python -m engines animate RUN --view chains``; the studio's File →
Animate runs the same command).

How a view animates is what it declares (:mod:`engines.core.views`), so a new family gets this from
its declaration:

- a view with a ``loop`` is drawn at phases i/N of a closed path through the model's inputs (a VAE's
  latent plane walked, a GAN's noise round a great circle, a chair turned once): N pictures that
  play as a seamless loop, labelled "frame i";
- a ``sampling`` view moves on at every call of ``frames()`` (the RBM's and the DBM's Gibbs chains, a
  sweep a frame; ``gibbs_per_frame`` sweeps): N calls, labelled "sweep i";
- a ``playback`` view's frame holds a sequence of its own (DRAW's and alignDRAW's glimpses), played
  as it is, each picture labelled with its glimpse.

A ``state`` view without a loop changes only with the weights: a checkpoint gives it one picture, and
it has no animation here.

The frames go into a temporary run store and out through the exporter (:mod:`engines.records.export`):
the same uint8 drawing, layout and writers as a recorded run's export.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from engines.core.store import RunStore, StoreError
from engines.records.export import ExportCancelled, ExportError, checked_request, export_run

UNITS = {"loop": "frame", "sampling": "sweep", "playback": "step"}   # what a picture's caption counts


def animation_kind(view) -> str | None:
    """How ``view`` animates on its own: "loop", "sampling", "playback", or None."""
    if view.loop:
        return "loop"
    return view.motion if view.motion in ("sampling", "playback") else None


def animatable_views(views) -> list[str]:
    """The names of the views (of an engine, or as a run store describes them) that animate."""
    return [view.name for view in views if animation_kind(view)]


def animate(engine, view_name: str, count: int, out, fps: float = 15.0, scale: int | None = None,
            progress=None) -> int:
    """Write ``count`` pictures of view ``view_name`` moving on from ``engine``'s state to ``out``
    (MP4, GIF or a PNG sheet, by its suffix); returns the pictures written. ``progress(done, total)``
    is called after each picture drawn and each written (False cancels: ExportCancelled, no file).
    Training state is not touched: a sampling view moves its own chains, with its own generator; a
    loop draws from the weights as they are."""
    views = {view.name: view for view in engine.views}
    if view_name not in views:
        raise ExportError(f"{engine.name} has no view '{view_name}' (its views: {', '.join(views)})")
    view = views[view_name]
    kind = animation_kind(view)
    if kind is None:
        choices = ", ".join(animatable_views(engine.views)) or "none"
        raise ExportError(f"the {view_name} view changes only with training: it has no animation of its own "
                          f"(views that animate: {choices})")
    if not 1 <= count <= 100_000:
        raise ExportError(f"frames must be from 1 to 100,000, got {count}")
    name = view.frames[0]
    checked_request(out, None, [name], fps, scale)               # a bad request is told before drawing
    with tempfile.TemporaryDirectory(prefix="genstudio-animate-") as folder:
        store = RunStore.create(Path(folder) / "run", {"model": engine.name, "views": [view.to_dict()]})
        drawn = count if kind != "playback" else 1
        try:
            for i in range(drawn):
                store.add_frames([_picture(engine, view, kind, i, count)])
                if progress is not None and progress(i + 1, 2 * drawn) is False:
                    raise ExportCancelled(f"animation cancelled after drawing {i + 1} of {drawn} pictures")
            store.close()
        except StoreError as exc:
            raise ExportError(f"cannot draw the animation: {exc}") from None
        written = None if progress is None else (lambda done, total: progress(drawn + done, drawn + total))
        return export_run(Path(folder) / "run", [name], out, fps=fps, scale=scale, progress=written,
                          unit=UNITS[kind])


def _picture(engine, view, kind: str, i: int, count: int):
    """Picture ``i`` (from 0) of ``count``, numbered from 1 for its caption (a playback keeps the
    training step it was drawn at)."""
    name = view.frames[0]
    if kind == "loop":
        frame = getattr(engine, view.loop)(i / count)
    else:
        frame = next(f for f in engine.frames({name}) if f.name == name)
    return frame if kind == "playback" else dataclasses.replace(frame, step=i + 1)
