"""Frame kinds of the VAE family: the decoded latent grid, the scatter of test posterior means with
the probe point, the posterior of a drawn digit and the per-dimension KL. NumPy only: the studio
decodes them without importing torch. Each ``still()`` draws the picture replay and export show
(scatter points and bars rendered as pixels)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engines.core.frames import Frame, ImageGrid, as_unit, image_field

# Colours of the digit labels 0-9 (Tableau 10), and of unlabelled points.
LABEL_COLOURS = np.array([
    (0.12, 0.47, 0.71), (1.00, 0.50, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16), (0.58, 0.40, 0.74),
    (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13), (0.09, 0.75, 0.81),
], dtype=np.float32)
UNLABELLED = np.array((0.8, 0.8, 0.8), dtype=np.float32)
MEAN_COLOUR = np.array((0.30, 0.60, 1.00), dtype=np.float32)
SPREAD_COLOUR = np.array((1.00, 0.65, 0.15), dtype=np.float32)
INACTIVE = np.array((0.45, 0.45, 0.45), dtype=np.float32)
DRAWN_COLOUR = np.array((1.00, 0.30, 0.80), dtype=np.float32)    # the user's drawing in the scatter


def label_colours(labels: np.ndarray) -> np.ndarray:
    """(N, 3) RGB in [0, 1] for integer labels (colours cycle after 10; negative: unlabelled)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = LABEL_COLOURS[np.mod(labels, len(LABEL_COLOURS))]
    out[labels < 0] = UNLABELLED
    return out


def rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) grey or (H, W, 3) colour -> (H, W, 3)."""
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor."""
    factor = max(1, int(factor))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def side_by_side(images: list[np.ndarray], pad: int = 2, fill: float = 0.0) -> np.ndarray:
    """RGB images laid left to right, tops aligned, ``pad`` pixels apart."""
    images = [rgb(as_unit(i).astype(np.float32)) for i in images]
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + pad * (len(images) - 1)
    out = np.full((height, width, 3), fill, dtype=np.float32)
    x = 0
    for image in images:
        out[:image.shape[0], x:x + image.shape[1]] = image
        x += image.shape[1] + pad
    return out


