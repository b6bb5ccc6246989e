"""Export a run's recorded frames as an animation (MP4, GIF) or one PNG sheet of frames.

Reads only the run store, so it works on a run still being trained (by this app or a headless
job), after training, and on runs trained headless. No Qt and no torch at import: the CLI
(``python -m studio export``) starts fast and the studio calls :func:`export_run` from a worker
thread. Output is written to a temp file beside ``out`` and renamed at the end, so a cancelled or
failed export leaves no half-written file (and an existing ``out`` untouched).

Each frame is decoded and drawn once, in uint8 pixels (as the store keeps them and the live view
shows them): its pictures go to a spool file (:class:`_Spool`, so memory does not grow with the
length of the export) while their sizes decide the layout, and are then composed from the spool.
"""
from __future__ import annotations

import bisect
import io
import math
import os
import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engines.core.files import replaced_atomically
from engines.core.frames import Frame, as_u8

FORMATS = ("mp4", "gif", "png")

BACKGROUND = (28, 28, 28)        # dark, like the studio's image panels; grey, as is the text, so
TEXT = (225, 225, 225)           # pictures of grey images stay grey (a GIF then needs no quantizing)
CELL_SEPARATOR = 0.3             # grey lines between images of a grid: digits are white on black
GAP = 6                          # pixels between panels (and between pictures of a PNG sheet)
MARGIN = 4
MAX_SHEET_PIXELS = 64_000_000    # ~190 MB of RGB: beyond that a sheet is unwieldy to build or view
MAX_SCALE = 16                   # screen pixels per image pixel, at most
MAX_SIDE = 4096                  # one exported picture (all panels side by side): at most this wide and high
SLIDE = (1280, 720)              # with no scale given, the largest whole scale whose pictures fit a 720p slide
LONG_GIF = 200                   # pictures: beyond this an MP4 is the better choice


class ExportError(RuntimeError):
    """An export that cannot be done; the one-line message says why."""


class ExportCancelled(ExportError):
    """The progress callback asked to stop."""


# --------------------------------------------------------------------------------------- reading
@contextmanager
def open_run(run_dir):
    """The run's store, read-only; its errors become :class:`ExportError`."""
    # Imported here, not at the top: engines.core.store imports torch (for checkpoints).
    from engines.core.store import RunStore, StoreError

    try:
        store = RunStore.open(run_dir)
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    try:
        yield store
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    finally:
        store.close()


def exportable_panels(run_dir) -> list[str]:
    """Names of the frames recorded in the run (e.g. chains, chain_history, filters)."""
    with open_run(run_dir) as store:
        return store.frame_names()


def default_panels(run_dir) -> list[str]:
    """The recorded frames of the run's first view (its main picture), else its first recorded panel."""
    with open_run(run_dir) as store:
        recorded = store.frame_names()
        views = store.meta().get("views")
    first = views[0].get("frames", []) if isinstance(views, list) and views and isinstance(views[0], dict) else []
    chosen = [name for name in first if name in recorded][:1]
    return chosen or recorded[:1]


def step_range(run_dir, panels) -> tuple[int, int]:
    """First and last recorded step over ``panels``."""
    with open_run(run_dir) as store:
        steps = [s for name in panels for s in _recorded_steps(store, name)]
    return min(steps), max(steps)


def _recorded_steps(store, name: str) -> list[int]:
    """Distinct recorded steps of one panel; a panel with none is an :class:`ExportError`."""
    steps = sorted(set(store.frame_steps(name)))
    if not steps:
        available = ", ".join(store.frame_names()) or "none"
        raise ExportError(f"no recorded frames for panel '{name}' in {store.path} (recorded: {available})")
    return steps


def _first_per_step(frames):
    """Frames in step order, keeping the first one recorded at each step (a run's final frame may
    repeat its last recorded step; the first is stable while another process appends)."""
    last = None
    for frame in frames:
        if frame.step != last:
            last = frame.step
            yield frame


@dataclass(frozen=True)
class _Plan:
    """Which frame of each panel is shown at each time point."""
    panels: list[str]
    time_points: list[int]           # the first panel's recorded steps in the range
    shown: list[list[int]]           # shown[p][i]: step of panel p's frame at time point i

    def frame_sets(self, store):
        """Yield (time point, [frame of each panel]), decoding each needed frame once."""
        streams = [_first_per_step(store.frames(name, min(steps), max(steps)))
                   for name, steps in zip(self.panels, self.shown)]
        current: list[Frame | None] = [None] * len(self.panels)
        for i, t in enumerate(self.time_points):
            for p, stream in enumerate(streams):
                while current[p] is None or current[p].step < self.shown[p][i]:
                    current[p] = next(stream)
            yield t, list(current)


