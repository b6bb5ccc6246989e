"""2-D point sets for ``gan2d``: the usual mixtures of Gaussians, or points a user gives.

- ``ring``: 8 Gaussians (σ 0.05) evenly spaced on a circle of radius 2 (Metz et al. 2017's toy);
- ``grid``: 25 Gaussians (σ 0.05) on the 5×5 grid {−2, −1, 0, 1, 2}² (Srivastava et al. 2017);
- ``points:FILE.csv``: two numeric columns x, y (comma-separated, an optional header line);
- points drawn in the studio arrive through ``gan2d``'s ``set_points`` action.

The mixtures have 10,000 points drawn from ``numpy.random.default_rng(0)`` (the same on every
machine, whatever the run's seed). Every split follows the project rule: every 10th point is test.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.data.base import DataError

MIXTURE_POINTS = 10_000
MIXTURE_STD = 0.05
MAX_POINTS = 1_000_000
MIN_POINTS = 10
MAX_COORD = 1000.0
SPECS = ("ring", "grid", "points:FILE.csv")


@dataclass(frozen=True)
class PointDataset:
    """Points (N, 2) float32, split train/test; ``modes`` (K, 2) and ``std`` when the set is a
    known mixture of Gaussians (for mode coverage), else None."""
    name: str
    train: np.ndarray
    test: np.ndarray
    modes: np.ndarray | None = None
    std: float | None = None

    @property
    def shape(self) -> tuple[int]:
        return (2,)

    def extent(self, margin: float = 0.25) -> tuple[float, float, float, float]:
        """A square (x0, x1, y0, y1) around every point, ``margin`` of its side added around."""
        pts = np.concatenate([self.train, self.test])
        lo, hi = pts.min(0), pts.max(0)
        centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.5) * (1 + margin)
        return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def split_points(name: str, points: np.ndarray, modes=None, std=None) -> PointDataset:
    points = np.ascontiguousarray(points, dtype=np.float32)
    test = np.arange(len(points)) % 10 == 0
    return PointDataset(name, np.ascontiguousarray(points[~test]), np.ascontiguousarray(points[test]), modes, std)


def mixture(name: str, modes: np.ndarray, n: int = MIXTURE_POINTS, std: float = MIXTURE_STD) -> PointDataset:
    """``n`` points, each from a mode chosen uniformly plus N(0, std²I) noise, seed 0."""
    rng = np.random.default_rng(0)
    points = modes[rng.integers(len(modes), size=n)] + std * rng.standard_normal((n, 2))
    return split_points(name, points, modes.astype(np.float32), std)


def ring_modes(k: int = 8, radius: float = 2.0) -> np.ndarray:
    angle = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angle), np.sin(angle)], 1)


def grid_modes(side: int = 5, spacing: float = 1.0) -> np.ndarray:
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    return np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)


def check_points(points, source: str) -> np.ndarray:
    """``points`` as a float32 (N, 2) array, or DataError saying what is wrong with them."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{source}: points must be pairs of numbers") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise DataError(f"{source}: points must be pairs (x, y), got an array of shape {array.shape}")
    if not np.isfinite(array).all():
        raise DataError(f"{source}: every coordinate must be a finite number")
    if len(array) < MIN_POINTS:
        raise DataError(f"{source}: needs at least {MIN_POINTS} points (every 10th is held out), got {len(array)}")
    if len(array) > MAX_POINTS:
        raise DataError(f"{source}: at most {MAX_POINTS:,} points, got {len(array):,}")
    if np.abs(array).max() > MAX_COORD:
        raise DataError(f"{source}: coordinates must lie within ±{MAX_COORD:g}")
    return array.astype(np.float32)


def read_csv(path: str) -> np.ndarray:
    """Two numeric columns; a first line that is not numeric is taken for a header."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"point file '{file}' does not exist" if not file.exists() else f"'{file}' is not a file")
    try:
        lines = [ln.strip() for ln in file.read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read point file '{file}': {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if number == 1:
                continue  # header
            raise DataError(f"{file}, line {number}: expected two numbers x,y, got {line[:60]!r}") from None
        if len(values) != 2:
            raise DataError(f"{file}, line {number}: expected two columns x,y, got {len(values)}")
        rows.append(values)
    return check_points(np.array(rows, dtype=np.float64).reshape(-1, 2), str(file))


def load_points(spec: str) -> PointDataset:
    """``ring``, ``grid`` or ``points:FILE.csv``."""
    if spec == "ring":
        return mixture("ring", ring_modes())
    if spec == "grid":
        return mixture("grid", grid_modes())
    if spec.startswith("points:"):
        path = spec.removeprefix("points:")
        return split_points(f"points:{path}", read_csv(path))
    raise DataError(f"gan2d trains on 2-D points: dataset must be one of {', '.join(SPECS)}, not '{spec}'")
