"""Frames: cheap, frozen snapshots of what a model is doing, made of plain NumPy data.

An engine's ``frames()`` returns a list of them; the studio's panels draw them, the run store
records them and the exporter turns them into animations. Arrays are always copies (never views
of a tensor's storage); images are shaped (N, H, W) for grey or (N, H, W, 3) for colour, and are
*pixels*: float32 in [0, 1] as an engine makes them, or uint8 in 0..255 once they leave it (the
display copy sends :func:`in_pixels` frames to the GUI, and the run store reads them back so), the
precision they are shown at: a quarter of the bytes to send, and what pyqtgraph and the encoders
draw without rescaling. :func:`as_u8` and :func:`as_unit` read either.

Frame kinds are open: any module may define a ``Frame`` subclass (a family keeps its own in its
folder, importing NumPy only), and it registers itself by being defined. A kind knows

- its **still picture** (:meth:`Frame.still`): the mosaic in [0, 1] that image panels and the
  exporter show when they know nothing more about the kind;
- whether it **repeats** the previous frame of its name (:meth:`Frame.repeats`): then it is
  neither sent to the display nor stored again;
- how its arrays are **stored**: a field made with :func:`image_field` is kept as 8-bit (the
  precision it is shown at; the run store keeps most as differences to the previous frame of the
  same name), one made with :func:`bits_field` is bit-packed, others as they are.

A kind is named ``module:Class`` (:func:`~engines.core.views.kind_id`). Decoding a stored frame
imports the kind's module only if it lies in a package that holds registered engines, so a
crafted run store cannot make the reader import anything else.
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np

from engines.core.plugins import engine_packages
from engines.core.views import kind_id

FRAME_KINDS: dict[str, type["Frame"]] = {}
MAX_STORED_ARRAY_BYTES = 1 << 28      # 256 MiB: a recorded picture is far smaller; a claim past it is refused

class FrameKindError(ValueError):
    """A stored frame whose kind is unknown or may not be imported."""


def image_field(**kwargs):
    """An array field of images in [0, 1]: stored as 8-bit, read back as float32."""
    return field(metadata={"store": "u8"}, **kwargs)


def bits_field(**kwargs):
    """An array field of 0/1 values: stored bit-packed, read back as uint8."""
    return field(metadata={"store": "bits"}, **kwargs)


@dataclass(frozen=True)
class Frame:
    """Common part of every frame: which panel it belongs to (``name``) and the training step."""
    name: str
    step: int
    animation_unit = ""       # what one picture of animation() is ("glimpse"), named in captions

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        FRAME_KINDS[kind_id(cls)] = cls

    def still(self, fill: float = 0.0) -> np.ndarray:
        """The frame as one picture, (H, W) or (H, W, 3) in [0, 1]; ``fill`` is the colour between
        tiles. Every kind that is not purely numeric defines it."""
        raise NotImplementedError(f"{type(self).__name__} has no still picture")

    def animation(self) -> list[np.ndarray] | None:
        """The frame's own animation, one picture (as :meth:`still`) per step of it (DRAW's
        glimpses, a turntable's azimuths), or None when it has none: the exporter then shows the
        still picture. By default none."""
        return None

    def repeats(self, previous: "Frame | None") -> bool:
        """True when this frame shows nothing new over ``previous`` (same name): it need not be
        drawn or stored again. By default a frame is always new."""
        return False

    def tiles(self) -> np.ndarray | None:
        """The pictures a panel may lay out itself, as many columns as fill it ((N, H, W[, 3])),
        or None when the still picture's arrangement means something. None by default."""
        return None


@dataclass(frozen=True)
class ImageGrid(Frame):
    """A set of images shown as a grid (samples, filters, reconstructions), ``columns`` wide in
    still pictures. A panel may ``reflow`` them into as many columns as fill its shape; a grid whose
    columns mean something (originals above their reconstructions, one row per latent dimension)
    sets ``reflow=False``."""
    images: np.ndarray = image_field()
    columns: int = 8
    reflow: bool = True

    def still(self, fill: float = 0.0) -> np.ndarray:
        return tile(self.images, self.columns, fill=fill)

    def tiles(self) -> np.ndarray | None:
        return self.images if self.reflow else None


