"""Training under ``torchrun``: several processes, one per core or GPU, each on its shard of the
training set, their gradients averaged every step (gloo on CPU, NCCL on GPUs). Rank 0 records the
run; the others only train. An engine takes part when its step is a plain data-parallel gradient
step (it steps its optimisers through :meth:`Engine.step_optimizer`); one that is not (persistent
chains, hand-made updates) says why instead (``Engine.distributed``)."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


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


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(parameters) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce per tensor)."""
    world_size = dist.get_world_size()
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(world_size)
