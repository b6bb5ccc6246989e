"""``chairs3d``: a procedural stand-in for the rendered chairs of Dosovitskiy et al. (2015),
drawn by :mod:`engines.data.render3d`.

:data:`CHAIRS` chair models from one parametric family: a seat (proportions, optional cushion),
legs in one of four styles (straight, splayed, pedestal with a star base, side panels), a back
in one of four styles (solid, slats, ladder, rounded; height and tilt vary), optional armrests,
and colours (upholstery hue and saturation, a wood, metal or matching frame). Every chair is
rendered with Lambertian shading on a white background at every azimuth in :data:`AZIMUTHS`
× elevation in :data:`ELEVATIONS` (RGB, 64×64 by default) with its silhouette mask and labels
(model id, azimuth, elevation). A chair faces +z, so azimuth 0 is the front view.

Held-out views: :data:`HELD_OUT` of each chair's views, drawn per chair from the seed, form the
test split; the rest train (every chair is in both). Deterministic; cached.
"""
from __future__ import annotations

import colorsys

import numpy as np

from engines.core.frames import as_u8
from engines.data.render3d import Part, normalise, rotation, shade, trace
from engines.data.views3d import ViewDataset, cached_arrays, to_unit

VERSION = 1
SEED = 0
CHAIRS = 48
AZIMUTHS = tuple(range(0, 360, 15))          # 24 azimuths
ELEVATIONS = (20, 30)                          # degrees, as the paper's renders
HELD_OUT = 6                                   # views of each chair kept for the test split
LIGHTS = [((0.6, 1.0, 0.8), 0.65), ((-1.0, 0.4, 0.3), 0.25)]
AMBIENT = 0.35
BACKGROUND = (1.0, 1.0, 1.0)
CAMERA = {"distance": 3.3, "fov": 36.0}
SUPERSAMPLE = 2
LEG_STYLES = ("straight", "splayed", "pedestal", "panels")
BACK_STYLES = ("solid", "slats", "ladder", "rounded")


def _colours(rng: np.random.Generator) -> tuple[tuple, tuple]:
    """(upholstery, frame) albedos: a random hue; the frame is wood, grey metal or the same colour."""
    body = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.25, 0.8), rng.uniform(0.55, 0.95))
    frame = [colorsys.hsv_to_rgb(0.08, 0.6, rng.uniform(0.35, 0.6)),          # wood
             (g := rng.uniform(0.3, 0.75), g, g),                             # metal
             body][rng.integers(3)]
    return tuple(body), tuple(frame)


def chair(index: int, seed: int = SEED) -> list[Part]:
    """The parts of chair ``index``, normalised to the unit sphere (same arguments, same chair)."""
    rng = np.random.default_rng([seed, index])
    body, frame = _colours(rng)
    width, depth = rng.uniform(0.4, 0.6), rng.uniform(0.38, 0.55)       # seat half-extents (x, z)
    thick, height = rng.uniform(0.03, 0.08), rng.uniform(0.75, 1.05)    # seat thickness, seat height
    parts = [Part("box", (0, height, 0), (width, thick, depth), colour=body)]
    if rng.random() < 0.4:   # cushion
        parts.append(Part("ellipsoid", (0, height + thick, 0.02), (0.92 * width, 0.07, 0.9 * depth), colour=body))
    legs = LEG_STYLES[rng.integers(len(LEG_STYLES))]
    leg_r = rng.uniform(0.025, 0.05)
    if legs in ("straight", "splayed"):
        splay = 0.0 if legs == "straight" else rng.uniform(6, 14)
        shape = "cylinder" if rng.random() < 0.5 else "box"
        for sx in (-1, 1):
            for sz in (-1, 1):
                tilt = rotation(x=-sz * splay, z=sx * splay)
                top = np.array([sx * (width - 1.5 * leg_r), height - thick, sz * (depth - 1.5 * leg_r)])
                parts.append(Part(shape, tuple(top + tilt @ np.array([0.0, -height / 2, 0.0])),
                                  (leg_r, height / 2, leg_r), tilt, frame))
    elif legs == "pedestal":
        parts.append(Part("cylinder", (0, height / 2 + 0.05, 0), (leg_r * 1.3, height / 2, leg_r * 1.3), colour=frame))
        for k in range(5):
            spoke = rotation(y=72 * k + 18)
            parts.append(Part("box", tuple(spoke @ np.array([0.0, 0.05, 0.22])), (0.03, 0.025, 0.22), spoke, frame))
    else:   # side panels
        for sx in (-1, 1):
            parts.append(Part("box", (sx * (width - 0.03), height / 2, 0), (0.03, height / 2, depth * 0.95),
                              colour=frame))
    back = BACK_STYLES[rng.integers(len(BACK_STYLES))]
    back_h, tilt = rng.uniform(0.45, 0.9), rng.uniform(0, 18)
    lean = rotation(x=-tilt)
    base = np.array([0.0, height + thick, -depth + 0.03])

    def at(y: float, x: float = 0.0) -> tuple:     # a point on the (leaning) back plane
        return tuple(base + lean @ np.array([x, y, 0.0]))

    if back == "solid":
        parts.append(Part("box", at(back_h / 2), (width, back_h / 2, 0.035), lean, body))
    elif back == "rounded":
        parts.append(Part("ellipsoid", at(back_h / 2 + 0.05), (width, back_h / 2 + 0.05, 0.06), lean, body))
    else:
        for sx in (-1, 1):   # two posts
            parts.append(Part("box", at(back_h / 2, sx * (width - 0.03)), (0.03, back_h / 2, 0.03), lean, frame))
        if back == "slats":
            parts.append(Part("box", at(back_h - 0.05), (width, 0.05, 0.03), lean, frame))
            count = int(rng.integers(2, 5))
            for x in np.linspace(-width + 0.15, width - 0.15, count):
                parts.append(Part("box", at(back_h / 2, x), (0.035, back_h / 2 - 0.05, 0.025), lean, body))
        else:   # ladder: horizontal rails
            for y in np.linspace(0.2, back_h - 0.05, int(rng.integers(2, 5))):
                parts.append(Part("box", at(y), (width - 0.03, 0.035, 0.025), lean, body))
    if rng.random() < 0.35:   # armrests on posts
        arm_y = height + thick + rng.uniform(0.2, 0.3)
        for sx in (-1, 1):
            parts.append(Part("box", (sx * (width + 0.03), arm_y, 0), (0.045, 0.03, depth * 0.9), colour=frame))
            parts.append(Part("box", (sx * (width + 0.03), (arm_y + height) / 2, depth * 0.6),
                              (0.03, (arm_y - height) / 2, 0.03), colour=frame))
    return normalise(parts)