def image_array(tensor, shape: tuple[int, ...]) -> np.ndarray:
    """Torch (N, C*H*W) or (N, C, H, W) in [0, 1] -> float32 NumPy copy (N, H, W) or (N, H, W, C)."""
    arr = tensor.detach().float().cpu().numpy().copy()
    c, h, w = shape
    arr = arr.reshape(-1, c, h, w)
    arr = arr[:, 0] if c == 1 else arr.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def tile(images: np.ndarray, columns: int, pad: int = 1, fill: float = 0.0) -> np.ndarray:
    """Lay (N, H, W[, C]) images out as one mosaic, ``columns`` wide, ``pad`` pixels apart: one
    image to draw (or encode) instead of N. ``fill`` (in [0, 1]) is the colour between and after
    the tiles, in the images' own scale (0..255 for uint8 pixels)."""
    n, h, w = images.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    fill_value = round(fill * 255) if images.dtype == np.uint8 else fill
    out = np.full((rows * (h + pad), columns * (w + pad)) + images.shape[3:], fill_value, dtype=images.dtype)
    cells = out.reshape(rows, h + pad, columns, w + pad, *images.shape[3:])
    whole = (n // columns) * columns          # full rows in one strided copy, the last row tile by tile
    cells[:n // columns, :h, :, :w] = images[:whole].reshape(n // columns, columns, h, w, *images.shape[3:]).swapaxes(1, 2)
    for i in range(whole, n):
        cells[i // columns, :h, i % columns, :w] = images[i]
    return np.ascontiguousarray(out[:rows * (h + pad) - pad, :columns * (w + pad) - pad])


def as_u8(pixels: np.ndarray) -> np.ndarray:
    """Pixels as uint8 0..255: uint8 as they are, floats in [0, 1] rounded (clipped first)."""
    if pixels.dtype == np.uint8:
        return pixels
    return (np.clip(pixels, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def as_unit(pixels: np.ndarray) -> np.ndarray:
    """Pixels as float32 in [0, 1]: uint8 divided by 255, floats as they are."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255
    return pixels


def in_pixels(frame: Frame) -> Frame:
    """The frame with its image fields as uint8 (the precision they are stored and shown at):
    what the display copy sends to the GUI."""
    changes = {f.name: as_u8(getattr(frame, f.name)) for f in dataclasses.fields(frame)
               if _store_mode(f) == "u8" and isinstance(getattr(frame, f.name), np.ndarray)
               and getattr(frame, f.name).dtype != np.uint8}
    return dataclasses.replace(frame, **changes) if changes else frame


# ----------------------------------------------------------------------------------- storage
def _store_mode(f: dataclasses.Field) -> str:
    return f.metadata.get("store", "raw")


def quantized(frame: Frame) -> dict[str, np.ndarray]:
    """The 8-bit arrays of a frame's image fields, as they are stored (the base of the next frame's
    delta)."""
    return {f.name: as_u8(getattr(frame, f.name)) for f in dataclasses.fields(frame)
            if _store_mode(f) == "u8" and isinstance(getattr(frame, f.name), np.ndarray)}


def encode(frame: Frame, base: dict[str, np.ndarray] | None = None) -> tuple[str, dict, bytes]:
    """Frame -> (kind id, JSON-able metadata, compressed ``.npz`` bytes of its arrays), each array
    at its field's stored precision. With ``base`` (:func:`quantized` of the previous frame of its
    name), an image field of the same shape is stored as its difference to the base modulo 256:
    pictures that change little between two records compress to little (``meta["__delta"]`` lists
    those fields)."""
    meta, arrays, delta = {}, {}, []
    for f in dataclasses.fields(frame):
        value = getattr(frame, f.name)
        if not isinstance(value, np.ndarray):
            meta[f.name] = value.tolist() if isinstance(value, np.generic) else value
            continue
        mode = _store_mode(f)
        if mode == "u8":
            stored = as_u8(value)
            if base is not None and f.name in base and base[f.name].shape == stored.shape:
                stored = stored - base[f.name]            # uint8 arithmetic wraps: modulo 256
                delta.append(f.name)
            arrays[f.name] = stored
        elif mode == "bits":
            arrays[f.name] = np.packbits(value.astype(bool), axis=None)
            meta[f"{f.name}__shape"] = list(value.shape)
        else:
            arrays[f.name] = value
    if delta:
        meta["__delta"] = delta
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return kind_id(type(frame)), meta, buf.getvalue()


def decode(kind: str, meta: dict | str, blob: bytes, base: dict[str, np.ndarray] | None = None) -> Frame:
    """Inverse of :func:`encode` (``base``: :func:`quantized` of the frame a delta was taken
    against), image fields as uint8 pixels; arrays are loaded without pickle. Raises :class:`FrameKindError` for a kind it may not
    use and ``ValueError`` for data that do not fit the kind."""
    cls = kind_class(kind)
    if isinstance(meta, str):
        meta = json.loads(meta)
    if not isinstance(meta, dict):
        raise ValueError(f"stored frame of kind {kind} has a description that is not a mapping")
    meta = dict(meta)
    delta = set(meta.pop("__delta", []))
    meta.pop("__base", None)
    arrays = _stored_arrays(blob)
    modes = {f.name: _store_mode(f) for f in dataclasses.fields(cls)}
    for name, value in arrays.items():
        mode = modes.get(name)
        if name in delta:
            if base is None or name not in base or base[name].shape != value.shape:
                raise ValueError(f"stored frame of kind {kind} is a difference to a frame that is missing")
            value = value + base[name]
        if mode == "u8":
            arrays[name] = value
        elif mode == "bits" and f"{name}__shape" in meta:
            shape = _shape(meta.pop(f"{name}__shape"))
            if math.prod(shape) > value.size * 8:
                raise ValueError(f"stored frame's {name} claims shape {shape}, more than its {value.size * 8} bits")
            arrays[name] = np.unpackbits(value, count=math.prod(shape)).reshape(shape)
    try:
        return cls(**meta, **arrays)
    except TypeError as exc:
        raise ValueError(f"stored frame does not fit kind {kind}: {exc}") from None


def _shape(value) -> tuple[int, ...]:
    """A stored shape: a list of at most 8 whole numbers >= 0."""
    if (not isinstance(value, list) or len(value) > 8
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)):
        raise ValueError(f"stored frame has a shape that is not a list of sizes: {value!r}")
    return tuple(value)


def _stored_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of an encoded frame (``.npz`` bytes), without pickle. Each array's header is read
    first: one whose data would pass :data:`MAX_STORED_ARRAY_BYTES`, or more than the archive says
    it holds (a crafted shape), raises ValueError before anything is allocated."""
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                size = math.prod(shape) * dtype.itemsize
                if size > min(MAX_STORED_ARRAY_BYTES, info.file_size):
                    raise ValueError(f"stored array {info.filename} claims shape {shape} ({size:,} bytes), "
                                     f"more than it holds")
                with archive.open(info) as member:
                    arrays[info.filename.removesuffix(".npy")] = np.lib.format.read_array(member, allow_pickle=False)
        return arrays
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"stored frame data are damaged ({type(exc).__name__})") from None


# ----------------------------------------------------------------------------------- kinds
def kind_class(kind: str) -> type[Frame]:
    """The frame class named ``kind`` (``module:Class``), importing its module if needed and
    allowed (see :func:`allowed_kind_module`)."""
    if kind in FRAME_KINDS:
        return FRAME_KINDS[kind]
    module, _, name = kind.partition(":")
    if not name and kind.isidentifier():
        raise FrameKindError(f"frame kind '{kind}' is from a run recorded by a genstudio older than 0.1.0; "
                             "record the run again")
    if not name or not allowed_kind_module(module):
        raise FrameKindError(f"unknown frame kind '{kind}'")
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise FrameKindError(f"frame kind '{kind}' cannot be loaded ({exc})") from None
    if kind not in FRAME_KINDS:
        raise FrameKindError(f"unknown frame kind '{kind}'")
    return FRAME_KINDS[kind]


def allowed_kind_module(module: str) -> bool:
    """Frame kinds live in the packages that hold registered engines (``engines`` and any package
    an engine plug-in comes from)."""
    return any(module == p or module.startswith(p + ".") for p in engine_packages())
