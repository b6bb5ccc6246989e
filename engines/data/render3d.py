"""A small procedural 3-D renderer (NumPy only) for the toy and chair datasets.

An object is a list of :class:`Part` s: boxes, capped cylinders and ellipsoids, each a unit
primitive mapped into the world by ``x_world = R · diag(s) · x_local + centre``. A perspective
camera on a sphere around the origin looks at ``target``; its position for azimuth ``a`` and
elevation ``e`` is ``target + D (cos e sin a, sin e, cos e cos a)`` (y is up).

Rendering is a vectorised ray cast (no per-pixel Python): every primary ray is tested against every
part in the part's local frame, where the part is the unit sphere, the cube ``[-1, 1]³`` or the
cylinder ``x² + z² ≤ 1, |y| ≤ 1``. The affine map keeps the ray parameter ``t``, so the nearest
``t`` over all parts is the depth test (a z-buffer over analytic surfaces). Rays are first culled
against each part's bounding sphere. The local normal ``n_l`` maps to the world as
``n = R · (n_l / s)`` (the inverse transpose of ``R · diag(s)``), normalised.

Shading is Lambertian with an ambient term: ``I = albedo · (ambient + Σ_k i_k max(0, n·l_k))``,
clipped to [0, 1]; background pixels take a constant. Images are rendered ``supersample`` times
larger and box-filtered down (anti-aliasing); the silhouette mask is the covered fraction of each
pixel. Geometry (:func:`trace`) and lighting (:func:`shade`) are separate, so one object seen under
many lightings is traced once. Everything is deterministic: the same parts and views give the same
bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SHAPES = ("box", "cylinder", "ellipsoid")
EPS = 1e-6


def rotation(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    """The rotation ``R_y(y) · R_x(x) · R_z(z)`` (angles in degrees, right-handed, y up)."""
    ax, ay, az = np.radians([x, y, z])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return ry @ rx @ rz


@dataclass(frozen=True, eq=False)
class Part:
    """One primitive: ``shape`` in :data:`SHAPES`, its ``centre``, half-extents ``size`` along its
    local axes (a cylinder's axis is local y), ``rotation`` (3×3) and RGB ``colour`` (albedo)."""
    shape: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    colour: tuple[float, float, float] = (0.8, 0.8, 0.8)

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"unknown part shape {self.shape!r} (known: {', '.join(SHAPES)})")
        if min(self.size) <= 0:
            raise ValueError(f"part sizes must be positive, got {self.size}")


