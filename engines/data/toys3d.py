"""``toys3d``: a procedural stand-in for NORB (LeCun et al. 2004), rendered by
:mod:`engines.data.render3d`.

Five classes of toys built from boxes, cylinders and ellipsoids: four-legged animals, human
figures, airplanes, trucks and cars. Each class has :data:`INSTANCES` instances whose proportions
(and pose, for animals and figures) are drawn from the seed; each instance is rendered at every
elevation in :data:`ELEVATIONS` × azimuth in :data:`AZIMUTHS` × lighting in :data:`LIGHTINGS`,
grey, on a black background. As in NORB, train and test hold **different instances**: instances
0–4 of each class train, 5–9 test. Labels kept with the images: class, instance, elevation,
azimuth, lighting. Built in seconds, then read from the cache.
"""
from __future__ import annotations

import numpy as np

from engines.core.frames import as_u8
from engines.data.render3d import Part, normalise, rotation, shade, trace
from engines.data.views3d import ViewDataset, cached_arrays, to_unit

VERSION = 1
SEED = 0
CLASSES = ("animal", "human", "airplane", "truck", "car")
INSTANCES = 10
TRAIN_INSTANCES = 5                                    # instances 0..4 train, 5..9 test
ELEVATIONS = (10, 20, 30, 40, 50, 60)                  # degrees
AZIMUTHS = tuple(range(0, 360, 20))                    # 18 azimuths
LIGHTINGS = (                                          # (ambient, [(direction, intensity), ...])
    (0.25, [((1.0, 1.0, 1.0), 0.8)]),
    (0.25, [((-1.0, 1.2, 0.5), 0.8)]),
    (0.35, [((0.2, 1.0, -1.0), 0.7)]),
    (0.15, [((1.0, 0.6, -0.6), 0.6), ((-1.0, 0.8, 0.8), 0.4)]),
)
CAMERA = {"distance": 3.4, "fov": 36.0}
SUPERSAMPLE = 2


def _albedo(rng: np.random.Generator, base: float) -> tuple[float, float, float]:
    g = float(np.clip(base + rng.uniform(-0.08, 0.08), 0.3, 1.0))
    return (g, g, g)


