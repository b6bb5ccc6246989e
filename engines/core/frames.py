"""Frames: cheap, frozen snapshots of what a model is doing, made of plain NumPy data.

An engine's ``frames()`` returns a list of them; the studio's panels draw them and the run store
records them. Arrays are always copies (never views of a tensor's storage), images are float32 in
[0, 1] shaped (N, H, W) for grey or (N, H, W, 3) for colour.
"""
from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """Common part of every frame: which panel it belongs to (``name``) and the training step."""
    name: str
    step: int


@dataclass(frozen=True)
class ImageGrid(Frame):
    """A set of images shown as a grid (samples, filters, reconstructions)."""
    images: np.ndarray
    columns: int = 8


@dataclass(frozen=True)
class ChainState(Frame):
    """Persistent Gibbs chains: visible mean-field probabilities and the binary sample they came from.

    ``gibbs_steps`` counts the Gibbs updates each chain has made since it was (re)started.
    """
    probs: np.ndarray
    samples: np.ndarray
    gibbs_steps: np.ndarray
    columns: int = 8


@dataclass(frozen=True)
class ChainHistory(Frame):
    """The classic chain picture: ``rows[r]`` is the chains' probabilities after ``row_steps[r]``
    Gibbs steps, one row every ``every`` steps."""
    rows: np.ndarray
    row_steps: np.ndarray
    every: int

    def strip(self) -> np.ndarray:
        """The rows one after another, ``(rows·chains, H, W[, C])``: tiled ``chains`` per line it
        is the picture."""
        return self.rows.reshape(-1, *self.rows.shape[2:])


FRAME_KINDS: dict[str, type[Frame]] = {cls.__name__: cls for cls in (ImageGrid, ChainState, ChainHistory)}


def image_array(tensor, shape: tuple[int, ...]) -> np.ndarray:
    """Torch (N, C*H*W) or (N, C, H, W) in [0, 1] -> float32 NumPy copy (N, H, W) or (N, H, W, C)."""
    arr = tensor.detach().float().cpu().numpy().copy()
    c, h, w = shape
    arr = arr.reshape(-1, c, h, w)
    arr = arr[:, 0] if c == 1 else arr.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def tile(images: np.ndarray, columns: int, pad: int = 1, fill: float = 0.0) -> np.ndarray:
    """Lay (N, H, W[, C]) images out as one mosaic, ``columns`` wide, ``pad`` pixels apart: one
    image to draw (or encode) instead of N."""
    n, h, w = images.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad) + images.shape[3:], fill, dtype=images.dtype)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = images[i]
    return out


def encode(frame: Frame) -> tuple[str, dict, bytes]:
    """Frame -> (kind, JSON-able metadata, compressed ``.npz`` bytes of its arrays)."""
    meta, arrays = {}, {}
    for f in dataclasses.fields(frame):
        value = getattr(frame, f.name)
        if isinstance(value, np.ndarray):
            arrays[f.name] = value
        else:
            meta[f.name] = value
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return type(frame).__name__, meta, buf.getvalue()


def decode(kind: str, meta: dict | str, blob: bytes) -> Frame:
    """Inverse of :func:`encode`; arrays are loaded without pickle."""
    cls = FRAME_KINDS[kind]
    if isinstance(meta, str):
        meta = json.loads(meta)
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return cls(**meta, **arrays)
