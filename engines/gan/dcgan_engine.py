"""``dcgan``: the DCGAN guidelines (Radford et al. 2016) at 28, 32 or 64 px, grey or colour.

Strided convolutions in D and fractionally-strided ones in G, no pooling, no dense hidden layer,
batchnorm in both (not on D's first layer nor G's output), ReLU in G with a tanh output,
LeakyReLU(0.2) in D; weights ~ N(0, 0.02); Adam lr 2e-4, β1 0.5; batch 128. The layer plan
(:func:`engines.gan.model.dc_plan`): 28 px = 7 → 14 → 28, 32 px = 4 → 8 → 16 → 32, 64 px =
4 → … → 64; ``width`` channels in D's first layer and G's last hidden one, doubling per step in.

The networks run in the channels-last (NHWC) layout by default: on the CPU, oneDNN's convolutions
then need no layout conversions (about 20 % faster here); on CUDA, ``mixed_precision`` (bfloat16
autocast) adds tensor cores.
"""
from __future__ import annotations

import torch

from engines.gan.engine import Duel
from engines.gan.image_engine import ImageGANEngine
from engines.gan.model import DCDiscriminator, DCGenerator, init_dcgan_
from engines.gan.spec import DCGAN_SPEC


class DCGANEngine(ImageGANEngine):
    spec = DCGAN_SPEC
    smoke_overrides = {**ImageGANEngine.smoke_overrides, "width": 4, "batch_size": 16, "samples": 16, "eval_samples": 100}
    batch_format = torch.contiguous_format    # of the real batches: channels_last with the networks

    def build_duels(self):
        cfg = self.config
        channels, size = self.data.shape[0], self.data.shape[1]
        g = init_dcgan_(DCGenerator(cfg.z_dim, channels, size, cfg.width), self.generator).to(self.device)
        d = init_dcgan_(DCDiscriminator(channels, size, cfg.width), self.generator).to(self.device)
        if cfg.channels_last:
            g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
            self.batch_format = torch.channels_last
        if cfg.mixed_precision and self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16
        return [Duel(g, d, (cfg.z_dim,), cfg)]

    def real_batches(self, n: int):
        return [(self.batches.next(n).view(-1, *self.shape).contiguous(memory_format=self.batch_format), None)]