def bounds(parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned (low, high) corners of the parts' bounding boxes (exact for boxes and
    cylinders' enclosing boxes, conservative for ellipsoids)."""
    lows, highs = [], []
    for p in parts:
        extent = np.abs(np.asarray(p.rotation)) @ np.asarray(p.size, dtype=float)
        lows.append(np.asarray(p.centre) - extent)
        highs.append(np.asarray(p.centre) + extent)
    return np.min(lows, 0), np.max(highs, 0)


def normalise(parts: list[Part], radius: float = 1.0) -> list[Part]:
    """The parts moved and scaled so their bounding box is centred on the origin and its
    half-diagonal is ``radius``: every object then fills the same camera frame."""
    low, high = bounds(parts)
    centre = (low + high) / 2
    scale = radius / max(np.linalg.norm(high - low) / 2, EPS)
    return [Part(p.shape, tuple((np.asarray(p.centre) - centre) * scale), tuple(np.asarray(p.size) * scale),
                 p.rotation, p.colour) for p in parts]


def camera_rays(azimuths, elevations, size: int, distance: float = 4.0, fov: float = 34.0,
                target=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Ray origins (V, 3) and unit directions (V, size, size, 3) of a pinhole camera per view
    (degrees); pixel (0, 0) is the top-left corner."""
    az = np.radians(np.asarray(azimuths, dtype=np.float64))
    el = np.radians(np.asarray(elevations, dtype=np.float64))
    back = np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], -1)   # target → camera
    origins = np.asarray(target, dtype=np.float64) + distance * back
    forward = -back
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    up = np.cross(right, forward)
    half = np.tan(np.radians(fov) / 2)
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    xs = coords[None, None, :, None] * half
    ys = -coords[None, :, None, None] * half
    dirs = forward[:, None, None] + xs * right[:, None, None] + ys * up[:, None, None]
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    return origins, dirs


def _intersect(shape: str, o: tuple, d: tuple) -> tuple[np.ndarray, tuple]:
    """Nearest positive hit of local rays ``o + t d`` with the unit primitive. ``o`` and ``d`` are
    (x, y, z) tuples of (K,) arrays (contiguous components are much faster than (K, 3) rows).
    Returns ``t`` (K,) (inf where missed) and the local normal as an (x, y, z) tuple."""
    ox, oy, oz = o
    dx, dy, dz = d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if shape == "ellipsoid":
            a = dx * dx + dy * dy + dz * dz
            b = ox * dx + oy * dy + oz * dz
            disc = b * b - a * (ox * ox + oy * oy + oz * oz - 1)
            t = (-b - np.sqrt(disc)) / a
            t = np.where((disc >= 0) & (t > EPS), t, np.inf)
            return t, (ox + t * dx, oy + t * dy, oz + t * dz)
        if shape == "box":
            near, far = [], []
            for oc, dc in ((ox, dx), (oy, dy), (oz, dz)):
                t1, t2 = (-1 - oc) / dc, (1 - oc) / dc
                near.append(np.fmin(t1, t2))
                far.append(np.fmax(t1, t2))
            t_near = np.maximum(np.maximum(near[0], near[1]), near[2])
            t_far = np.minimum(np.minimum(far[0], far[1]), far[2])
            t = np.where((t_far >= t_near) & (t_near > EPS), t_near, np.inf)
            return t, tuple(np.where(n == t_near, -np.sign(dc), 0).astype(np.float32)
                            for n, dc in zip(near, (dx, dy, dz)))
        # cylinder: side x² + z² = 1 with |y| ≤ 1, caps y = ±1 with x² + z² ≤ 1
        a = dx * dx + dz * dz
        b = ox * dx + oz * dz
        disc = b * b - a * (ox * ox + oz * oz - 1)
        t_side = (-b - np.sqrt(disc)) / a
        t_side = np.where((disc >= 0) & (a > EPS) & (np.abs(oy + t_side * dy) <= 1) & (t_side > EPS), t_side, np.inf)
        cap_y = -np.sign(dy)
        t_cap = (cap_y - oy) / dy
        px, pz = ox + t_cap * dx, oz + t_cap * dz
        t_cap = np.where((px * px + pz * pz <= 1) & (t_cap > EPS) & (cap_y != 0), t_cap, np.inf)
        side = t_side <= t_cap
        t = np.minimum(t_side, t_cap)
        return t, (np.where(side, ox + t_side * dx, 0), np.where(side, 0, cap_y), np.where(side, oz + t_side * dz, 0))


@dataclass(frozen=True, eq=False)
class Surface:
    """What the primary rays hit, per supersampled pixel: ``hit`` (V, S, S) bool, world ``normal``
    (V, S, S, 3, unit where hit) and ``albedo`` (V, S, S, 3)."""
    hit: np.ndarray
    normal: np.ndarray
    albedo: np.ndarray
    supersample: int


def trace(parts: list[Part], azimuths, elevations, size: int, supersample: int = 3, **camera) -> Surface:
    """Cast one ray per supersampled pixel for each view (``azimuths[i]``, ``elevations[i]``).
    Each part is tested only on the rays that meet its bounding sphere."""
    origins, dirs = camera_rays(azimuths, elevations, size * supersample, **camera)
    views, side = dirs.shape[0], dirs.shape[1]
    per_view = side * side
    shape = (views, side, side)
    d = [np.ascontiguousarray(dirs[..., k].reshape(views, per_view), dtype=np.float32) for k in range(3)]
    flat = [c.ravel() for c in d]
    depth = np.full(views * per_view, np.inf, dtype=np.float32)
    normal = np.zeros((views * per_view, 3), dtype=np.float32)
    albedo = np.zeros((views * per_view, 3), dtype=np.float32)
    for p in parts:
        r = np.asarray(p.rotation, dtype=np.float64)
        s = np.asarray(p.size, dtype=np.float64)
        centre = np.asarray(p.centre, dtype=np.float64)
        # bounding-sphere cull: the ray line passes within the radius, the sphere is not behind
        oc = (centre - origins).astype(np.float32)                  # one origin per view: (V, 3)
        tc = d[0] * oc[:, 0:1] + d[1] * oc[:, 1:2] + d[2] * oc[:, 2:3]
        radius = np.float32(np.linalg.norm(s))
        near = ((oc * oc).sum(1)[:, None] - tc * tc <= radius * radius) & (tc + radius > 0)
        idx = np.flatnonzero(near)
        if not len(idx):
            continue
        to_local = r.T / s[:, None]                                 # diag(1/s) · Rᵀ
        o_local = ((origins - centre) @ to_local.T).astype(np.float32)[idx // per_view]
        dirs_sub = [c[idx] for c in flat]
        d_local = tuple(np.float32(to_local[k, 0]) * dirs_sub[0] + np.float32(to_local[k, 1]) * dirs_sub[1]
                        + np.float32(to_local[k, 2]) * dirs_sub[2] for k in range(3))
        t, n_local = _intersect(p.shape, (o_local[:, 0], o_local[:, 1], o_local[:, 2]), d_local)
        closer = t < depth[idx]
        idx, t = idx[closer], t[closer]
        depth[idx] = t
        n_world = (np.stack([n[closer] for n in n_local], 1) / s) @ r.T
        normal[idx] = n_world / np.maximum(np.linalg.norm(n_world, axis=1, keepdims=True), EPS)
        albedo[idx] = p.colour
    return Surface(np.isfinite(depth).reshape(shape), normal.reshape(shape + (3,)), albedo.reshape(shape + (3,)),
                   supersample)


def downsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter (V, S, S, ...) down by ``factor`` along the two image axes."""
    out = sum(x[:, i::factor, j::factor] for i in range(factor) for j in range(factor))
    return out / (factor * factor)


def shade(surface: Surface, lights, ambient: float = 0.3, background=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Lambertian images of a traced surface, box-filtered to the output size: (V, H, W, 3) float32
    in [0, 1], and the silhouette masks (V, H, W) float32 (covered fraction of each pixel).
    ``lights`` is a list of (direction toward the light, intensity) in world coordinates."""
    light = np.zeros(surface.hit.shape, dtype=np.float32)
    for direction, intensity in lights:
        direction = np.asarray(direction, dtype=np.float32)
        light += intensity * np.maximum(surface.normal @ (direction / np.linalg.norm(direction)), 0)
    lit = np.minimum(surface.albedo * (ambient + light)[..., None], 1)
    image = np.where(surface.hit[..., None], lit, np.asarray(background, dtype=np.float32))
    factor = surface.supersample
    return downsample(image, factor), downsample(surface.hit.astype(np.float32), factor)


def render(parts: list[Part], azimuths, elevations, size: int = 32, lights=(((1, 1, 1), 0.8),),
           ambient: float = 0.3, background=0.0, supersample: int = 3, **camera) -> tuple[np.ndarray, np.ndarray]:
    """Images (V, size, size, 3) and masks (V, size, size) of ``parts`` seen from each view."""
    return shade(trace(parts, azimuths, elevations, size, supersample, **camera), lights, ambient, background)
