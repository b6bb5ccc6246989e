"""A recorded run as TensorBoard event files: every scalar (with its wall time), every recorded
frame's still picture as an image, the events (live edits, resumes, errors) and the run's settings
as text. Needs the optional ``tensorboard`` package (``pip install 'genstudio[tensorboard]'``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engines.core.frames import as_unit
from engines.core.store import RunStore


class TensorBoardMissing(ImportError):
    pass


def _writer(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise TensorBoardMissing("TensorBoard export needs the tensorboard package: "
                                 "pip install 'genstudio[tensorboard]'") from exc
    return SummaryWriter(log_dir=str(out_dir))


def export_tensorboard(run_dir, out_dir) -> dict[str, int]:
    """Write the run in ``run_dir`` to ``out_dir`` as event files; returns what was written."""
    out_dir = Path(out_dir)
    store = RunStore.open(run_dir)
    counts = {"scalars": 0, "images": 0, "events": 0}
    try:
        meta = store.meta()
        writer = _writer(out_dir)
        try:
            settings = {k: meta.get(k) for k in ("model", "data", "seed", "device", "config")}
            writer.add_text("run/settings", f"```\n{json.dumps(settings, indent=2)}\n```", 0)
            for name in store.scalar_names():
                steps, walls, values = store.scalars(name)
                for step, wall, value in zip(steps.tolist(), walls.tolist(), values.tolist()):
                    if np.isfinite(value):
                        writer.add_scalar(name, value, step, walltime=wall)
                        counts["scalars"] += 1
            for name in store.frame_names():
                for frame in store.frames(name):
                    picture = np.clip(as_unit(frame.still()), 0, 1)
                    writer.add_image(name, picture, frame.step, dataformats="HWC" if picture.ndim == 3 else "HW")
                    counts["images"] += 1
            for step, kind, message in store.events():
                writer.add_text(f"events/{kind}", message, step)
                counts["events"] += 1
        finally:
            writer.close()
    finally:
        store.close()
    return counts
