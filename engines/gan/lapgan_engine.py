"""``lapgan``: a Laplacian pyramid of GANs (Denton et al. 2015).

The pyramid of an image: ``I_{L−1} = x``, ``I_{k−1} = d(I_k)`` (2×2 average), band-pass residuals
``h_k = I_k − u(I_{k−1})`` (u: bilinear ×2), so ``x`` is rebuilt exactly from ``I_0`` and the
``h_k``. One GAN per level: level 0 (7×7 for 28 px digits, 8×8 for 32 px colour) is a dense GAN on
``I_0`` (batchnorm in G: without it G_0 collapses onto one digit within a few hundred steps); level k ≥ 1 has a conditional ``G_k(z_k, l_k)`` that generates the residual from
noise and the upsampled coarser image ``l_k = u(I_{k−1})``, and ``D_k(h, l_k)`` that tells true
residuals from generated ones given ``l_k``. The levels train independently (each on the true
pyramid of the same real batch), together in one step, each with its own curves ``l<k>/…``.
Sampling runs the pyramid coarse to fine: ``Ĩ_0 = G_0(z_0)``, ``Ĩ_k = u(Ĩ_{k−1}) + G_k(z_k, u(Ĩ_{k−1}))``.
Noise is uniform in [−1, 1] (a scalar plane per pixel at the finer levels), as in the paper.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engines.core.config import ConfigError
from engines.core.engine import wants
from engines.core.frames import image_array
from engines.gan.engine import Duel, evaluating
from engines.gan.frames import PyramidLevels
from engines.gan.image_engine import ImageGANEngine
from engines.gan.model import (MLP, MaxoutDiscriminator, ResidualDiscriminator, ResidualGenerator,
                                init_dcgan_, laplacian_pyramid, upsample)
from engines.gan.spec import LAPGAN_SPEC

PYRAMID_SAMPLES = 6


class LAPGANEngine(ImageGANEngine):
    spec = LAPGAN_SPEC
    smoke_overrides = {**ImageGANEngine.smoke_overrides, "coarse_hidden": (32,), "coarse_units": (16,), "width": 4, "batch_size": 16,
                       "samples": 16, "eval_samples": 100}

    def build_duels(self):
        cfg = self.config
        channels, size = self.data.shape[0], self.data.shape[1]
        coarsest = size / 2 ** (cfg.levels - 1)
        if coarsest != int(coarsest) or coarsest < 4:
            raise ConfigError(f"lapgan: {size} px cannot make {cfg.levels} levels (the coarsest, size/2^(levels−1) "
                              f"= {coarsest:g}, must be a whole number ≥ 4)")
        s0 = int(coarsest)
        self.sizes = tuple(s0 * 2 ** k for k in range(cfg.levels))
        n0 = channels * s0 * s0
        g0 = MLP((cfg.z_dim, *cfg.coarse_hidden, n0), nn.ReLU(), nn.Tanh(), (channels, s0, s0), batchnorm=True)
        duels = [Duel(g0.to(self.device),
                      MaxoutDiscriminator(n0, cfg.coarse_units, 5, 0.5, self.generator).to(self.device),
                      (cfg.z_dim,), cfg, "l0/")]
        for k, s in enumerate(self.sizes[1:], 1):
            g = init_dcgan_(ResidualGenerator(channels, cfg.width), self.generator).to(self.device)
            d = init_dcgan_(ResidualDiscriminator(channels, s, cfg.width, self.generator), self.generator).to(self.device)
            duels.append(Duel(g, d, (1, s, s), cfg, f"l{k}/"))
        return duels

    def real_batches(self, n: int):
        """Level 0: the coarsest images ``I_0``; level k: (true residual ``h_k``, condition
        ``u(I_{k−1})``), ``I_k = u(I_{k−1}) + h_k`` rebuilt on the way up as sampling does."""
        image, residuals = laplacian_pyramid(self.batches.next(n).view(-1, *self.shape), self.config.levels)
        out = [(image, None)]
        for h in residuals:
            cond = upsample(image)
            out.append((h, cond))
            image = cond + h
        return out

    def levels_of(self, noise: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Sampling coarse to fine: per finer level (``l_k``, ``h̃_k``, ``Ĩ_k``), after the coarsest
        image ``Ĩ_0`` as (None, None, Ĩ_0)."""
        image = self.duels[0].generate(noise[0], None)
        out = [(None, None, image)]
        for duel, z in zip(self.duels[1:], noise[1:]):
            cond = upsample(image)
            residual = duel.generate(z, cond)
            image = cond + residual
            out.append((cond, residual, image))
        return out

    def generate(self, noise):
        return self.levels_of(noise)[-1][2]

    def frames(self, wanted=None):
        out = super().frames(wanted)
        if wants(wanted, "pyramid"):
            out.append(self.pyramid_frame())
        return out

    @torch.no_grad()
    def pyramid_frame(self) -> PyramidLevels:
        """The first fixed-noise samples' levels, each picture upsampled (nearest) to full size
        and mapped from [−1, 1] to [0, 1] (so a residual of 0 shows as 0.5)."""
        noise = [z[:PYRAMID_SAMPLES] for z in self.fixed_noise]
        with evaluating(*(duel.g for duel in self.duels)), self._autocast():
            levels = self.levels_of(noise)

        def show(x: torch.Tensor) -> np.ndarray:
            x = F.interpolate(x.float(), size=self.shape[1:], mode="nearest")
            return image_array((x / 2 + 0.5).clamp(0, 1), self.shape)

        return PyramidLevels("pyramid", self.step, show(levels[0][2]),
                             np.stack([show(c) for c, _, _ in levels[1:]]),
                             np.stack([show(h) for _, h, _ in levels[1:]]),
                             np.stack([show(i) for _, _, i in levels[1:]]), self.sizes)
