"""Frame kinds of the DRAW family: the glimpse trace (canvases step by step with the attention
windows) and the caption trace (alignDRAW's generation from captions, with the alignment over the
words). NumPy (and Pillow for word labels) only: the studio decodes them without torch.

A window is five numbers in the paper's 1-based pixel coordinates: ``(gx, gy, δ, σ², γ)``. Pixel
``a`` (1-based) covers ``[a − 1, a]`` in image-item coordinates, so a filter centre μ is drawn at
``μ − 0.5``. A window is shown as the rectangle the N×N grid covers (``N·δ`` wide, centred on
``(gx, gy)``), the grid of its filter centres, a line width that grows with σ (blurrier filters,
thicker lines) and an opacity that grows with its strength (γ for a read, 1/γ for a write).
Read windows are green, write windows red.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame, as_unit, image_field, tile
from engines.data.captions import split_words

READ_COLOUR = (0.25, 0.95, 0.35)
WRITE_COLOUR = (1.0, 0.3, 0.2)
MIN_PICTURE = 96          # burnt-in pictures are upscaled (nearest) until a canvas is at least this wide
PAD = 2                   # pixels between canvases in a burnt-in picture


# ---------------------------------------------------------------------------------- geometry
def window_box(params: np.ndarray, n: int) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` in image-item coordinates of the rectangle an n×n grid covers."""
    gx, gy, delta = float(params[0]), float(params[1]), float(params[2])
    half = n * delta / 2
    return gx - 0.5 - half, gy - 0.5 - half, gx - 0.5 + half, gy - 0.5 + half


