"""Frame kinds of the Boltzmann machines: persistent Gibbs chains and the chain-history picture.
NumPy only: the studio decodes them without importing torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame, bits_field, image_field, tile


@dataclass(frozen=True)
class ChainState(Frame):
    """Persistent Gibbs chains: visible mean-field probabilities and the binary sample they came from.

    ``gibbs_steps`` counts the Gibbs updates each chain has made since it was (re)started.
    """
    probs: np.ndarray = image_field()
    samples: np.ndarray = bits_field()
    gibbs_steps: np.ndarray
    columns: int = 8

    def still(self, fill: float = 0.0) -> np.ndarray:
        return tile(self.probs, self.columns, fill=fill)


@dataclass(frozen=True)
class ChainHistory(Frame):
    """The classic chain picture: ``rows[r]`` is the chains' probabilities after ``row_steps[r]``
    Gibbs steps, one row every ``every`` steps."""
    rows: np.ndarray = image_field()
    row_steps: np.ndarray
    every: int

    def strip(self) -> np.ndarray:
        """The rows one after another, ``(rows·chains, H, W[, C])``: tiled ``chains`` per line it
        is the picture."""
        return self.rows.reshape(-1, *self.rows.shape[2:])

    def still(self, fill: float = 0.0) -> np.ndarray:
        return tile(self.strip(), self.rows.shape[1], fill=fill)

    def repeats(self, previous: Frame | None) -> bool:
        """Unchanged when the same rows were taken at the same Gibbs steps."""
        return (isinstance(previous, ChainHistory) and previous.every == self.every
                and np.array_equal(previous.row_steps, self.row_steps))


@dataclass(frozen=True)
class LayerChains(Frame):
    """Persistent Gibbs chains of a deep Boltzmann machine, every layer at once: for each chain
    the visible layer's mean-field picture ``visible`` (N, H, W[, 3]) and the binary state of each
    hidden layer, ``hidden`` (N, Σ layer_sizes) in layer order, drawn as a small raster per layer.
    ``phase`` says what training is doing (e.g. "pretraining layer 2 of 3", "joint training")."""
    visible: np.ndarray = image_field()
    hidden: np.ndarray = bits_field()
    layer_sizes: np.ndarray
    gibbs_steps: np.ndarray
    phase: str = ""
    columns: int = 4

    PAD = 2   # pixels between two chains' cards in the still picture (one inside a card)

    def rasters(self, fill: float = 0.0) -> list[np.ndarray]:
        """Each hidden layer's states as (N, rows, cols) rasters, ``cols = ⌈√size⌉`` (unused cells
        take ``fill``), in the visible pictures' scale (1 is 255 for uint8 pixels)."""
        white = 255 if self.visible.dtype == np.uint8 else 1
        out, start = [], 0
        for size in map(int, self.layer_sizes):
            cols = int(np.ceil(np.sqrt(size)))
            rows = -(-size // cols)
            grid = np.full((len(self.hidden), rows * cols), fill * white, dtype=self.visible.dtype)
            grid[:, :size] = self.hidden[:, start:start + size] * white
            out.append(grid.reshape(-1, rows, cols))
            start += size
        return out

    def cards(self, fill: float = 0.0) -> np.ndarray:
        """One picture per chain: the visible picture, then each layer's raster, side by side,
        one pixel apart, top-aligned: (N, h, w[, 3]), in the visible pictures' scale."""
        parts = [self.visible] + [
            np.repeat(r[..., None], 3, -1) if self.visible.ndim == 4 else r for r in self.rasters(fill)]
        height = max(p.shape[1] for p in parts)
        width = sum(p.shape[2] for p in parts) + len(parts) - 1
        out = np.full((len(self.visible), height, width) + self.visible.shape[3:],
                      round(fill * 255) if self.visible.dtype == np.uint8 else fill, dtype=self.visible.dtype)
        x = 0
        for p in parts:
            out[:, :p.shape[1], x:x + p.shape[2]] = p
            x += p.shape[2] + 1
        return out

    def still(self, fill: float = 0.0) -> np.ndarray:
        return tile(self.cards(fill), self.columns, pad=self.PAD, fill=fill)
