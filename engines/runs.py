"""Starting and continuing recorded runs, for every front end (the CLI, the studio's training
process): a new run is an engine built from a model name plus a new run directory; a resumed run is
the engine a run describes at its last checkpoint, with the run reopened for writing."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engines.core.config import ConfigError, from_dict, to_dict
from engines.core.checkpoints import CheckpointError, latest_checkpoint, load_checkpoint
from engines.core.store import RunStore, StoreError
from engines.registry import build_engine, describe, draw_own_noise, engine_class

if TYPE_CHECKING:
    from engines.core.engine import Engine


def new_run(engine, data: str | None, run_dir) -> RunStore:
    """The run store of a new run of ``engine`` (built first: a run that cannot start leaves no
    directory behind) in ``run_dir``."""
    return RunStore.create(Path(run_dir), describe(engine, data or engine.default_data))


def restore_engine(store, device: str = "auto", shard: tuple[int, int] = (0, 1),
                   overrides: dict[str, str] | None = None, checkpoint=None) -> "Engine":
    """The engine a recorded run describes, with ``checkpoint`` (a file; None: the run's latest)
    loaded (``eval``, ``train --resume``, ``animate``), its config changed by ``overrides`` (``eval
    --set``: the run itself is not changed). A run without a description or a checkpoint, or a
    checkpoint that does not fit, raises a StoreError/ConfigError saying so."""
    meta = store.meta()
    if "model" not in meta or "config" not in meta:
        raise StoreError(f"{store.path} holds no run description")
    checkpoint = latest_checkpoint(store) if checkpoint is None else Path(checkpoint)
    if checkpoint is None:
        raise CheckpointError(f"{store.path} has no checkpoint yet")
    config = from_dict(engine_class(meta["model"]).Config, meta["config"])
    engine = build_engine(meta["model"], meta.get("data"), device, int(meta.get("seed", 0)),
                          {**{k: getattr(config, k) for k in meta["config"] if hasattr(config, k)},
                           **(overrides or {})}, shard)
    state = load_checkpoint(checkpoint, map_location=engine.device)
    try:
        engine.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {checkpoint.name} does not fit a {meta['model']} engine "
                              f"with this config ({type(exc).__name__})") from None
    if shard[0]:
        draw_own_noise(engine, shard[0])      # rank 0's checkpoint, this rank's noise from here on
    return engine



def resume_run(run_dir, device: str = "auto", shard: tuple[int, int] = (0, 1)) -> tuple:
    """(store, engine) of a stopped or crashed run, reopened for writing (refused while another
    process writes it), its engine at the last checkpoint. What was recorded after that checkpoint
    is set aside and a ``resumed`` event says which steps."""
    store = RunStore.open(run_dir, writable=True)
    try:
        engine = restore_engine(store, device, shard)
        last = store.last_step()
        set_aside = store.supersede_after(engine.step) if last > engine.step else 0
        note = f"; {set_aside} records of steps {engine.step + 1} to {last} set aside" if set_aside else ""
        store.add_event(engine.step, "resumed", f"resumed from the checkpoint at step {engine.step}{note}")
        store.set_meta(status="running", resumed=time.time(), config=to_dict(engine.config))
    except (StoreError, ConfigError, ValueError):
        store.close()
        raise
    return store, engine


def runs_root() -> Path:
    """Where new runs are recorded: ``$GENSTUDIO_RUNS``, else ``~/genstudio/runs``."""
    return Path(os.environ.get("GENSTUDIO_RUNS") or Path.home() / "genstudio" / "runs").expanduser()


def new_run_dir(root: Path, model: str) -> Path:
    """A new, empty ``root/MODEL-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... if that name is taken),
    made here: making it is what claims the name, so two runs started in the same second by two
    processes (two windows, a benchmark's two studio sides) get one each."""
    base = root / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    root.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
