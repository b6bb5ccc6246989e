"""What the throughput benchmarks share: timing a training step, and the engine against a plain
PyTorch loop in alternating rounds (so that a slow spell of a noisy machine hits both sides), with
the ratio taken as the median of the rounds' paired ratios."""
from __future__ import annotations

import statistics
import time

import torch


def timed(step, steps: int, device: torch.device | None = None) -> float:
    """Steps per second of ``steps`` calls of ``step`` (CUDA work waited for at both ends)."""
    cuda = device is not None and device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def paired_rounds(engine_step, plain_step, rounds: int, steps: int, device: torch.device | None = None,
                  warmup: int = 3) -> tuple[list[float], list[float]]:
    """Steps per second of each side in each round; who goes first alternates."""
    timed(engine_step, warmup, device)        # allocator, kernels
    timed(plain_step, warmup, device)
    ours, theirs = [], []
    for r in range(rounds):
        if r % 2 == 0:
            ours.append(timed(engine_step, steps, device))
            theirs.append(timed(plain_step, steps, device))
        else:
            theirs.append(timed(plain_step, steps, device))
            ours.append(timed(engine_step, steps, device))
    return ours, theirs


def medians(ours: list[float], theirs: list[float], scale: float = 1.0, digits: int = 3) -> tuple[float, float, float]:
    """Median rate of each side (times ``scale``, e.g. the batch size for images/s) and the median
    of the paired ratios."""
    return (round(scale * statistics.median(ours), digits), round(scale * statistics.median(theirs), digits),
            round(statistics.median(a / b for a, b in zip(ours, theirs)), 3))


def report_line(label: str, rate: float, rounds: list[float], unit: str, scale: float = 1.0) -> str:
    return f"{label}: {rate:>10.2f} {unit}  (rounds: {', '.join(f'{scale * x:.1f}' for x in rounds)})"