def view_grid() -> tuple[np.ndarray, np.ndarray]:
    """(azimuths, elevations) of every view of a chair, elevation-major."""
    el, az = np.meshgrid(ELEVATIONS, AZIMUTHS, indexing="ij")
    return az.ravel(), el.ravel()


def render_chair(parts: list[Part], size: int, azimuths, elevations) -> tuple[np.ndarray, np.ndarray]:
    """Images (V, size, size, 3) and masks (V, size, size) of a chair, in [0, 1]."""
    return shade(trace(parts, azimuths, elevations, size, SUPERSAMPLE, **CAMERA), LIGHTS, AMBIENT, BACKGROUND)


def held_out(index: int, seed: int = SEED) -> np.ndarray:
    """Boolean per view of chair ``index`` (in :func:`view_grid` order): True = test view."""
    rng = np.random.default_rng([seed, index, 1])
    out = np.zeros(len(AZIMUTHS) * len(ELEVATIONS), dtype=bool)
    out[rng.choice(len(out), HELD_OUT, replace=False)] = True
    return out


def build(size: int, seed: int = SEED, progress=None) -> dict[str, np.ndarray]:
    """Every chair's views as uint8 images and masks, with (model, azimuth, elevation, test) rows;
    ``progress.advance()`` after each chair."""
    az, el = view_grid()
    images, masks, labels = [], [], []
    for index in range(CHAIRS):
        image, mask = render_chair(chair(index, seed), size, az, el)
        images.append(as_u8(image))
        masks.append(as_u8(mask))
        labels.append(np.column_stack([np.full(len(az), index), az, el, held_out(index, seed)]))
        if progress is not None:
            progress.advance()
    return {"images": np.concatenate(images), "masks": np.concatenate(masks),
            "labels": np.concatenate(labels).astype(np.int16)}


def load_chairs3d(size: int = 64, seed: int = SEED) -> ViewDataset:
    """The chairs at ``size``×``size``: (N, 3, size, size) float32 in [0, 1] with masks; the
    held-out views are the test split. ``train_labels`` hold the model id; ``*_info`` hold
    ``model``, ``azimuth`` and ``elevation``."""
    arrays = cached_arrays(f"chairs3d-v{VERSION}-{size}px-seed{seed}.npz", f"the chairs3d images ({size}×{size})",
                           CHAIRS, "chairs", lambda progress: build(size, seed, progress))
    labels = arrays["labels"].astype(np.int64)
    test = labels[:, 3] == 1
    info = [{"model": labels[rows, 0], "azimuth": labels[rows, 1], "elevation": labels[rows, 2]}
            for rows in (~test, test)]
    masks = arrays["masks"].astype(np.float32) / 255
    return ViewDataset(name="chairs3d" if size == 64 else f"chairs3d:{size}",
                       train=to_unit(arrays["images"][~test]), test=to_unit(arrays["images"][test]),
                       train_labels=labels[~test, 0], test_labels=labels[test, 0],
                       train_info=info[0], test_info=info[1], train_masks=masks[~test], test_masks=masks[test])
