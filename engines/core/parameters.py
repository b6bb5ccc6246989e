"""Weights and gradients over time, for every engine (TensorBoard's Histograms and Distributions).

The Runner asks a :class:`ParameterWatch` for a :class:`ParameterStats` frame when it records
frames (and, while the studio watches, about every :data:`LIVE_EVERY_S` seconds). For every
parameter tensor of the engine's modules (:meth:`~engines.core.engine.Engine.parameter_modules`,
named as ``module.path.weight``, grouped by layer = the path without the last name) it holds

- the histogram of the values and of the last gradient (``p.grad``; a Boltzmann machine's is its
  last update's statistics, data term minus model term) in :data:`BINS` equal bins between the
  tensor's minimum and maximum;
- their percentiles :data:`PERCENTILES` (TensorBoard's: the minimum, ±1.5σ, ±1σ, ±0.5σ of a normal
  distribution, the median and the maximum), read from a :data:`FINE_BINS`-bin histogram by linear
  interpolation within the bin where the cumulative count crosses each level;
- the same percentiles at every earlier record of the run, at most :data:`MAX_HISTORY` of them
  (past that every other one is dropped), so one frame draws the distribution over steps;

and gives the scalars ``grad_norm/<layer>`` = ‖∇‖₂ over the layer's tensors. The minimum, maximum
and norm are exact; a tensor of more than :data:`SAMPLE` values has its histogram taken over an
evenly strided :data:`SAMPLE` of them (counts scaled to the whole; a percentile's sampling error is
then about 0.3 % of the values), which keeps a frame of a large model to a few milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame, tile

BINS = 48
FINE_BINS = 10 * BINS
PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
MAX_HISTORY = 120
SAMPLE = 1 << 15       # a larger tensor's histogram is taken over every k-th of its values, this many
LIVE_EVERY_S = 5.0
FRAME_NAME = "weights_and_gradients"   # no view declares it: the studio gives it a dock of its own


@dataclass(frozen=True)
class ParameterStats(Frame):
    """Histograms and percentile histories of an engine's parameter tensors at ``step``.

    ``names`` (T tensors, ``layer.param``), ``ranges`` (T, 2, 2): [values, gradients] × [low, high];
    ``counts`` (T, 2, BINS) of values and gradients (a tensor without a gradient: zeros, range NaN);
    ``history_steps`` (K,) and ``history`` (K, T, 2, P) percentiles at each earlier record and this one."""
    names: tuple = ()
    ranges: np.ndarray = None
    counts: np.ndarray = None
    history_steps: np.ndarray = None
    history: np.ndarray = None

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        t = len(self.names)
        for field_name, shape in (("ranges", (t, 2, 2)), ("counts", (t, 2, None))):
            value = np.asarray(getattr(self, field_name))
            if value.ndim != 3 or value.shape[:2] != shape[:2] or (shape[2] and value.shape[2] != shape[2]):
                raise ValueError(f"parameter stats: {field_name} has shape {value.shape}, not {shape} for {t} tensors")
        history = np.asarray(self.history)
        if history.ndim != 4 or history.shape[1:3] != (t, 2) or len(np.asarray(self.history_steps)) != len(history):
            raise ValueError(f"parameter stats: history has shape {history.shape} for {t} tensors")

    @property
    def layers(self) -> list[str]:
        """The layers in the order their tensors come, each once."""
        return list(dict.fromkeys(layer_of(name) for name in self.names))

    def still(self, fill: float = 0.0) -> np.ndarray:
        """One tile per tensor: its value histogram above its gradient histogram, bars scaled to the
        largest bin (square root, so that a long tail still shows)."""
        height = 24
        tiles = np.zeros((len(self.names), 2 * height + 1, self.counts.shape[2]), dtype=np.float32)
        for i, counts in enumerate(self.counts):
            for row, c in enumerate(counts):
                bars = np.sqrt(c / max(1.0, float(c.max()))) * height
                filled = np.arange(height)[::-1, None] < np.round(bars)[None, :]
                tiles[i, row * (height + 1):row * (height + 1) + height] = np.where(filled, 0.9 - 0.35 * row, 0.0)
        return tile(tiles, columns=max(1, math.ceil(math.sqrt(len(tiles)))), pad=2, fill=fill)


def layer_of(name: str) -> str:
    """``G.net.0.weight`` → ``G.net.0``; a tensor at the top of its module is its own layer."""
    layer, _, _ = name.rpartition(".")
    return layer or name


def percentiles_of(fine: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """:data:`PERCENTILES` (R, P) of R sets of values whose histograms over [low, high] are the rows
    of ``fine`` (R, B): each level q at the point where the row's cumulative count reaches q·n,
    linear within its bin (as ``np.interp`` over the bin edges); NaN for a row with no values."""
    fine = np.asarray(fine, dtype=np.float64).reshape(len(lows), -1)
    lows, highs = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
    totals = fine.sum(1)
    bins = fine.shape[1]
    cumulative = np.concatenate([np.zeros((len(fine), 1)), np.cumsum(fine, 1)], 1) / np.maximum(totals, 1e-300)[:, None]
    levels = np.asarray(PERCENTILES) / 100.0
    crossed = np.clip((cumulative[:, None, :] < levels[None, :, None]).sum(-1), 1, bins)     # (R, P)
    below = np.take_along_axis(cumulative, crossed - 1, 1)
    above = np.take_along_axis(cumulative, crossed, 1)
    frac = np.where(above > below, (levels[None, :] - below) / np.where(above > below, above - below, 1.0), 0.0)
    out = lows[:, None] + (crossed - 1 + np.clip(frac, 0.0, 1.0)) * ((highs - lows) / bins)[:, None]
    out[:, 0], out[:, -1] = lows, highs
    out[~((totals > 0) & np.isfinite(lows))] = np.nan
    return out.astype(np.float32)


def memory_order(tensor):
    """The tensor's values as one dimension in the order memory holds them: a view (no copy) for
    a dense tensor in any layout (a channels-last convolution's weights)."""
    order = sorted(range(tensor.dim()), key=lambda d: -tensor.stride(d))
    return tensor.permute(*order).reshape(-1)


class ParameterWatch:
    """Makes the :class:`ParameterStats` frames and ``grad_norm/<layer>`` scalars of one engine."""

    def __init__(self, engine):
        self.engine = engine
        self.steps: list[int] = []
        self.history: list[np.ndarray] = []

    def continue_from(self, frame: ParameterStats) -> None:
        """Take up the history of an earlier frame of the same tensors (a resumed run's last
        recorded one), so the distribution over steps reaches back to the run's start."""
        if frame.names == tuple(name for name, _ in self.tensors()):
            self.steps = [int(step) for step in frame.history_steps]
            self.history = list(np.asarray(frame.history, dtype=np.float32))

    def tensors(self) -> list[tuple[str, object]]:
        """(name, parameter) for every parameter of the engine's modules, each tensor once."""
        seen, out = set(), []
        for prefix, module in self.engine.parameter_modules().items():
            for name, p in module.named_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append((f"{prefix}.{name}" if prefix else name, p))
        return out

    def take(self) -> tuple[ParameterStats, dict[str, float]]:
        """The frame at the engine's step, and the gradient norm of each layer that has a gradient."""
        import torch

        step = self.engine.step
        named = self.tensors()
        ranges = np.full((len(named), 2, 2), np.nan, dtype=np.float32)
        fine = np.zeros((len(named), 2, FINE_BINS), dtype=np.float64)
        squares: dict[str, float] = {}
        with torch.no_grad():
            for i, (name, p) in enumerate(named):
                for row, tensor in enumerate((p, p.grad)):
                    if tensor is None or tensor.numel() == 0:
                        continue
                    x = memory_order(tensor.detach()).float()
                    low, high = (float(v) for v in torch.aminmax(x))
                    if not (math.isfinite(low) and math.isfinite(high)):
                        continue
                    if high <= low:
                        high = low + max(1e-12, abs(low) * 1e-6)
                    sample = x[::-(-x.numel() // SAMPLE)]
                    fine[i, row] = torch.histc(sample, FINE_BINS, low, high).cpu().numpy() * (x.numel() / sample.numel())
                    ranges[i, row] = low, high
                    if row == 1:
                        layer = layer_of(name)
                        squares[layer] = squares.get(layer, 0.0) + float(x.square().sum())
        counts = fine.reshape(len(named), 2, BINS, -1).sum(-1).astype(np.float32)
        levels = percentiles_of(fine.reshape(-1, FINE_BINS), ranges[..., 0].ravel(),
                                ranges[..., 1].ravel()).reshape(len(named), 2, len(PERCENTILES))
        if self.steps and self.steps[-1] == step:
            self.steps.pop()
            self.history.pop()
        self.steps.append(step)
        self.history.append(levels)
        if len(self.steps) > MAX_HISTORY:
            self.steps, self.history = self.steps[::2], self.history[::2]
            if self.steps[-1] != step:
                self.steps.append(step)
                self.history.append(levels)
        frame = ParameterStats(FRAME_NAME, step, tuple(name for name, _ in named), ranges, counts,
                               np.asarray(self.steps, dtype=np.int64), np.stack(self.history))
        return frame, {f"grad_norm/{layer}": math.sqrt(total) for layer, total in squares.items()}