def _plan(store, panels: list[str], first_step: int, last_step: int | None) -> _Plan:
    recorded = [_recorded_steps(store, name) for name in panels]
    last = recorded[0][-1] if last_step is None else last_step
    time_points = [s for s in recorded[0] if first_step <= s <= last]
    if not time_points:
        raise ExportError(f"no frames of '{panels[0]}' between steps {first_step} and {last} "
                          f"(recorded: steps {recorded[0][0]} to {recorded[0][-1]})")
    shown = [[_latest_at_or_before(steps, t) for t in time_points] for steps in recorded]
    return _Plan(panels, time_points, shown)


def _latest_at_or_before(steps: list[int], t: int) -> int:
    """The latest of the sorted ``steps`` that is <= ``t``, or the first one if none is."""
    return steps[max(0, bisect.bisect_right(steps, t) - 1)]


# --------------------------------------------------------------------------------------- drawing
def to_rgb(picture: np.ndarray, scale: int) -> np.ndarray:
    """A still picture as (H, W, 3) uint8 RGB, each pixel repeated ``scale`` times in both
    directions (nearest neighbour)."""
    pixels = as_u8(picture)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def still_picture(frame: Frame) -> np.ndarray:
    """A frame's still picture in [0, 1], (H, W) or (H, W, 3), its images tiled as the studio shows
    them with grey lines between the tiles."""
    try:
        return frame.still(fill=CELL_SEPARATOR)
    except NotImplementedError:
        raise ExportError(f"cannot draw frames of kind {type(frame).__name__} ('{frame.name}')") from None