def window_centres(params: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n² filter centres ``(μx_i, μy_j)`` in image-item coordinates, as two flat arrays."""
    gx, gy, delta = float(params[0]), float(params[1]), float(params[2])
    offsets = (np.arange(1, n + 1) - n / 2 - 0.5) * delta
    xs, ys = np.meshgrid(gx - 0.5 + offsets, gy - 0.5 + offsets)
    return xs.ravel(), ys.ravel()


def line_width(sigma2: float) -> float:
    """Outline width in screen pixels: ``1 + σ`` (σ in image pixels), between 1 and 5."""
    return float(np.clip(1 + math.sqrt(max(float(sigma2), 0.0)), 1.0, 5.0))


def opacity(gamma: float, write: bool) -> float:
    """``0.3 + 0.7·(1 − e^(−s))`` with strength s = γ (read) or 1/γ (write): faint to opaque."""
    strength = 1 / max(float(gamma), 1e-6) if write else float(gamma)
    return 0.3 + 0.7 * (1 - math.exp(-max(strength, 0.0)))


# ---------------------------------------------------------------------------------- burning in
def _rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images[..., None], 3, axis=-1) if images.ndim == 3 else images.copy()


def _span(lo: int, hi: int, size: int) -> slice | None:
    lo, hi = max(lo, 0), min(hi, size)
    return slice(lo, hi) if lo < hi else None


def burn_window(image: np.ndarray, params: np.ndarray, n: int, scale: int, colour, write: bool) -> None:
    """Draw one window into ``image`` ((h, w, 3), a canvas upscaled ``scale`` times), in place:
    the rectangle's edges that fall inside and the filter centres as small squares."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (round(v * scale) for v in window_box(params, n))
    width = max(1, round(line_width(params[3])))
    mask = np.zeros((h, w), dtype=bool)
    lo = -(width // 2)
    for rows, cols in (((y0 + lo, y0 + lo + width), (x0, x1 + 1)), ((y1 + lo, y1 + lo + width), (x0, x1 + 1)),
                       ((y0, y1 + 1), (x0 + lo, x0 + lo + width)), ((y0, y1 + 1), (x1 + lo, x1 + lo + width))):
        r, c = _span(*rows, h), _span(*cols, w)
        if r is not None and c is not None:
            mask[r, c] = True
    dot = max(1, scale // 2)
    for x, y in zip(*window_centres(params, n), strict=True):
        r = _span(round(y * scale) - dot // 2, round(y * scale) - dot // 2 + dot, h)
        c = _span(round(x * scale) - dot // 2, round(x * scale) - dot // 2 + dot, w)
        if r is not None and c is not None:
            mask[r, c] = True
    alpha = opacity(params[4], write)
    image[mask] = (1 - alpha) * image[mask] + alpha * np.asarray(colour, dtype=image.dtype)


def picture_scale(height: int, width: int) -> int:
    return max(1, math.ceil(MIN_PICTURE / max(height, width)))


def burnt_mosaic(canvases: np.ndarray, write: np.ndarray | None, write_n: int, read: np.ndarray | None,
                 read_n: int, columns: int, fill: float = 0.0) -> np.ndarray:
    """Canvases (S, H, W[, 3]) at one step, upscaled, with their write windows (S, 5) and the read
    windows (R, 5) of the first R burnt in, tiled ``columns`` wide: (h, w, 3) in [0, 1]."""
    scale = picture_scale(*canvases.shape[1:3])
    images = _rgb(np.clip(as_unit(canvases), 0, 1).astype(np.float32))
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    for s in range(len(images)):
        if read is not None and s < len(read):
            burn_window(images[s], read[s], read_n, scale, READ_COLOUR, write=False)
        if write is not None:
            burn_window(images[s], write[s], write_n, scale, WRITE_COLOUR, write=True)
    return tile(images, columns, pad=PAD, fill=fill)


# ---------------------------------------------------------------------------------- glimpse trace
@dataclass(frozen=True)
class GlimpseTrace(Frame):
    """DRAW drawing a few images glimpse by glimpse.

    ``canvases[s, t]`` is ``σ(c_{t+1})`` of sample s ((S, T, H, W[, 3])); the first
    ``reconstructions`` samples reconstruct fixed test images, the others are generated from fixed
    prior noise. ``write[s, t]`` is the write window of step t+1 ((S, T, 5); (S, T, 0) without
    attention) and ``read[s, t]`` the read window of reconstruction s ((R, T, 5), R =
    ``reconstructions``, or no rows without attention). ``columns`` samples per row."""
    animation_unit = "glimpse"
    canvases: np.ndarray = image_field()
    write: np.ndarray
    read: np.ndarray
    write_n: int = 0
    read_n: int = 0
    reconstructions: int = 0
    columns: int = 4

    @property
    def steps(self) -> int:
        return self.canvases.shape[1]

    @property
    def attention(self) -> bool:
        return self.write.shape[-1] > 0

    def windows(self, t: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(write (S, 5), read (R, 5)) windows of step t (1..T), or None where there are none."""
        if not self.attention:
            return None, None
        return self.write[:, t - 1], (self.read[:, t - 1] if len(self.read) else None)

    def picture(self, t: int, fill: float = 0.0) -> np.ndarray:
        """All samples at step t (1..T) with their windows burnt in."""
        write, read = self.windows(t)
        return burnt_mosaic(self.canvases[:, t - 1], write, self.write_n, read, self.read_n, self.columns, fill)

    def still(self, fill: float = 0.0) -> np.ndarray:
        """The finished canvases (t = T) with the last windows."""
        return self.picture(self.steps, fill)

    def animation(self) -> list[np.ndarray]:
        """The drawing glimpse by glimpse: one picture per step t = 1..T."""
        return [self.picture(t) for t in range(1, self.steps + 1)]


# ---------------------------------------------------------------------------------- captions
def heat_colours(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB on a dark-blue, magenta, yellow ramp (like 'inferno')."""
    anchors = np.array([[0.0, 0.0, 0.1], [0.45, 0.05, 0.55], [0.95, 0.35, 0.2], [1.0, 0.95, 0.4]])
    pos = np.clip(values, 0, 1) * (len(anchors) - 1)
    low = np.minimum(pos.astype(int), len(anchors) - 2)
    frac = (pos - low)[..., None]
    return ((1 - frac) * anchors[low] + frac * anchors[low + 1]).astype(np.float32)


def _font(size: int):
    """Pillow's built-in font at ``size`` pixels (Pillow < 10.1 has only its small bitmap font)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _word_labels(words: tuple[str, ...], cell: int, height: int) -> np.ndarray:
    """Words written bottom to top (rotated a quarter turn), one per ``cell``-wide column: (height, cell·L)."""
    from PIL import Image, ImageDraw

    font = _font(max(8, min(cell - 2, 12)))
    strip = Image.new("L", (height, cell * len(words)), 0)   # drawn sideways, then rotated
    draw = ImageDraw.Draw(strip)
    for k, word in enumerate(words):
        draw.text((2, k * cell + (cell - getattr(font, "size", 10)) // 2 - 1), word, fill=255, font=font)
    return np.asarray(strip.rotate(90, expand=True), dtype=np.float32) / 255


def text_line(text: str, width: int, size: int = 11) -> np.ndarray:
    """One line of text, white on black, ``width`` pixels wide (cut if longer): (h, width)."""
    from PIL import Image, ImageDraw

    line = Image.new("L", (width, size + 6), 0)
    ImageDraw.Draw(line).text((3, 2), text, fill=255, font=_font(size))
    return np.asarray(line, dtype=np.float32) / 255


def heat_map_picture(alignment: np.ndarray, words: tuple[str, ...], t: int, width: int) -> np.ndarray:
    """The alignment (T, L) as an RGB picture about ``width`` wide: one row per step, one column per
    word (labels under it), steps after t dimmed and row t outlined."""
    steps, count = alignment.shape
    cell = max(6, width // max(count, 1))
    row = max(2, min(cell, 120 // max(steps, 1)))
    peak = max(float(alignment.max(initial=0.0)), 1e-6)
    heat = heat_colours(alignment / peak)
    heat[t:] *= 0.35
    heat = heat.repeat(row, axis=0).repeat(cell, axis=1)
    heat[(t - 1) * row, :] = 1.0
    heat[t * row - 1, :] = 1.0
    labels = _word_labels(words, cell, 48)
    return np.concatenate([heat, np.repeat(labels[..., None], 3, axis=-1)], axis=0)


@dataclass(frozen=True)
class CaptionTrace(Frame):
    """alignDRAW generating images from captions, glimpse by glimpse.

    Row r of the samples draws ``captions[r]`` (``columns`` samples each, from fixed noise);
    sample s = r·columns + c. ``canvases`` (S, T, H, W), ``write`` (S, T, 5) as in
    :class:`GlimpseTrace`, ``alignment[s, t, k]`` the weight of word k of its caption at step t+1
    ((S, T, L), padded with zeros past the caption's ``len(words[r])`` words; each row sums to 1
    over the words). ``typed`` says row 0 is the user's caption, ``unknown`` its words outside
    ``vocabulary`` (left out of the encoding), ``suggestions`` held-out compositions to try."""
    animation_unit = "glimpse"
    canvases: np.ndarray = image_field()
    write: np.ndarray
    alignment: np.ndarray
    captions: tuple = ()
    words: tuple = ()
    vocabulary: tuple = ()
    unknown: tuple = ()
    suggestions: tuple = ()
    typed: bool = False
    write_n: int = 0
    columns: int = 1

    def __post_init__(self):   # stored frames come back with lists where tuples went in
        for name in ("captions", "vocabulary", "unknown", "suggestions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "words", tuple(tuple(w) for w in self.words))

    @property
    def steps(self) -> int:
        return self.canvases.shape[1]

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` outside the model's vocabulary."""
        known = set(self.vocabulary)
        return [w for w in split_words(text) if w not in known]

    def row_alignment(self, row: int) -> np.ndarray:
        """(T, L) alignment of the first sample of caption ``row`` over its own words."""
        return self.alignment[row * self.columns, :, :len(self.words[row])]

    def picture(self, t: int, row: int = 0, fill: float = 0.0) -> np.ndarray:
        """The samples at step t with their write windows, and under them caption ``row`` and its
        word heat map (steps up to t bright, step t outlined)."""
        mosaic = burnt_mosaic(self.canvases[:, t - 1], self.write[:, t - 1], self.write_n, None, 0,
                              self.columns, fill)
        heat = heat_map_picture(self.row_alignment(row), self.words[row], t, mosaic.shape[1])
        width = max(mosaic.shape[1], heat.shape[1])
        title = np.repeat(text_line(f"step {t}: {self.captions[row]}", width)[..., None], 3, axis=-1)
        parts = [np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=fill)
                 for p in (mosaic, np.full((PAD * 2, width, 3), fill, np.float32), title, heat)]
        return np.concatenate(parts, axis=0)

    def still(self, fill: float = 0.0) -> np.ndarray:
        return self.picture(self.steps, fill=fill)

    def animation(self) -> list[np.ndarray]:
        return [self.picture(t) for t in range(1, self.steps + 1)]