def _limb(start, end, radius: float, colour) -> Part:
    """A cylinder from point ``start`` to point ``end``."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    axis = end - start
    length = float(np.linalg.norm(axis))
    y = axis / length
    # a rotation taking local y to ``y``: Rodrigues about y_local × y
    cross = np.cross([0.0, 1.0, 0.0], y)
    s, c = np.linalg.norm(cross), y[1]
    if s < 1e-9:
        r = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    else:
        k = cross / s
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        r = np.eye(3) + s * kx + (1 - c) * kx @ kx
    return Part("cylinder", tuple((start + end) / 2), (radius, length / 2, radius), r, colour)


def animal(rng: np.random.Generator) -> list[Part]:
    """Body ellipsoid on four legs, neck, head and tail (horse, dog, giraffe-like proportions)."""
    grey = rng.uniform(0.55, 0.9)
    body_len, body_h, body_w = rng.uniform(0.6, 1.0), rng.uniform(0.16, 0.26), rng.uniform(0.18, 0.28)
    leg_len, leg_r = rng.uniform(0.35, 0.8), rng.uniform(0.05, 0.08)
    top = leg_len + body_h
    parts = [Part("ellipsoid", (0, top, 0), (body_len, body_h, body_w), colour=_albedo(rng, grey))]
    for sx in (-1, 1):
        for sz in (-1, 1):
            stride = np.radians(rng.uniform(-15, 15))
            foot = (sx * 0.7 * body_len + leg_len * np.sin(stride), 0.0, sz * 0.55 * body_w)
            parts.append(_limb(foot, (sx * 0.7 * body_len, top - 0.3 * body_h, sz * 0.55 * body_w), leg_r,
                               _albedo(rng, grey)))
    neck_len, neck_tilt = rng.uniform(0.2, 0.8), np.radians(rng.uniform(20, 60))
    base = np.array([0.85 * body_len, top + 0.3 * body_h, 0.0])
    head_at = base + neck_len * np.array([np.sin(neck_tilt), np.cos(neck_tilt), 0.0])
    parts.append(_limb(base, head_at, rng.uniform(0.07, 0.11), _albedo(rng, grey)))
    head = rng.uniform(0.13, 0.2)
    parts.append(Part("ellipsoid", tuple(head_at + [0.5 * head, 0, 0]), (1.5 * head, 0.7 * head, 0.7 * head),
                      rotation(z=-rng.uniform(10, 40)), _albedo(rng, grey)))
    tail_tilt = np.radians(rng.uniform(100, 160))
    tail_base = np.array([-0.95 * body_len, top + 0.2 * body_h, 0.0])
    tail_len = rng.uniform(0.15, 0.5)
    parts.append(_limb(tail_base, tail_base + tail_len * np.array([-np.sin(tail_tilt), np.cos(tail_tilt), 0.0]),
                       0.03, _albedo(rng, grey)))
    return parts


def human(rng: np.random.Generator) -> list[Part]:
    """Two legs, torso, head and two arms, in a pose drawn from the seed (facing +x)."""
    grey = rng.uniform(0.55, 0.9)
    leg_len, torso_len = rng.uniform(0.8, 1.05), rng.uniform(0.55, 0.75)
    hips, shoulders = rng.uniform(0.1, 0.16), rng.uniform(0.2, 0.3)
    parts = []
    for side, swing in ((-1, 1), (1, -1)):
        step = np.radians(rng.uniform(0, 25)) * swing
        spread = np.radians(rng.uniform(0, 12))
        hip = np.array([0.0, leg_len, side * hips])
        foot = hip + leg_len * np.array([np.sin(step), -np.cos(step) * np.cos(spread), side * np.sin(spread)])
        parts.append(_limb(foot, hip, rng.uniform(0.06, 0.08), _albedo(rng, grey)))
    torso_y = leg_len + torso_len / 2
    parts.append(Part("box", (0, torso_y, 0), (rng.uniform(0.09, 0.14), torso_len / 2, shoulders),
                      colour=_albedo(rng, grey)))
    head = rng.uniform(0.12, 0.16)
    parts.append(Part("ellipsoid", (0, leg_len + torso_len + 1.1 * head, 0), (0.9 * head, 1.1 * head, 0.9 * head),
                      colour=_albedo(rng, grey)))
    arm_len = rng.uniform(0.55, 0.75)
    for side in (-1, 1):
        raise_ = np.radians(rng.uniform(5, 100))
        forward = np.radians(rng.uniform(-30, 30))
        shoulder = np.array([0.0, leg_len + torso_len - 0.05, side * (shoulders + 0.05)])
        hand = shoulder + arm_len * np.array([np.sin(forward) * np.cos(raise_), -np.cos(raise_),
                                              side * np.sin(raise_)])
        parts.append(_limb(shoulder, hand, rng.uniform(0.045, 0.06), _albedo(rng, grey)))
    return parts


def airplane(rng: np.random.Generator) -> list[Part]:
    """Fuselage, swept wings, tailplane and fin, sometimes two engines (nose toward +x)."""
    grey = rng.uniform(0.6, 0.95)
    length, radius = rng.uniform(1.0, 1.4), rng.uniform(0.1, 0.16)
    parts = [Part("ellipsoid", (0, 0, 0), (length, radius, radius), colour=_albedo(rng, grey))]
    span, chord, sweep = rng.uniform(0.9, 1.5), rng.uniform(0.14, 0.28), rng.uniform(0, 35)
    wing_x, wing_y = rng.uniform(-0.2, 0.2), rng.uniform(-0.6, 0.6) * radius
    for side in (-1, 1):
        r = rotation(y=side * sweep)
        centre = np.array([wing_x, wing_y, 0.0]) + r @ np.array([0.0, 0.0, side * span / 2])
        parts.append(Part("box", tuple(centre), (chord, 0.025, span / 2), r, _albedo(rng, grey)))
    tail_span = rng.uniform(0.3, 0.5) * span
    for side in (-1, 1):
        r = rotation(y=side * (sweep + 10))
        centre = np.array([-0.85 * length, 0.3 * radius, 0.0]) + r @ np.array([0.0, 0.0, side * tail_span / 2])
        parts.append(Part("box", tuple(centre), (0.5 * chord, 0.02, tail_span / 2), r, _albedo(rng, grey)))
    fin_h = rng.uniform(0.25, 0.45)
    parts.append(Part("box", (-0.85 * length, radius + fin_h / 2, 0), (0.5 * chord + 0.05, fin_h / 2, 0.02),
                      rotation(z=rng.uniform(0, 25)), _albedo(rng, grey)))
    if rng.random() < 0.6:
        for side in (-1, 1):
            parts.append(Part("cylinder", (wing_x + 0.1, wing_y - 0.1, side * span * 0.35), (0.06, 0.18, 0.06),
                              rotation(z=90), _albedo(rng, grey - 0.15)))
    return parts


def _wheels(rng, xs, radius: float, half_width: float, grey: float) -> list[Part]:
    return [Part("cylinder", (x, radius, side * half_width), (radius, 0.06, radius), rotation(x=90),
                 _albedo(rng, grey)) for x in xs for side in (-1, 1)]


def truck(rng: np.random.Generator) -> list[Part]:
    """Cab, tall cargo box and chassis on two or three axles (front toward +x)."""
    grey = rng.uniform(0.55, 0.9)
    wheel, width = rng.uniform(0.13, 0.18), rng.uniform(0.32, 0.42)
    cargo_len, cargo_h = rng.uniform(0.6, 1.0), rng.uniform(0.35, 0.55)
    cab_len, cab_h = rng.uniform(0.2, 0.32), rng.uniform(0.3, 0.45)
    floor = 1.4 * wheel
    front = cargo_len + 2 * cab_len + 0.05
    parts = [
        Part("box", (front / 2 - cargo_len, floor - 0.05, 0), (front / 2 + 0.02, 0.05, width), colour=_albedo(rng, grey)),
        Part("box", (0, floor + cargo_h, 0), (cargo_len, cargo_h, width), colour=_albedo(rng, grey)),
        Part("box", (cargo_len + 0.05 + cab_len, floor + cab_h, 0), (cab_len, cab_h, 0.95 * width),
             colour=_albedo(rng, grey)),
    ]
    axles = [cargo_len + 0.05 + cab_len, -0.6 * cargo_len] + ([-0.6 * cargo_len + 2.3 * wheel]
                                                                if rng.random() < 0.5 else [])
    return parts + _wheels(rng, axles, wheel, width, 0.35)


def car(rng: np.random.Generator) -> list[Part]:
    """Long low body, a cabin on top (box or rounded) and four wheels (front toward +x)."""
    grey = rng.uniform(0.55, 0.9)
    length, width, height = rng.uniform(0.8, 1.05), rng.uniform(0.32, 0.4), rng.uniform(0.1, 0.16)
    wheel = rng.uniform(0.12, 0.16)
    floor = 0.9 * wheel
    parts = [Part("box", (0, floor + height, 0), (length, height, width), colour=_albedo(rng, grey))]
    cabin_len, cabin_h = rng.uniform(0.35, 0.6) * length, rng.uniform(0.12, 0.2)
    cabin_x = rng.uniform(-0.3, 0.1) * length
    shape = "ellipsoid" if rng.random() < 0.5 else "box"
    parts.append(Part(shape, (cabin_x, floor + 2 * height + (0 if shape == "ellipsoid" else cabin_h), 0),
                      (cabin_len, (1.6 if shape == "ellipsoid" else 1.0) * cabin_h, 0.9 * width),
                      colour=_albedo(rng, grey)))
    return parts + _wheels(rng, (0.65 * length, -0.65 * length), wheel, width, 0.35)


BUILDERS = {"animal": animal, "human": human, "airplane": airplane, "truck": truck, "car": car}


def toy(class_index: int, instance: int, seed: int = SEED) -> list[Part]:
    """The parts of one toy, normalised to the unit sphere; the same arguments give the same toy."""
    rng = np.random.default_rng([seed, class_index, instance])
    return normalise(BUILDERS[CLASSES[class_index]](rng))


def render_toy(parts: list[Part], size: int) -> np.ndarray:
    """Every (elevation, azimuth, lighting) view of one toy, grey: (E·A·L, size, size) in [0, 1],
    ordered elevation-major, then azimuth, then lighting."""
    el, az = np.meshgrid(ELEVATIONS, AZIMUTHS, indexing="ij")
    surface = trace(parts, az.ravel(), el.ravel(), size, SUPERSAMPLE, **CAMERA)
    shaded = [shade(surface, lights, ambient)[0][..., 0] for ambient, lights in LIGHTINGS]
    return np.stack(shaded, 1).reshape(-1, size, size)


def build(size: int, seed: int = SEED, progress=None) -> dict[str, np.ndarray]:
    """All toys' views as uint8 with their labels (one row per image); ``progress.advance()``
    after each toy."""
    images, labels = [], []
    views = np.array([(e, a, li) for e in ELEVATIONS for a in AZIMUTHS for li in range(len(LIGHTINGS))])
    for c in range(len(CLASSES)):
        for i in range(INSTANCES):
            images.append(as_u8(render_toy(toy(c, i, seed), size)))
            labels.append(np.column_stack([np.full(len(views), c), np.full(len(views), i), views]))
            if progress is not None:
                progress.advance()
    return {"images": np.concatenate(images), "labels": np.concatenate(labels).astype(np.int16)}


LABELS = ("class", "instance", "elevation", "azimuth", "lighting")


def load_toys3d(size: int = 32, seed: int = SEED) -> ViewDataset:
    """The toys at ``size``×``size``: (N, 1, size, size) float32 in [0, 1]; train = instances 0–4
    of every class, test = instances 5–9. ``train_labels`` hold the class; ``*_info`` every label."""
    arrays = cached_arrays(f"toys3d-v{VERSION}-{size}px-seed{seed}.npz", f"the toys3d images ({size}×{size})",
                           len(CLASSES) * INSTANCES, "toys", lambda progress: build(size, seed, progress))
    images, labels = arrays["images"], arrays["labels"].astype(np.int64)
    train = labels[:, 1] < TRAIN_INSTANCES
    info = [{name: labels[rows, k] for k, name in enumerate(LABELS)} for rows in (train, ~train)]
    return ViewDataset(name="toys3d" if size == 32 else f"toys3d:{size}",
                       train=to_unit(images[train]), test=to_unit(images[~train]),
                       train_labels=labels[train, 0], test_labels=labels[~train, 0],
                       train_info=info[0], test_info=info[1])
