"""The ``chairs`` engine: trains :class:`~engines.deconv.model.ChairGenerator` on ``chairs3d``.

Each step draws a minibatch of training views, applies a random transformation to a fraction
``augment`` of them (zoom, shift, brightness, hue: the targets change and the network is told
how), and takes one Adam step on ``MSE(RGB) + mask_weight · CE(mask)``. Evaluation compares the
generated held-out views with the truth (``heldout_mse``, ``mask_iou``) and with the baseline of
showing the same chair's nearest training view (``baseline_mse``).

Display state (kept across ``load_state_dict``): the slider request of :meth:`set_view` and its
true render. The turntable and morph pictures follow the live config fields ``turntable_chair``,
``morph_from`` and ``morph_to`` (clamped to the chairs the run has).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from engines.core.distributed import data_parallel
from engines.core.engine import BatchSampler, NetworkEngine, wants
from engines.core.frames import ImageGrid, image_array
from engines.core.loops import there_and_back
from engines.data.base import DataError
from engines.deconv.frames import ChairView, Turntable
from engines.deconv.model import (IDENTITY, TRANSFORMS, ChairGenerator, random_transforms, transform,
                                  transform_code, view_code)
from engines.deconv.spec import CHAIRS_SPEC, ChairsConfig

RANGES = {name: bounds for name, _, bounds in TRANSFORMS}
ELEVATION_RANGE = (0.0, 60.0)       # what the elevation slider may ask for (the data has 20° and 30°)


class ChairsEngine(NetworkEngine):
    spec = CHAIRS_SPEC
    smoke_data = "chairs3d:16"
    runs_under_torchrun = True
    smoke_overrides = {"batch_size": 8, "width": 16, "hidden": 32}

    TURNTABLE_AZIMUTHS = tuple(range(0, 360, 15))
    MORPH_STEPS = 8
    MORPH_AZIMUTHS = (30, 300)

    @classmethod
    def load_data(cls, spec: str, config):
        from engines.data import load_dataset
        from engines.data.views3d import ViewDataset

        data = load_dataset(spec)
        if not isinstance(data, ViewDataset) or data.train_masks is None or "model" not in (data.train_info or {}):
            raise DataError(f"chairs trains on rendered views with masks and model labels (chairs3d), not '{spec}'")
        return data

    def __init__(self, config: ChairsConfig, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        c, h, w = data.shape
        if c != 3 or h != w or h < 8 or h & (h - 1):
            raise DataError(f"chairs needs square RGB views of 8, 16, 32, 64... pixels, got {c}x{h}x{w}")
        self.size = h
        self.n_chairs = int(max(data.train_info["model"].max(), data.test_info["model"].max())) + 1
        self.background = torch.ones(3, device=device)
        self.train_set = self._tensors(data.train, data.train_masks, data.train_info)
        self.test_set = self._tensors(data.test, data.test_masks, data.test_info)
        self.model = ChairGenerator(self.n_chairs, self.size, config.width, config.hidden).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.train_model = data_parallel(self.model)
        # BatchSampler shuffles the training views' indices (a column of exact small floats)
        self.batches = BatchSampler(np.arange(len(data.train), dtype=np.float32)[:, None], device, self.rng)
        self.request = (0, 30.0, 20.0, 1.0, 1.0)     # chair, azimuth, elevation, zoom, brightness
        self._truth: tuple[tuple, np.ndarray] | None = None

    def _tensors(self, images, masks, info) -> dict[str, torch.Tensor]:
        dev = self.device
        return {"images": torch.from_numpy(images).to(dev), "masks": torch.from_numpy(masks[:, None]).to(dev),
                "chair": torch.from_numpy(info["model"]).to(dev),
                "azimuth": torch.from_numpy(info["azimuth"]).to(dev),
                "elevation": torch.from_numpy(info["elevation"]).to(dev)}

    def generate(self, chair: torch.Tensor, azimuth, elevation, theta: torch.Tensor | None = None):
        """Images and mask probabilities for chair codes (N, chairs) (one-hot or blends), angles
        (N,) in degrees, raw transformation parameters (N, 5) (default: none)."""
        azimuth = torch.as_tensor(azimuth, device=self.device).float()
        elevation = torch.as_tensor(elevation, device=self.device).float()
        if theta is None:
            theta = torch.tensor(IDENTITY, device=self.device).expand(len(chair), -1)
        rgb, logits = self.model(chair, view_code(azimuth, elevation), transform_code(theta))
        return rgb, torch.sigmoid(logits)

    def one_hot(self, ids: torch.Tensor) -> torch.Tensor:
        return F.one_hot(ids.long(), self.n_chairs).float()

    # ------------------------------------------------------------------------------ training
    def train_step(self) -> dict[str, float]:
        cfg, s = self.config, self.train_set
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr
        idx = self.batches.next(cfg.batch_size)[:, 0].long()
        theta = random_transforms(len(idx), cfg.augment, self.generator, self.device)
        target, target_mask = transform(s["images"][idx], s["masks"][idx], theta, self.background)
        rgb, logits = self.train_model(self.one_hot(s["chair"][idx]), view_code(s["azimuth"][idx], s["elevation"][idx]),
                                 transform_code(theta))
        loss, mse, ce = self.model.loss(rgb, logits, target, target_mask, cfg.mask_weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return {"loss": loss.item(), "image_mse": mse.item(), "mask_ce": ce.item()}

    # ------------------------------------------------------------------------------ evaluation
    def nearest_training_view(self) -> torch.Tensor:
        """For each held-out view, the index of the same chair's training view nearest in angle
        (azimuth difference around the circle plus elevation difference, degrees)."""
        tr, te = self.train_set, self.test_set
        d_az = (te["azimuth"][:, None] - tr["azimuth"][None, :]).abs() % 360
        dist = torch.minimum(d_az, 360 - d_az) + (te["elevation"][:, None] - tr["elevation"][None, :]).abs()
        dist = dist.float().masked_fill(te["chair"][:, None] != tr["chair"][None, :], math.inf)
        return dist.argmin(1)

    @staticmethod
    def mask_iou(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """Per-image IoU of the masks thresholded at 1/2."""
        p, t = pred > 0.5, truth > 0.5
        inter = (p & t).flatten(1).sum(1).float()
        union = (p | t).flatten(1).sum(1).float().clamp_min(1)
        return inter / union

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        te, tr = self.test_set, self.train_set
        rgb, mask = self.generate(self.one_hot(te["chair"]), te["azimuth"], te["elevation"])
        nearest = self.nearest_training_view()
        train_idx = torch.linspace(0, len(tr["chair"]) - 1, min(512, len(tr["chair"])), device=self.device).long()
        train_rgb, _ = self.generate(self.one_hot(tr["chair"][train_idx]), tr["azimuth"][train_idx],
                                     tr["elevation"][train_idx])
        return {"heldout_mse": float(F.mse_loss(rgb, te["images"])),
                "baseline_mse": float(F.mse_loss(tr["images"][nearest], te["images"])),
                "mask_iou": float(self.mask_iou(mask, te["masks"]).mean()),
                "baseline_mask_iou": float(self.mask_iou(tr["masks"][nearest], te["masks"]).mean()),
                "train_mse": float(F.mse_loss(train_rgb, tr["images"][train_idx])),
                "heldout_views": len(te["chair"])}

    # ------------------------------------------------------------------------------ interaction
    def set_view(self, chair, azimuth, elevation, zoom=1.0, brightness=1.0) -> tuple:
        """Ask for the chair the sliders show (display state only). ``chair`` must be a chair id
        of this run; the azimuth wraps around 360°; elevation, zoom and brightness are clamped to
        the ranges the sliders offer. Non-numbers are refused with ValueError. Returns the
        request as stored."""
        try:
            values = [float(x) for x in (chair, azimuth, elevation, zoom, brightness)]
        except (TypeError, ValueError):
            raise ValueError(f"set_view takes numbers, got {(chair, azimuth, elevation, zoom, brightness)!r}") from None
        if not all(math.isfinite(x) for x in values):
            raise ValueError(f"set_view takes finite numbers, got {values}")
        if not values[0].is_integer() or not 0 <= values[0] < self.n_chairs:
            raise ValueError(f"chair must be a whole number from 0 to {self.n_chairs - 1}, got {chair!r}")
        clamp = lambda x, bounds: min(max(x, bounds[0]), bounds[1])  # noqa: E731
        self.request = (int(values[0]), values[1] % 360, clamp(values[2], ELEVATION_RANGE),
                        clamp(values[3], RANGES["zoom"]), clamp(values[4], RANGES["brightness"]))
        return self.request

    def view_status(self, chair: int, azimuth: float, elevation: float) -> str:
        """'training view', 'held-out view' or 'new view' (not in the dataset)."""
        for name, s in (("training view", self.train_set), ("held-out view", self.test_set)):
            hit = (s["chair"] == chair) & ((s["azimuth"].float() - azimuth).abs() < 1e-3) \
                & ((s["elevation"].float() - elevation).abs() < 1e-3)
            if bool(hit.any()):
                return name
        return "new view"

    def true_view(self) -> np.ndarray:
        """The renderer's picture of the request (cached per request), transformed the same way."""
        if self._truth is None or self._truth[0] != self.request:
            from engines.data.chairs3d import chair as chair_parts, render_chair

            chair, az, el, zoom, bright = self.request
            image, mask = render_chair(chair_parts(chair), self.size, [az], [el])
            theta = torch.tensor([[zoom, 0.0, 0.0, bright, 0.0]], device=self.device)
            rgb, _ = transform(torch.from_numpy(image.transpose(0, 3, 1, 2)).to(self.device),
                               torch.from_numpy(mask[:, None]).to(self.device), theta, self.background)
            self._truth = (self.request, image_array(rgb, (3, self.size, self.size))[0])
        return self._truth[1]

    # ------------------------------------------------------------------------------ frames
    def _clamp_chair(self, index: int) -> int:
        return min(max(int(index), 0), self.n_chairs - 1)

    @torch.no_grad()
    def frames(self, wanted=None):
        cfg, shape = self.config, (3, self.size, self.size)
        frames = []
        if wants(wanted, "sliders"):
            chair, az, el, zoom, bright = self.request
            theta = torch.tensor([[zoom, 0.0, 0.0, bright, 0.0]], device=self.device)
            rgb, mask = self.generate(self.one_hot(torch.tensor([chair], device=self.device)), [az], [el], theta)
            frames.append(ChairView("sliders", self.step, image_array(rgb, shape)[0],
                                    image_array(mask, (1, self.size, self.size))[0], self.true_view(),
                                    chair, az, el, zoom, bright, self.n_chairs, self.view_status(chair, az, el)))
        if wants(wanted, "turntable"):
            chair = self._clamp_chair(cfg.turntable_chair)
            azimuths = torch.tensor(self.TURNTABLE_AZIMUTHS, device=self.device)
            elevation = float(self.train_set["elevation"][0])
            rgb, _ = self.generate(self.one_hot(torch.full((len(azimuths),), chair, device=self.device)),
                                   azimuths, torch.full((len(azimuths),), elevation, device=self.device))
            frames.append(Turntable("turntable", self.step, image_array(rgb, shape),
                                    np.array(self.TURNTABLE_AZIMUTHS), chair, elevation))
        if wants(wanted, "morph"):
            t = torch.linspace(0, 1, self.MORPH_STEPS, device=self.device)
            frames.append(ImageGrid("morph", self.step, self.morph(cfg.morph_from, cfg.morph_to, t),
                                    columns=self.MORPH_STEPS, reflow=False))
        if wants(wanted, "heldout"):
            frames.append(ImageGrid("heldout", self.step, self.heldout_picture(8), columns=8, reflow=False))
        return frames

    def morph(self, first: int, last: int, t: torch.Tensor) -> np.ndarray:
        """Chair codes ``(1 − t) e_first + t e_last`` for each of the fractions ``t``, one row per
        azimuth of :data:`MORPH_AZIMUTHS`."""
        a, b = self.one_hot(torch.tensor([self._clamp_chair(first), self._clamp_chair(last)], device=self.device))
        codes = ((1 - t[:, None]) * a + t[:, None] * b).repeat(len(self.MORPH_AZIMUTHS), 1)
        azimuths = torch.tensor(self.MORPH_AZIMUTHS, device=self.device).repeat_interleave(len(t))
        elevation = torch.full_like(azimuths, float(self.train_set["elevation"][0]), dtype=torch.float32)
        rgb, _ = self.generate(codes, azimuths, elevation)
        return image_array(rgb, (3, self.size, self.size))

    # ------------------------------------------------------------------------------ loops (View.loop)
    @torch.no_grad()
    def turntable_spin(self, phase: float) -> Turntable:
        """The turntable chair at azimuth 360°·φ: one full turn, in as many pictures as asked for
        (the generator takes any azimuth, not only the 15° steps of the data)."""
        chair = self._clamp_chair(self.config.turntable_chair)
        elevation = float(self.train_set["elevation"][0])
        azimuth = 360.0 * phase
        rgb, _ = self.generate(self.one_hot(torch.tensor([chair], device=self.device)), [azimuth], [elevation])
        return Turntable("turntable", self.step, image_array(rgb, (3, self.size, self.size)), np.array([azimuth]),
                         chair, elevation)

    @torch.no_grad()
    def morph_loop(self, phase: float) -> ImageGrid:
        """The morph played: chair code ``(1 − s) e_from + s e_to`` with ``s = (1 − cos 2πφ)/2`` (there
        and back, :func:`there_and_back`), one picture per azimuth of :data:`MORPH_AZIMUTHS`."""
        t = torch.tensor([there_and_back(phase)], device=self.device)
        return ImageGrid("morph", self.step, self.morph(self.config.morph_from, self.config.morph_to, t),
                         columns=len(self.MORPH_AZIMUTHS))

    def heldout_picture(self, count: int) -> np.ndarray:
        """Rows: ``count`` held-out views, what the generator makes of them, the same chair's
        nearest training view."""
        te, tr = self.test_set, self.train_set
        idx = torch.linspace(0, len(te["chair"]) - 1, min(count, len(te["chair"])), device=self.device).long()
        rgb, _ = self.generate(self.one_hot(te["chair"][idx]), te["azimuth"][idx], te["elevation"][idx])
        nearest = self.nearest_training_view()[idx]
        return image_array(torch.cat([te["images"][idx], rgb, tr["images"][nearest]]), (3, self.size, self.size))
