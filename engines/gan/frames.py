"""Frame kinds of the GAN family (NumPy only: the studio decodes them without torch).

- :class:`GANSamples`: the fixed-noise samples, with how often each player has been updated;
- :class:`PyramidLevels`: LAPGAN's levels for a few samples: coarsest image, then per finer level
  the upsampled coarser image, the generated band-pass residual (0.5 = zero) and their sum;
- :class:`PointField`: ``gan2d``'s plane: real and generated points, D's output as a heat map, and
  the generator's image of a grid of noise lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame, ImageGrid, image_field, tile

# Heat-map colours of D's output (0 = "fake" … 1 = "real"), shared by still() and the panel.
HEAT_STOPS = np.array([0.0, 0.5, 1.0], dtype=np.float32)
HEAT_COLOURS = np.array([[0.80, 0.70, 0.92], [0.97, 0.97, 0.97], [0.70, 0.90, 0.72]], dtype=np.float32)
REAL_COLOUR = (0.10, 0.45, 0.15)
FAKE_COLOUR = (0.50, 0.15, 0.60)
LINE_COLOUR = (0.45, 0.45, 0.45)


@dataclass(frozen=True)
class GANSamples(ImageGrid):
    """Samples from one fixed noise batch (drawn once per run), so frames compare across time;
    ``d_updates``/``g_updates`` count each player's updates, one-player steps included."""
    d_updates: int = 0
    g_updates: int = 0


@dataclass(frozen=True)
class PyramidLevels(Frame):
    """LAPGAN's pyramid for ``N`` samples, every picture upsampled (nearest) to the finest size:
    ``base`` (N, H, W[, 3]) is the coarsest level's generated image; ``coarse``, ``residual`` and
    ``total`` (L−1, N, H, W[, 3]) are, per finer level, the upsampled coarser image ``l_k``, the
    generated residual ``h̃_k`` shown as ``0.5 + h̃_k`` (clipped), and the level's image
    ``l_k + h̃_k``. ``sizes`` are the levels' own sizes, coarse to fine."""
    base: np.ndarray = image_field()
    coarse: np.ndarray = image_field()
    residual: np.ndarray = image_field()
    total: np.ndarray = image_field()
    sizes: tuple = ()

    @property
    def columns(self) -> int:
        return 1 + 3 * self.coarse.shape[0]

    def column_labels(self) -> list[str]:
        """What each column of :meth:`still` shows."""
        labels = [f"{self.sizes[0]}×{self.sizes[0]}"]
        for size in self.sizes[1:]:
            labels += ["↑", "+ h", f"= {size}×{size}"]
        return labels

    def still(self, fill: float = 0.0) -> np.ndarray:
        """One row per sample: coarsest image, then (upsampled coarse, residual, sum) per level."""
        per_level = np.stack([self.coarse, self.residual, self.total], 2)   # (L-1, N, 3, ...)
        rows = np.concatenate([self.base[:, None], np.moveaxis(per_level, 0, 1).reshape(
            self.base.shape[0], -1, *self.base.shape[1:])], 1)              # (N, columns, ...)
        return tile(rows.reshape(-1, *self.base.shape[1:]), self.columns, fill=fill)


@dataclass(frozen=True)
class PointField(Frame):
    """``gan2d``'s plane over ``extent`` = (x0, x1, y0, y1).

    ``real`` (N, 2) and ``fake`` (M, 2) are points; ``heat`` (R, R) is D's output on the grid of
    cell centres, ``heat[i, j]`` at ``(x_j, y_i)`` with y increasing with i (σ(logit) for the
    cross-entropy objectives, the clipped raw score for least squares); ``lines`` (K, P, 2) are
    the generator's images of K straight lines of P points in noise space (the noise grid).

    GAN Lab's views: ``pushes`` (M, 2) is ``−∂ℓ_G/∂x`` at each generated point ``x`` (ℓ_G the
    generator's loss on D's logit at x alone), the direction G's next update moves it; ``layers``
    (L, K, P, 2) is the noise grid at G's input, after each hidden layer (its first two principal
    components, signed to follow the noise's first two dimensions) and at the output, named by
    ``layer_names``. Both are None / empty in runs recorded before them."""
    real: np.ndarray
    fake: np.ndarray
    heat: np.ndarray
    lines: np.ndarray
    extent: tuple = (-1.0, 1.0, -1.0, 1.0)
    pushes: np.ndarray | None = None
    layers: np.ndarray | None = None
    layer_names: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "layer_names", tuple(str(n) for n in self.layer_names))

    def still(self, fill: float = 0.0, size: int = 320) -> np.ndarray:
        """A ``size``×``size`` RGB picture, y up: heat map, grid lines, real then generated points."""
        heat = np.clip(np.asarray(self.heat, dtype=np.float32), 0, 1)
        rows = np.linspace(0, heat.shape[0] - 1, size).round().astype(int)[::-1]
        cols = np.linspace(0, heat.shape[1] - 1, size).round().astype(int)
        img = heat_colours(heat[rows][:, cols])
        for line in self.lines:
            dense = _densify(line, steps=4 * size)
            self._paint(img, dense, LINE_COLOUR, radius=0)
        self._paint(img, self.real, REAL_COLOUR, radius=1)
        self._paint(img, self.fake, FAKE_COLOUR, radius=1)
        return img

    def _pixels(self, points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        x0, x1, y0, y1 = self.extent
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(1)]
        col = (pts[:, 0] - x0) / (x1 - x0) * (size - 1)
        row = (y1 - pts[:, 1]) / (y1 - y0) * (size - 1)
        inside = (col >= 0) & (col <= size - 1) & (row >= 0) & (row <= size - 1)
        return row[inside].round().astype(int), col[inside].round().astype(int)

    def _paint(self, img: np.ndarray, points: np.ndarray, colour, radius: int) -> None:
        size = img.shape[0]
        rows, cols = self._pixels(points, size)
        for dr in range(-radius, radius + 1):
            for dc in range(-radius, radius + 1):
                img[np.clip(rows + dr, 0, size - 1), np.clip(cols + dc, 0, size - 1)] = colour


def heat_colours(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → RGB through :data:`HEAT_STOPS` / :data:`HEAT_COLOURS` (piecewise linear)."""
    return np.stack([np.interp(values, HEAT_STOPS, HEAT_COLOURS[:, c]) for c in range(3)], -1).astype(np.float32)


def _densify(line: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points evenly spread (by index) along a polyline: drawn as a continuous line."""
    line = np.asarray(line, dtype=np.float64)
    if len(line) < 2:
        return line
    t = np.linspace(0, len(line) - 1, steps)
    i = np.minimum(t.astype(int), len(line) - 2)
    frac = (t - i)[:, None]
    return line[i] * (1 - frac) + line[i + 1] * frac