def bar_chart(values: np.ndarray, colours: np.ndarray, height: int, bar: int, low: float, high: float,
              spread: np.ndarray | None = None) -> np.ndarray:
    """Vertical bars from 0 to ``values[i]`` on a black (height, len·bar, 3) canvas whose rows span
    ``[low, high]`` (top = high); ``spread`` adds a whisker ``value ± spread`` on each bar. A grey
    line marks 0 when it is in range."""
    n = len(values)
    out = np.zeros((height, max(1, n * bar), 3), dtype=np.float32)

    def row(v):
        return int(np.clip(round((high - v) / (high - low) * (height - 1)), 0, height - 1))

    zero = row(0.0)
    if low < 0 < high:
        out[zero] = 0.35
    for i, v in enumerate(np.nan_to_num(values)):
        a, b = sorted((zero, row(v)))
        out[a:b + 1, i * bar:i * bar + max(1, bar - 1)] = colours[i]
        if spread is not None:
            top, bottom = row(v + spread[i]), row(v - spread[i])
            out[top:bottom + 1, i * bar + max(0, (bar - 1) // 2)] = SPREAD_COLOUR
    return out


@dataclass(frozen=True)
class LatentGrid(ImageGrid):
    """Decodings of a grid of latent points on a plane: ``images`` row by row, ``columns`` wide;
    column c sits at plane coordinate ``xs[c]``, row r at ``ys[r]`` (rows top to bottom, so ``ys``
    decreases). ``plane`` names the axes (``z0 × z1``, ``PC1 × PC2``). Never reflowed."""
    reflow: bool = False
    xs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    ys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    plane: str = ""


@dataclass(frozen=True)
class LatentScatter(Frame):
    """Test posterior means on the latent plane, with their digit labels (-1: none), the probe
    point a user drags with the image it decodes to, and the posterior mean of the user's drawing
    (``drawn``; NaN when there is none)."""
    points: np.ndarray                 # (N, 2) float32 plane coordinates
    labels: np.ndarray                 # (N,) int64
    probe: np.ndarray                  # (2,) float32
    probe_image: np.ndarray = image_field()
    plane: str = ""
    drawn: np.ndarray = field(default_factory=lambda: np.full(2, np.nan, np.float32))

    SIZE = 192        # side of the still picture's scatter, pixels

    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) holding the central 99% of the points, the probe and the drawing, with a margin."""
        pts = np.vstack([self.points.reshape(-1, 2), self.probe.reshape(1, 2)]).astype(np.float64)
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) == 0:
            return -1.0, 1.0, -1.0, 1.0
        marks = np.vstack([self.probe.reshape(1, 2), self.drawn.reshape(1, 2)]).astype(np.float64)
        marks = marks[np.isfinite(marks).all(1)]
        lo = np.minimum(np.percentile(pts, 0.5, axis=0), marks.min(0))
        hi = np.maximum(np.percentile(pts, 99.5, axis=0), marks.max(0))
        margin = np.maximum(0.08 * (hi - lo), 0.05)
        return lo[0] - margin[0], hi[0] + margin[0], lo[1] - margin[1], hi[1] + margin[1]

    def pixel(self, xy: np.ndarray) -> np.ndarray:
        """Plane coordinates (N, 2) -> still-picture (row, column) (N, 2), y up."""
        x0, x1, y0, y1 = self.bounds()
        s = self.SIZE - 1
        col = (np.asarray(xy)[:, 0] - x0) / max(x1 - x0, 1e-12) * s
        row = (y1 - np.asarray(xy)[:, 1]) / max(y1 - y0, 1e-12) * s
        return np.stack([row, col], 1)

    def still(self, fill: float = 0.0) -> np.ndarray:
        """The points as coloured 3×3 dots, the probe as a white cross, its decoding beside them."""
        s = self.SIZE
        canvas = np.zeros((s, s, 3), dtype=np.float32)
        if len(self.points):
            rc = np.rint(self.pixel(self.points)).astype(np.int64)
            colours = label_colours(self.labels)
            inside = np.isfinite(self.points).all(1)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    r, c = rc[:, 0] + dr, rc[:, 1] + dc
                    ok = inside & (r >= 0) & (r < s) & (c >= 0) & (c < s)
                    canvas[r[ok], c[ok]] = colours[ok]
        pr, pc = np.rint(self.pixel(self.probe.reshape(1, 2))[0]).astype(np.int64)
        arm = 5
        canvas[max(0, pr - arm):pr + arm + 1, np.clip(pc, 0, s - 1)] = 1.0
        canvas[np.clip(pr, 0, s - 1), max(0, pc - arm):pc + arm + 1] = 1.0
        if np.isfinite(self.drawn).all():                  # the drawing: a hollow square
            dr, dc = np.clip(np.rint(self.pixel(self.drawn.reshape(1, 2))[0]).astype(np.int64), arm, s - 1 - arm)
            canvas[dr - arm:dr + arm + 1, [dc - arm, dc + arm]] = DRAWN_COLOUR
            canvas[[dr - arm, dr + arm], dc - arm:dc + arm + 1] = DRAWN_COLOUR
        factor = max(1, (s // 2) // max(self.probe_image.shape[:2]))
        return side_by_side([canvas, upscale(self.probe_image, factor)], fill=fill)


@dataclass(frozen=True)
class Drawing(Frame):
    """A drawn image (``pixels``, as drawn) and what the model makes of it: the posterior mean
    ``mu`` and standard deviation ``sigma`` of each latent dimension, and the reconstruction
    ``E[x | z = μ]``."""
    pixels: np.ndarray = image_field()
    recon: np.ndarray = image_field()
    mu: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sigma: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def still(self, fill: float = 0.0) -> np.ndarray:
        """Drawing and reconstruction side by side (same height), the posterior below as bars of μ
        (blue) with ±σ whiskers (orange) on a −3…3 scale."""
        h = max(self.pixels.shape[0], self.recon.shape[0], 56)
        top = side_by_side([upscale(self.pixels, h // self.pixels.shape[0]),
                            upscale(self.recon, h // self.recon.shape[0])], fill=fill)
        bar = max(2, min(8, top.shape[1] // max(1, len(self.mu))))
        colours = np.repeat(MEAN_COLOUR[None], len(self.mu), 0)
        bars = bar_chart(self.mu, colours, 48, bar, -3.0, 3.0, spread=self.sigma)
        width = max(top.shape[1], bars.shape[1])
        out = np.full((top.shape[0] + 2 + bars.shape[0], width, 3), fill, dtype=np.float32)
        out[:top.shape[0], :top.shape[1]] = top
        out[top.shape[0] + 2:, :bars.shape[1]] = bars
        return out


@dataclass(frozen=True)
class LatentStats(Frame):
    """Per latent dimension, on the test set: the average ``KL(q(z_d|x) || N(0, 1))`` (nats) and
    the activity ``Cov_x(E_q[z_d])``; a dimension is active when its activity exceeds
    ``threshold`` (Burda et al. 2016)."""
    kl: np.ndarray
    activity: np.ndarray
    threshold: float = 0.01

    @property
    def active(self) -> np.ndarray:
        return self.activity > self.threshold

    def still(self, fill: float = 0.0) -> np.ndarray:
        """KL per dimension as bars, active dimensions in colour, inactive ones grey."""
        colours = np.where(self.active[:, None], MEAN_COLOUR[None], INACTIVE[None])
        bar = max(2, min(12, 256 // max(1, len(self.kl))))
        return bar_chart(self.kl, colours, 96, bar, 0.0, max(float(np.max(self.kl, initial=0.0)), 1e-3))


__all__ = ["Drawing", "LatentGrid", "LatentScatter", "LatentStats", "label_colours"]
