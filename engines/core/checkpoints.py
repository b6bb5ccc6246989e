"""A run's checkpoints: the engine's ``state_dict()`` in ``checkpoints/step-NNNNNNNNN.pt`` of its run
directory, the newest few kept, their records in the run store.

A checkpoint is serialised in memory and written by Python to a temp file that is then renamed, so
a reader never sees half of one and a full disk is an ``OSError`` (a
:class:`~engines.core.store.StoreWriteError`, the partial file removed). It is loaded with
``weights_only=True``: a checkpoint from someone else holds tensors and plain data, and cannot run
code. torch is imported when a checkpoint is written or read, never by a reader of a run's curves
and frames.
"""
from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

from engines.core.files import replaced_atomically
from engines.core.store import RunStore, StoreError, writing

FOLDER = "checkpoints"


class CheckpointError(StoreError):
    """A checkpoint that is missing, corrupt, or would run code when loaded."""


def save_checkpoint(store: RunStore, step: int, state: dict, keep_last: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step`` and record it; keep the newest ``keep_last``."""
    import torch

    final = store.path / FOLDER / f"step-{step:09d}.pt"
    serialised = io.BytesIO()
    torch.save(state, serialised)
    with writing(store.path), replaced_atomically(final) as temp, open(temp, "wb") as out:
        out.write(serialised.getbuffer())
    for name in store.record_checkpoint(step, final.name, keep_last):
        (store.path / FOLDER / name).unlink(missing_ok=True)
    return final


def latest_checkpoint(store: RunStore) -> Path | None:
    """The newest checkpoint file of the run; a record naming a file outside ``checkpoints/`` (a
    crafted store) is refused."""
    name = store.newest_checkpoint_name()
    if name is None:
        return None
    if Path(name).name != name or name in ("", ".", ".."):
        raise CheckpointError(f"run {store.path} names checkpoint '{name}' outside its checkpoints folder; refused")
    return store.path / FOLDER / name


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``: tensors and plain data only. A file that is
    corrupt, truncated or holds a pickle that would run code raises :class:`CheckpointError`."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"(?i)unsupported:? global:? (?:GLOBAL )?([\w.]+)", str(exc))
        if found:
            raise CheckpointError(f"checkpoint {path.name} refused: loading it would call {found.group(1)}, "
                                  "and a checkpoint may hold plain data only") from None
        raise CheckpointError(f"checkpoint {path.name} is corrupt or not a checkpoint (unreadable pickle)") from None
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes the loader raise (a text file: IndexError)
        raise CheckpointError(f"checkpoint {path.name} is corrupt or not a checkpoint "
                              f"({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path.name} is not an engine state (got {type(state).__name__})")
    return state