@cache
def _font(scale: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font, sized to go with images drawn at ``scale``."""
    try:
        return ImageFont.load_default(max(10, 4 * scale + 3))
    except ImportError:  # Pillow without FreeType: its small fixed-size bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class Canvas:
    """What a writer needs of its pictures: their one size, and whether any is in colour (a grey
    GIF keeps its exact greys)."""
    width: int
    height: int
    colour: bool


class _Layout:
    """Panels side by side, top-aligned, under a caption band ("step N" above the panel names).
    Each panel gets the largest size any of its frames needs, so every picture has one size."""

    def __init__(self, panels: list[str], sizes: list[tuple[int, int]], scale: int, colour: bool, count: int,
                 unit: str = "step"):
        self.panels = panels
        self.unit = unit                 # what the caption counts: training steps, or an animation's sweeps
        self.scale = scale
        self.colour = colour             # any colour image; otherwise every picture is grey
        self.count = count               # pictures in the export
        self.font = _font(scale)
        top, bottom = self.font.getbbox("step 0123456789 gjpqy")[1::2]
        self.line = bottom - top + 4
        self.band = MARGIN + 2 * self.line
        self.lefts = []
        x = MARGIN
        for name, (h, w) in zip(panels, sizes):
            self.lefts.append(x)
            x += max(w, int(self.font.getlength(name)) + 2) + GAP
        self.width = x - GAP + MARGIN
        self.height = self.band + max(h for h, _ in sizes) + MARGIN
        self.canvas = Canvas(self.width, self.height, colour)

    def compose(self, step: int, pictures: list[np.ndarray], detail: str = "") -> np.ndarray:
        """One (height, width, 3) uint8 picture: the caption band ("step N", then ``detail``: which
        picture of a frame's own animation it is), then the panels' pictures."""
        canvas = np.empty((self.height, self.width, 3), np.uint8)
        canvas[:self.band] = self._caption(f"{self.unit} {step}" + (f" · {detail}" if detail else ""))
        canvas[self.band:] = BACKGROUND
        for left, picture in zip(self.lefts, pictures):
            h, w = picture.shape[:2]
            canvas[self.band:self.band + h, left:left + w] = picture
        return canvas

    def _caption(self, title: str) -> np.ndarray:
        band = Image.new("RGB", (self.width, self.band), BACKGROUND)
        draw = ImageDraw.Draw(band)
        draw.text((MARGIN, MARGIN), title, fill=TEXT, font=self.font)
        for left, name in zip(self.lefts, self.panels):
            draw.text((left, MARGIN + self.line), name, fill=TEXT, font=self.font)
        return np.asarray(band)


def _pictures_of(frame: Frame) -> list[np.ndarray]:
    """One picture per step of the frame's own animation for a kind that has one (DRAW's
    glimpses, a turntable's azimuths), else its still picture."""
    animation = frame.animation()
    return animation if animation is not None else [still_picture(frame)]


class _Spool:
    """The export's pictures, drawn once: uint8 arrays written one after another to a temp file,
    read back by index (memory holds only their offsets and shapes)."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="genstudio-export-")
        self._entries: list[tuple[int, tuple[int, ...]]] = []
        self._end = 0

    def add(self, picture: np.ndarray) -> int:
        data = np.ascontiguousarray(as_u8(picture))
        self._file.seek(self._end)
        self._file.write(data.tobytes())
        self._entries.append((self._end, data.shape))
        self._end += data.nbytes
        return len(self._entries) - 1

    def read(self, index: int) -> np.ndarray:
        offset, shape = self._entries[index]
        self._file.seek(offset)
        return np.frombuffer(self._file.read(int(np.prod(shape))), np.uint8).reshape(shape)

    def close(self) -> None:
        self._file.close()


@dataclass
class _Drawn:
    """Every picture of an export, drawn: ``points[i] = (step, [picture indices of each panel],
    [what each panel's pictures count: "glimpse", or "" for a still])``."""
    spool: _Spool
    points: list[tuple[int, list[list[int]], list[str]]]
    sizes: list[tuple[int, int]]
    colour: bool
    count: int


@contextmanager
def _drawn(store, plan: _Plan):
    """Draw each frame the plan shows once into a spool, noting the sizes the layout needs."""
    spool = _Spool()
    try:
        points, sizes, colour, count = [], [(0, 0)] * len(plan.panels), False, 0
        for t, frames in plan.frame_sets(store):
            indices, units = [], []
            for p, frame in enumerate(frames):
                pictures = _pictures_of(frame)
                for picture in pictures:
                    h, w = picture.shape[:2]
                    sizes[p] = (max(sizes[p][0], h), max(sizes[p][1], w))
                    colour |= picture.ndim == 3
                indices.append([spool.add(picture) for picture in pictures])
                units.append(frame.animation_unit if len(pictures) > 1 else "")
            points.append((t, indices, units))
            count += max(map(len, indices))
        yield _Drawn(spool, points, sizes, colour, count)
    except OSError as exc:
        raise ExportError(f"cannot draw the export: {exc.strerror or exc}") from None
    finally:
        spool.close()


def _layout(drawn: _Drawn, panels: list[str], scale: int | None, unit: str = "step") -> _Layout:
    """The panels' places at ``scale`` (None: the largest whole scale at which the whole picture,
    caption band included, fits a :data:`SLIDE`; 1 if none does), from the sizes of the pictures drawn."""
    sizes = drawn.sizes

    def at(scale: int) -> _Layout:
        return _Layout(panels, [(h * scale, w * scale) for h, w in sizes], scale, drawn.colour, drawn.count, unit)

    automatic = scale is None
    if automatic:
        natural_width = sum(w for _, w in sizes) + GAP * (len(sizes) - 1) + 2 * MARGIN
        natural_height = max(h for h, _ in sizes) + 2 * MARGIN
        scale = max(1, min(MAX_SCALE, SLIDE[0] // max(1, natural_width), SLIDE[1] // max(1, natural_height)))
    layout = at(scale)
    while automatic and scale > 1 and (layout.width > SLIDE[0] or layout.height > SLIDE[1]):
        scale -= 1                       # the caption band and the panels' names grow with the scale
        layout = at(scale)
    if max(layout.width, layout.height) > MAX_SIDE:
        raise ExportError(f"at scale {scale} each picture would be {layout.width}x{layout.height} pixels, over "
                          f"{MAX_SIDE} on a side; choose a smaller scale or fewer panels")
    return layout


def _composed(drawn: _Drawn, layout: _Layout):
    """The export's pictures in order: at each time point, the panels side by side; a panel whose
    frame animates (glimpses, azimuths) plays it, the others hold their picture meanwhile. One
    picture at a time, read back from the spool."""
    for t, indices, units in drawn.points:
        pictures = [[to_rgb(drawn.spool.read(i), layout.scale) for i in panel] for panel in indices]
        for i in range(max(map(len, pictures))):
            detail = " · ".join(f"{unit} {min(i, len(p) - 1) + 1}/{len(p)}" for unit, p in zip(units, pictures) if unit)
            yield layout.compose(t, [p[min(i, len(p) - 1)] for p in pictures], detail)


# --------------------------------------------------------------------------------------- writers
EXPORT_X264 = {"crf": "18", "preset": "veryfast"}


def _write_mp4(pictures, path: Path, fps: float, count: int, canvas: Canvas, x264: dict = EXPORT_X264) -> None:
    """H.264 (libx264 with ``x264``'s options, yuv420p: sizes padded to even numbers) in an MP4 container
    with its index at the front (``+faststart``: a browser plays it while it loads)."""
    import av  # ~0.13 s to import: only when a video is written

    height, width = canvas.height, canvas.width
    try:
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                          options=x264)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            even = np.empty((stream.height, stream.width, 3), np.uint8)
            even[:] = BACKGROUND
            for picture in pictures:
                even[:height, :width] = picture
                container.mux(stream.encode(av.VideoFrame.from_ndarray(even, format="rgb24")))
            container.mux(stream.encode(None))
    except OSError:
        raise        # a file-system error: reported as such by _write_atomically
    except av.FFmpegError as exc:
        raise ExportError(f"the video encoder failed: {exc}") from None


def _write_gif(pictures, path: Path, fps: float, count: int, canvas: Canvas) -> None:
    """Looping GIF, written one picture at a time (Pillow's animated GIF writer holds every frame
    in memory): grey pictures with their exact greys, colour ones with an adaptive palette each."""
    delay = max(2, round(100 / fps))                     # GIF delays are in 1/100 s
    with open(path, "wb") as f:
        f.write(b"GIF89a" + struct.pack("<HHBBB", canvas.width, canvas.height, 0, 0, 0))
        f.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")     # loop forever
        for picture in pictures:
            image = Image.fromarray(picture)
            image = image.convert("P", palette=Image.Palette.ADAPTIVE) if canvas.colour else image.convert("L")
            f.write(b"\x21\xf9\x04\x00" + struct.pack("<H", delay) + b"\x00\x00")   # graphic control
            f.write(_gif_image_block(image))
        f.write(b"\x3b")


def _gif_image_block(image: Image.Image) -> bytes:
    """One picture's image descriptor, colour table and LZW data, cut from the single-frame GIF
    Pillow writes for it (its global colour table becomes the picture's local one)."""
    buffer = io.BytesIO()
    image.save(buffer, format="GIF")
    data = buffer.getvalue()
    packed = data[10]
    pos, table = 13, b""
    if packed & 0x80:
        size = 3 << ((packed & 0x07) + 1)
        table, pos = data[13:13 + size], 13 + size
    while data[pos] == 0x21:                             # extensions: skip label, then sub-blocks
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    descriptor = bytearray(data[pos:pos + 10])           # 0x2C, left, top, width, height, packed
    if table and not descriptor[9] & 0x80:
        descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (packed & 0x07)
        return bytes(descriptor) + table + data[pos + 10:-1]
    return data[pos:-1]


def _write_png(pictures, path: Path, fps: float, count: int, canvas: Canvas) -> None:
    """One PNG sheet: the pictures (each with its step caption) in a grid ~sqrt(count) wide."""
    height, width = canvas.height, canvas.width
    columns, rows = _sheet_grid(count)
    sheet = np.empty((rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, 3), np.uint8)
    sheet[:] = BACKGROUND
    for i, picture in enumerate(pictures):
        r, c = divmod(i, columns)
        sheet[r * (height + GAP):r * (height + GAP) + height, c * (width + GAP):c * (width + GAP) + width] = picture
    image = Image.fromarray(sheet)
    (image if canvas.colour else image.convert("L")).save(path, format="PNG")


def _sheet_grid(count: int) -> tuple[int, int]:
    """(columns, rows) of a PNG sheet of ``count`` pictures: about square in pictures."""
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)


WRITERS = {"mp4": _write_mp4, "gif": _write_gif, "png": _write_png}


# --------------------------------------------------------------------------------------- export
def export_run(run_dir, panels: list[str], out, fmt: str | None = None, fps: float = 10.0,
               first_step: int = 0, last_step: int | None = None, scale: int | None = None,
               progress=None, unit: str = "step") -> int:
    """Write the recorded frames of ``panels`` (side by side) between ``first_step`` and
    ``last_step`` to ``out`` as ``fmt`` (from ``out``'s suffix if None); return the picture count.
    ``scale``: screen pixels per image pixel (None: the largest whole scale that fits a 720p slide).

    Time points are the recorded steps of the first panel; another panel shows its latest frame
    at or before each (its first frame before it has any). ``progress(done, total)`` is called
    after each frame; returning False cancels (:class:`ExportCancelled`, and no file is left).
    ``unit`` names what the caption counts ("step N"; an animation's "sweep N").
    """
    out, fmt, panels = checked_request(out, fmt, panels, fps, scale, first_step, last_step)
    with open_run(run_dir) as store, _drawn(store, _plan(store, panels, first_step, last_step)) as drawn:
        layout = _layout(drawn, panels, scale, unit)
        count = layout.count
        if fmt == "png":
            _check_sheet_size(layout, count)
        pictures = _reporting(_composed(drawn, layout), count, progress)
        _write_atomically(out, lambda path: WRITERS[fmt](pictures, path, fps, count, layout.canvas))
    return count


@dataclass(frozen=True)
class Estimate:
    """What an export would write: ``pictures`` of ``width`` x ``height`` pixels, about ``bytes``."""
    pictures: int
    width: int
    height: int
    scale: int
    bytes: int

    @property
    def advice(self) -> str:
        """A hint for an export that will be large, or ""."""
        if self.pictures > LONG_GIF and self.bytes > 20 * 2**20:
            return "a long animation: MP4 is usually ten times smaller than GIF"
        return ""


SAMPLE_PICTURES = 5      # an estimate encodes this many pictures and extrapolates


def estimate_export(run_dir, panels: list[str], fmt: str, first_step: int = 0, last_step: int | None = None,
                    scale: int | None = None) -> Estimate:
    """The size of an export, from its first pictures encoded as they would be, without writing it."""
    panels = _checked_options(panels, 10.0, scale, first_step, last_step)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")
    with open_run(run_dir) as store, _drawn(store, _plan(store, panels, first_step, last_step)) as drawn:
        layout = _layout(drawn, panels, scale)
        sample = []
        for picture in _composed(drawn, layout):
            sample.append(picture)
            if len(sample) == SAMPLE_PICTURES:
                break
    with tempfile.TemporaryDirectory(prefix="genstudio-estimate-") as tmp:
        path = Path(tmp) / f"sample.{fmt}"
        WRITERS[fmt](iter(sample), path, 10.0, len(sample), layout.canvas)
        size = path.stat().st_size
    per_picture = size / len(sample)
    total = size if fmt == "png" and layout.count <= len(sample) else per_picture * layout.count
    return Estimate(layout.count, layout.width, layout.height, layout.scale, int(total))


def checked_request(out, fmt: str | None, panels, fps: float, scale: int | None, first_step: int = 0,
                    last_step: int | None = None) -> tuple[Path, str, list[str]]:
    """(output path, format, panels) of an export request, or :class:`ExportError` saying what is
    wrong with it, before anything is read or drawn."""
    out = Path(out).expanduser()
    fmt = _format(out, fmt)
    panels = _checked_options(panels, fps, scale, first_step, last_step)
    _check_writable(out.parent)
    return out, fmt, panels


def _format(out: Path, fmt: str | None) -> str:
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        given = f"'{fmt}'" if fmt else f"none (the output {out.name} has no suffix)"
        raise ExportError(f"unknown export format {given}: choose one of {', '.join(FORMATS)}")
    return fmt


def _checked_options(panels, fps, scale, first_step, last_step) -> list[str]:
    if isinstance(panels, str):
        panels = [panels]
    panels = [p.strip() for p in panels if p.strip()]
    if not panels:
        raise ExportError("choose at least one panel to export")
    if not (isinstance(fps, (int, float, np.number)) and math.isfinite(fps) and fps > 0):
        raise ExportError(f"frame rate must be a positive number (got {fps})")
    if scale is not None and not (isinstance(scale, (int, np.integer)) and 1 <= scale <= MAX_SCALE):
        raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE} (got {scale})")
    if last_step is not None and last_step < first_step:
        raise ExportError(f"empty step range: first step {first_step} is after last step {last_step}")
    return panels


def _check_writable(directory: Path) -> None:
    if not directory.exists():
        raise ExportError(f"cannot write the export: directory {directory} does not exist")
    if not directory.is_dir():
        raise ExportError(f"cannot write the export: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write the export: directory {directory} is not writable")


def _check_sheet_size(layout: _Layout, count: int) -> None:
    columns, rows = _sheet_grid(count)
    width, height = columns * (layout.width + GAP) - GAP, rows * (layout.height + GAP) - GAP
    if width * height > MAX_SHEET_PIXELS:
        raise ExportError(f"a PNG sheet of {count} frames would be {width}x{height} pixels; "
                          "choose a narrower step range or a smaller scale")


def _reporting(pictures, total: int, progress):
    """Pass the pictures through, calling ``progress(done, total)`` after each one is written."""
    for done, picture in enumerate(pictures, 1):
        yield picture
        if progress is not None and progress(done, total) is False:
            raise ExportCancelled(f"export cancelled after {done} of {total} frames")


def _write_atomically(out: Path, write) -> None:
    """``write(temp path)`` beside ``out``, then rename over it; the temp file never survives."""
    try:
        with replaced_atomically(out) as temp:
            write(temp)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
