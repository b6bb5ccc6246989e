"""A run's scalar curves as data, for any view that plots them (the studio's curves panel, the compare
window's overlaid curves): growing buffers, TensorBoard's debiased smoothing computed only for the
points not smoothed yet, and thinning that keeps a curve's envelope within a bounded memory. NumPy
only: no Qt, no torch.
"""
from __future__ import annotations

import math

import numpy as np

MAX_POINTS = 200_000        # points kept per curve in memory; past it the curve is thinned (the run keeps all)


def ema(values: np.ndarray, weight: float, start: float = 0.0) -> np.ndarray:
    """Exponential moving average e_t = w·e_{t-1} + (1 - w)·x_t from e_{-1} = ``start``, vectorised.

    A doubling scan: after the pass with shift k every e_t holds the terms w^j·(1 - w)·x_{t-j} for
    j < 2k, so log2(n) array passes replace a Python loop over n points. Passes stop once w^k is
    below 1e-20, where the terms left out no longer change a float64.
    """
    out = (1.0 - weight) * np.asarray(values, dtype=np.float64)
    shift, factor = 1, weight                       # factor == weight ** shift
    while shift < len(out) and factor > 1e-20:
        out[shift:] += factor * out[:-shift]        # the product is a new array: reads old values
        shift, factor = 2 * shift, factor * factor
    if start:
        out += start * weight ** np.arange(1, len(out) + 1)
    return out


def smooth_debiased(values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)):
    """TensorBoard's smoothing: s_t = e_t / (1 - w^t), with e the EMA started at 0 and t counting
    the finite values so far; non-finite values pass through unchanged and do not enter the EMA.

    ``state`` = (last e, count) carries the EMA across calls, so appended points are smoothed
    without revisiting old ones. Returns (smoothed values, new state).
    """
    last, count = state
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    x = values if all_finite else values[finite]
    if not len(x):
        return values.copy(), state
    smoothed = ema(x, weight, last)
    last = float(smoothed[-1])
    biased = min(len(x), max(0, bias_horizon(weight) - count))
    if biased:      # beyond the horizon 1 - w^t rounds to 1: skip the (slow) powers there
        smoothed[:biased] /= 1.0 - weight ** (count + np.arange(1, biased + 1))
    if all_finite:
        return smoothed, (last, count + len(x))
    out = values.copy()
    out[finite] = smoothed
    return out, (last, count + len(x))


def thin_envelope(steps: np.ndarray, walls: np.ndarray, values: np.ndarray, size: int):
    """About ``size`` of the points: the lowest and the highest of each run of ``k`` consecutive
    points, in order (the curve's envelope, spikes included; a NaN in a run is kept in place of
    its lowest, so a divergence still breaks the curve), with their steps and wall times."""
    k = max(4, -(-2 * len(values) // max(2, size)))
    n = len(values) // k * k
    if n == 0:
        return steps, walls, values
    groups = values[:n].reshape(-1, k)
    finite = np.isfinite(groups)
    low = np.where(finite, groups, np.inf).argmin(axis=1)
    high = np.where(finite, groups, -np.inf).argmax(axis=1)
    broken = ~finite.all(axis=1)
    low[broken] = (~finite[broken]).argmax(axis=1)
    base = np.arange(0, n, k)
    pick = np.sort(np.stack([base + low, base + high], axis=1), axis=1).ravel()
    pick = np.concatenate([np.unique(pick), np.arange(n, len(values))])
    return steps[pick], walls[pick], values[pick]


def bias_horizon(weight: float) -> int:
    """How many first values of a debiased EMA differ from the plain one: w^t > 1e-17."""
    return 0 if weight <= 0 else math.ceil(math.log(1e-17) / math.log(weight))


class Extent:
    """Running minimum and maximum of the finite values seen."""
    __slots__ = ("hi", "lo")

    def __init__(self):
        self.lo, self.hi = math.inf, -math.inf

    def include(self, values: np.ndarray) -> None:
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        if len(values):
            self.lo = min(self.lo, float(values.min()))
            self.hi = max(self.hi, float(values.max()))

    @property
    def empty(self) -> bool:
        return self.lo > self.hi


class ScalarSeries:
    """One metric: steps, wall times, values and smoothed values in buffers that double when full,
    their running extents, and the EMA state of the points smoothed so far."""

    def __init__(self, name: str):
        self.name = name
        self.n = 0
        self.steps = np.empty(0, np.int64)
        self.walls = np.empty(0, np.float64)
        self.values = np.empty(0, np.float64)
        self.smoothed = np.empty(0, np.float64)
        self._reset_extents()
        self.reset_smoothing()

    def _reset_extents(self) -> None:
        self.step_extent, self.wall_extent = Extent(), Extent()
        self.value_extent, self.positive_extent = Extent(), Extent()

    def extend(self, steps, walls, values: np.ndarray) -> None:
        """Append points; past ``MAX_POINTS`` the curve keeps the envelope of its points
        (:func:`thin_envelope`: peaks survive), so memory stays bounded however long the run. The
        run store keeps every point."""
        values = np.asarray(values, dtype=np.float64)
        if len(values) > MAX_POINTS // 2:
            steps, walls, values = thin_envelope(np.asarray(steps), np.asarray(walls), values, MAX_POINTS // 2)
        if self.n + len(values) > MAX_POINTS:
            self._thin()
        start, end = self.n, self.n + len(values)
        if end > len(self.values):
            self._grow(min(MAX_POINTS, max(end, 2 * len(self.values), 1024)))
        self.steps[start:end] = steps
        self.walls[start:end] = walls
        self.values[start:end] = values
        self.n = end
        self.step_extent.include(self.steps[start:end])
        self.wall_extent.include(self.walls[start:end])
        self.value_extent.include(values)
        self.positive_extent.include(values[values > 0])

    def _thin(self) -> None:
        n = self.n
        kept = thin_envelope(self.steps[:n], self.walls[:n], self.values[:n], n // 2)
        self.n = len(kept[0])
        for attr, column in zip(("steps", "walls", "values"), kept):
            getattr(self, attr)[:self.n] = column
        self.reset_smoothing()

    def _grow(self, capacity: int) -> None:
        for attr in ("steps", "walls", "values", "smoothed"):
            old = getattr(self, attr)
            new = np.empty(capacity, old.dtype)
            new[:self.n] = old[:self.n]
            setattr(self, attr, new)

    def replace(self, steps, walls, values) -> None:
        self.n = 0
        self._reset_extents()
        self.reset_smoothing()
        self.extend(steps, walls, values)

    def reset_smoothing(self) -> None:
        self.smoothed_upto = 0
        self.ema_state = (0.0, 0)

    def smoothed_values(self, weight: float) -> np.ndarray:
        """The debiased EMA of all values, computing only the points added since the last call."""
        if self.smoothed_upto < self.n:
            new, self.ema_state = smooth_debiased(self.values[self.smoothed_upto:self.n], weight, self.ema_state)
            self.smoothed[self.smoothed_upto:self.n] = new
            self.smoothed_upto = self.n
        return self.smoothed[:self.n]

    def y_extent(self, log_y: bool) -> tuple[float, float] | None:
        """Extent of the values in display units (log10 on a log axis), None when nothing shows."""
        if log_y:
            ext = self.positive_extent
            return None if ext.empty else (math.log10(ext.lo), math.log10(ext.hi))
        ext = self.value_extent
        return None if ext.empty else (ext.lo, ext.hi)
