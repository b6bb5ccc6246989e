"""``gan2d``: a GAN on 2-D points, small enough to train in seconds and watch at full speed (what
GAN Lab shows in a browser, here for any setting of the family's controls).

G maps 2-D noise (uniform in [−1, 1]² by default) through a ReLU MLP to the plane; D is a
LeakyReLU(0.2) MLP giving a logit. The picture (:class:`~engines.gan.frames.PointField`) shows
real and generated points, D's output over the plane as a heat map under them, and where G sends
a grid of straight lines in noise space. Data: ``ring``, ``grid`` or ``points:FILE.csv``
(:mod:`engines.gan.points`), or points drawn in the studio (the ``set_points`` action).

Metrics: the Parzen-window log-likelihood of the test points (σ chosen on 500 training points),
and for the mixtures, ``mode_coverage`` (fraction of modes holding at least a quarter of their
fair share of the samples within 3σ) and ``high_quality_fraction`` (samples within 3σ of a mode).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from engines.core.engine import BatchSampler, wants
from engines.data.base import DataError
from engines.gan.engine import Duel, GANEngine, evaluating
from engines.gan.frames import PointField
from engines.gan.model import MLP, d_output, generator_loss
from engines.gan.points import PointDataset, check_points, load_points, split_points
from engines.gan.spec import GAN2D_SPEC, GAN2DConfig

GRID_LINES = 11       # noise-grid lines per direction
LINE_POINTS = 41      # points per line
EVAL_CHUNK = 5000


class GAN2DEngine(GANEngine):
    spec = GAN2D_SPEC
    smoke_data = "ring"
    smoke_overrides = {"hidden": (16,), "batch_size": 64, "points_shown": 64, "heat_resolution": 16,
                       "eval_samples": 200}

    @classmethod
    def load_data(cls, spec: str, config) -> PointDataset:
        return load_points(spec)

    def __init__(self, config: GAN2DConfig, data, device, seed: int = 0):
        if not isinstance(data, PointDataset):
            raise DataError(f"gan2d trains on 2-D points (ring, grid, points:FILE.csv), not {type(data).__name__}")
        super().__init__(config, data, device, seed)
        self.drawn: np.ndarray | None = None
        self._use(data)
        self.display_generator = torch.Generator(device=device).manual_seed(seed + 2)
        self.fixed_noise = self.noise(self.duels[0], config.points_shown, self.display_generator)
        self.grid_noise = self._noise_grid()

    def build_duels(self):
        cfg = self.config
        g = MLP((cfg.z_dim, *cfg.hidden, 2), nn.ReLU())
        d = MLP((2, *cfg.hidden, 1), nn.LeakyReLU(0.2), out_shape=())
        return [Duel(g.to(self.device), d.to(self.device), (cfg.z_dim,), cfg)]

    def _use(self, data: PointDataset) -> None:
        self.data = data
        self.batches = BatchSampler(data.train, self.device, self.rng)
        self.extent = data.extent()

    def _noise_grid(self) -> torch.Tensor:
        """GRID_LINES lines per direction across the noise's square ([−1, 1]², or [−2, 2]² for
        Gaussian noise) in the first two noise dimensions, the others 0: (K, LINE_POINTS, z_dim)."""
        z_dim, half = self.config.z_dim, (1.0 if self.config.noise == "uniform" else 2.0)
        t = torch.linspace(-half, half, LINE_POINTS, device=self.device)
        if z_dim == 1:
            return t.view(1, -1, 1)
        lines = torch.zeros(2 * GRID_LINES, LINE_POINTS, z_dim, device=self.device)
        for i, c in enumerate(torch.linspace(-half, half, GRID_LINES).tolist()):
            lines[i, :, 0], lines[i, :, 1] = t, c                       # horizontal in noise space
            lines[GRID_LINES + i, :, 0], lines[GRID_LINES + i, :, 1] = c, t   # vertical
        return lines

    def real_batches(self, n: int):
        return [(self.batches.next(n), None)]

    # ------------------------------------------------------------------------------ action
    def set_points(self, points) -> int:
        """Action: train from now on on ``points`` (pairs x, y; at least 10, within ±1000), split
        every 10th to test; returns how many. The studio's panel sends the points a user drew."""
        try:
            array = check_points(points, "drawn points")
        except DataError as exc:
            raise ValueError(str(exc)) from None
        self.drawn = array
        self._use(split_points("drawn", array))
        return len(array)

    # ------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def frames(self, wanted=None):
        if not wants(wanted, "field"):
            return []
        duel, cfg = self.duels[0], self.config
        x0, x1, y0, y1 = self.extent
        r = cfg.heat_resolution
        xs = torch.linspace(x0, x1, 2 * r + 1, device=self.device)[1::2]      # cell centres
        ys = torch.linspace(y0, y1, 2 * r + 1, device=self.device)[1::2]
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], -1).view(-1, 2)
        with evaluating(duel.g, duel.d):
            heat = d_output(cfg.loss, duel.d(grid)).clamp(0, 1).view(r, r)
            fake = duel.g(self.fixed_noise)
            pushes = generator_pushes(duel.d, fake, cfg.loss)
            names, layers = layer_planes(duel.g, self.grid_noise.view(-1, cfg.z_dim))
        shape = (len(layers), len(self.grid_noise), LINE_POINTS, 2)
        real = self.data.train[:cfg.points_shown]
        return [PointField("field", self.step, real.copy(), fake.cpu().numpy().copy(),
                           heat.cpu().numpy().copy(), layers[-1].view(shape[1:]).cpu().numpy().copy(),
                           tuple(self.extent), pushes.cpu().numpy().copy(),
                           torch.stack(layers).view(shape).cpu().numpy().copy(), names)]

    # ------------------------------------------------------------------------------ metrics
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        from engines.metrics.distances import ParzenEstimator

        generator = torch.Generator(device=self.device).manual_seed(self.seed + 4)
        duel = self.duels[0]
        valid = torch.from_numpy(self.data.train[::max(1, len(self.data.train) // 500)][:500]).to(self.device)
        parzen = ParzenEstimator(valid, torch.from_numpy(self.data.test).to(self.device))
        samples = []
        with evaluating(duel.g):
            for start in range(0, self.config.eval_samples, EVAL_CHUNK):
                n = min(EVAL_CHUNK, self.config.eval_samples - start)
                s = duel.g(self.noise(duel, n, generator))
                parzen.add(s)
                samples.append(s.cpu().numpy())
        out = parzen.result()
        if self.data.modes is None:
            warnings.warn(f"mode_coverage needs a known mixture (ring or grid), not {self.data.name}", stacklevel=3)
            return out
        return {**out, **mode_metrics(np.concatenate(samples), self.data.modes, self.data.std)}

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**super().state_dict(), "batches": self.batches.state_dict(),
                "drawn": None if self.drawn is None else torch.from_numpy(self.drawn)}

    def load_state_dict(self, state: dict) -> None:
        """Also the drawn points, when a user gave some (so the display copy shows them)."""
        drawn = state.get("drawn")
        if drawn is not None and (self.drawn is None or not np.array_equal(self.drawn, drawn.numpy())):
            self.set_points(drawn.numpy())
        super().load_state_dict(state)
        self.batches.load_state_dict(state["batches"])

    def picture_state(self) -> dict:
        """The players (D's output is the plane's heat map) and the drawn points."""
        return {**super().picture_state(), "drawn": None if self.drawn is None else torch.from_numpy(self.drawn)}

    def load_picture_state(self, state: dict) -> None:
        drawn = state.get("drawn")
        if drawn is not None and (self.drawn is None or not np.array_equal(self.drawn, drawn.numpy())):
            self.set_points(drawn.numpy().copy())
        super().load_picture_state(state)


def generator_pushes(d: nn.Module, fake: torch.Tensor, loss: str) -> torch.Tensor:
    """``−∂ℓ_G(D(x))/∂x`` at each generated point ``x``, ℓ_G the generator's loss of that point
    alone (:func:`~engines.gan.model.generator_loss` of its logit): where G's next update, through
    D's gradient, moves it. D's parameters get no gradient."""
    with torch.enable_grad():
        x = fake.detach().requires_grad_(True)
        per_point = generator_loss(loss, d(x).float().view(-1)) * len(x)     # the loss is a mean
        (grad,) = torch.autograd.grad(per_point, x)
    return -grad


def layer_planes(g: nn.Module, z: torch.Tensor) -> tuple[tuple[str, ...], list[torch.Tensor]]:
    """The noise points ``z`` at G's input (first two dimensions), after each hidden layer and at
    its output, each as (N, 2): a hidden layer's activations by their first two principal
    components (SVD of the centred activations), each component's sign chosen to correlate
    positively with the matching noise dimension, so the picture does not flip between frames."""
    planes, names = [_first_two(z)], ["noise z"]
    h = z
    modules = list(g.net)
    for i, module in enumerate(modules):
        h = module(h)
        ends_layer = not isinstance(module, nn.Linear) and (i + 1 == len(modules) or isinstance(modules[i + 1], nn.Linear))
        if ends_layer and i + 1 < len(modules):
            planes.append(_principal_plane(h, z))
            names.append(f"hidden {len(names)} ({h.shape[1]} units, PCA)")
    planes.append(h.view(len(z), 2))
    names.append("output G(z)")
    return tuple(names), planes


def _first_two(z: torch.Tensor) -> torch.Tensor:
    return z[:, :2] if z.shape[1] >= 2 else torch.cat([z, torch.zeros_like(z)], 1)


def _principal_plane(h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    centred = h - h.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    plane = centred @ vh[:2].T
    if plane.shape[1] < 2:
        plane = torch.cat([plane, torch.zeros_like(plane)], 1)
    guide = _first_two(z) - _first_two(z).mean(0)
    signs = torch.where((plane * guide).sum(0) < 0, -1.0, 1.0)
    return plane * signs


def mode_metrics(samples: np.ndarray, modes: np.ndarray, std: float) -> dict[str, float]:
    """A sample is *high quality* when within 3σ of its nearest mode; a mode is *covered* when it
    holds at least a quarter of its fair share (S / 4K) of high-quality samples."""
    dist = np.sqrt(((samples[:, None, :] - modes[None]) ** 2).sum(-1))
    nearest, close = dist.argmin(1), dist.min(1) <= 3 * std
    counts = np.bincount(nearest[close], minlength=len(modes))
    covered = counts >= len(samples) / (4 * len(modes))
    return {"mode_coverage": float(covered.mean()), "modes_covered": float(covered.sum()),
            "high_quality_fraction": float(close.mean())}
