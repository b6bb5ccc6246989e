"""Training under ``torchrun``: several processes (ranks), one per core or GPU, each on its shard of
the training set with its own noise, that stay one model (gloo on CPUs, NCCL on GPUs). Rank 0
records and evaluates the run; the others only train.

- Engines trained by gradients run their training forward pass through :func:`data_parallel`: a
  ``DistributedDataParallel`` wrapper whose backward pass all-reduces the gradients bucket by
  bucket while it is still running, so every rank's optimiser takes the same averaged step.
- Boltzmann machines compute their update from sufficient statistics (data term minus model term);
  :func:`average` all-reduces those before the update, and each rank keeps its own persistent chains.
- The ranks agree on when to stop (:func:`any_rank`) and report the mean of their scalars
  (:func:`mean_scalars`), so a stop, a divergence or a full disk ends every rank at the same step.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from engines.core.config import ConfigError

RANK_SEED_STRIDE = 7919      # rank r draws from seed + r·stride: its own noise, the same for a given seed


def world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when run on its own."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def start(device: torch.device) -> None:
    """Join the process group torchrun set up (NCCL for CUDA devices, gloo otherwise)."""
    if world()[1] > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop(together: bool = False) -> None:
    """Leave the process group; ``together`` (every rank ended its work at the same point: a run
    finished, stopped or diverged on all of them), after the others are done with it too, as a
    rank that tears its connections down while another still uses them can abort that one. After
    a failure it is left at once: the others may be inside a step's all-reduce."""
    if dist.is_available() and dist.is_initialized():
        if together and dist.get_world_size() > 1:
            try:
                dist.barrier()
            except RuntimeError:      # another rank is gone already
                pass
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    return seed + RANK_SEED_STRIDE * rank


class _Method(nn.Module):
    """``module.<method>`` as a module's forward, so DistributedDataParallel can wrap a training
    pass that is not the module's own forward (a VAE's ``elbo_terms``)."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args, **kwargs):
        return getattr(self.module, self.method)(*args, **kwargs)


def data_parallel(module: nn.Module, method: str = "forward"):
    """What a training step calls to run ``module`` (its ``method``) so that the backward pass
    averages the gradients over the ranks: ``module.<method>`` itself in a process on its own; under
    torchrun a ``DistributedDataParallel`` wrapper (its parameters and buffers broadcast from rank
    0 when made, batch-norm buffers again at each forward). Pictures, evaluation and a pass whose
    gradients must not be averaged (the GAN's discriminator inside the generator's step) call the
    module directly."""
    if not active():
        return getattr(module, method)
    wrapped = module if method == "forward" else _Method(module, method)
    device = next(module.parameters()).device
    return nn.parallel.DistributedDataParallel(wrapped, device_ids=[device.index] if device.type == "cuda" else None)


def average(tensors) -> None:
    """Replace each tensor by its mean over the ranks, in place, in one all-reduce (a no-op in a
    process on its own): the sufficient statistics of a Boltzmann machine's update."""
    if not active():
        return
    tensors = list(tensors)
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` (first dimension may differ), concatenated in rank order, on every
    rank; the tensor itself in a process on its own."""
    if not active():
        return tensor
    parts = [None] * dist.get_world_size()
    dist.all_gather_object(parts, tensor.cpu())
    return torch.cat(parts).to(tensor.device)


def rows(count: int) -> np.ndarray:
    """The rows of a training set of ``count`` examples this rank trains on: every world-size-th
    from its rank on, the shards cut to one length (a batch sampler's state then fits every rank's
    shard); all of them in a process on its own."""
    if not active():
        return np.arange(count)
    rank, size = dist.get_rank(), dist.get_world_size()
    length = count // size
    if length < 1:
        raise ConfigError(f"{count} training examples cannot be shared among {size} processes")
    return np.arange(rank, rank + length * size, size)


def rank_generator(generator: torch.Generator | None) -> torch.Generator | None:
    """``generator`` in a process on its own; under torchrun a generator of this rank's own,
    seeded from ``generator``'s seed and the rank (its own samples, the same for a given seed)."""
    if not active() or generator is None:
        return generator
    return torch.Generator(device=generator.device).manual_seed(rank_seed(generator.initial_seed(), dist.get_rank()))


def share(count: int) -> slice:
    """This rank's part of ``count`` items split as evenly as possible (all of them on its own)."""
    if not active():
        return slice(0, count)
    rank, size = dist.get_rank(), dist.get_world_size()
    base, extra = divmod(count, size)
    first = rank * base + min(rank, extra)
    return slice(first, first + base + (rank < extra))


def mean_scalars(values: dict[str, float]) -> dict[str, float]:
    """The ranks' step scalars averaged (every rank reports the same names at the same step)."""
    if not active() or not values:
        return values
    names = sorted(values)
    flat = torch.tensor([values[name] for name in names], dtype=torch.float64)
    dist.all_reduce(flat)
    return dict(zip(names, (flat / dist.get_world_size()).tolist()))


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on at least one (one small all-reduce)."""
    if not active():
        return flag
    box = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return bool(box.item())
