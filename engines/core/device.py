"""Device choice and seeding. torch is imported by the functions that use it, so that the command
line's commands that need none (``serve``, ``mirror``) start without it, though they know DeviceError."""
from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """A device the user asked for that this machine does not have."""


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` = CUDA if present, then Apple MPS, then CPU; an explicit name must exist."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("device 'cuda' asked for, but this torch build sees no CUDA GPU "
                              f"(torch {torch.__version__}); use --device cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' asked for, but Apple MPS is not available here")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device '{name}' (choose from {', '.join(DEVICE_CHOICES)})")


def flush_denormals() -> None:
    """Treat subnormal floats (below ~1.2e-38 in float32) as zero on the CPU. Arithmetic on them is
    tens of times slower there, and training makes them: Adam's moments of weights that see no
    gradient (MNIST's blank border pixels) decay geometrically, m_t = beta1^t m_0, into that range
    after a few hundred steps; the dense VAE fell from 157 to 100 steps/s at step 700 on 2 cores
    without this, and kept 160. Values that small change no result."""
    import torch

    torch.set_flush_denormal(True)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a CPU run is reproducible step for step."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


THREADS_ENV = "GENSTUDIO_THREADS"


def default_threads() -> int:
    """Torch CPU threads: ``$GENSTUDIO_THREADS`` if set (e.g. 1 on a machine shared with other
    jobs: several threads of one op stall whenever one of them waits for a core), else all cores,
    shared out among the processes torchrun starts on this machine (``$LOCAL_WORLD_SIZE``: four
    processes with every core each on 2 cores trained many times slower, each thread spinning for
    partners the others held off)."""
    chosen = os.environ.get(THREADS_ENV, "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    local = os.environ.get("LOCAL_WORLD_SIZE", "1").strip()
    return max(1, (os.cpu_count() or 1) // (int(local) if local.isdigit() and int(local) > 0 else 1))
