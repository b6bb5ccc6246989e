"""DCGAN training throughput: genstudio's ``dcgan`` engine against a minimal plain PyTorch loop.

The plain loop is the textbook one (pytorch/examples' ``dcgan/main.py``): the same generator and
discriminator classes, initialisation, batch (128 of the embedded MNIST train digits in [−1, 1]),
Adam(2e-4, β 0.5/0.999), BCE on logits; D on a real and a detached generated batch, then G
through D with D's gradients computed too (and thrown away at the next zero_grad). The engine
does the same maths plus its curves (losses, mean D outputs, both gradient norms) and avoids
work the plain loop does: no gradient for D's weights in the G step, fused Adam, and the
channels-last layout (no layout conversions around oneDNN's convolutions). The two are timed in
alternating rounds in one run; the median steps/s of each and the median of the per-round ratios
are printed. On CUDA a second pair adds bfloat16 ``mixed_precision`` to the engine, against the
same plain fp32 loop (``ratio_fast``).

    python benchmarks/dcgan_throughput.py [--rounds 5] [--steps 20] [--width 32] [--image-size 28] [--device cpu]
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from side_by_side import medians, paired_rounds, report_line


class PlainDCGAN:
    """The minimal loop: nothing but the two updates."""

    def __init__(self, images: torch.Tensor, z_dim: int, width: int, batch: int, seed: int):
        from engines.gan.model import DCDiscriminator, DCGenerator, init_dcgan_

        device = images.device
        gen = torch.Generator(device=device).manual_seed(seed)
        channels, size = images.shape[1], images.shape[2]
        self.g = init_dcgan_(DCGenerator(z_dim, channels, size, width), gen).to(device)
        self.d = init_dcgan_(DCDiscriminator(channels, size, width), gen).to(device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.images, self.z_dim, self.batch, self.gen = images, z_dim, batch, gen

    def step(self) -> None:
        idx = torch.randint(len(self.images), (self.batch,), generator=self.gen, device=self.images.device)
        real = self.images[idx]
        ones = torch.ones(self.batch, device=real.device)
        zeros = torch.zeros(self.batch, device=real.device)
        self.d.zero_grad()
        F.binary_cross_entropy_with_logits(self.d(real), ones).backward()
        noise = torch.randn(self.batch, self.z_dim, 1, 1, generator=self.gen, device=real.device)
        fake = self.g(noise)
        F.binary_cross_entropy_with_logits(self.d(fake.detach()), zeros).backward()
        self.opt_d.step()
        self.g.zero_grad()
        F.binary_cross_entropy_with_logits(self.d(fake), ones).backward()
        self.opt_g.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="steps per round and contestant")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=28, choices=(28, 32, 64))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from engines.core.device import default_threads
    from engines.registry import build_engine

    torch.set_num_threads(default_threads())
    overrides = {"width": args.width, "image_size": args.image_size, "batch_size": args.batch}
    engine = build_engine("dcgan", "mnist", args.device, 0, overrides)
    device = engine.device
    images = torch.from_numpy(engine.data.train * 2 - 1).to(device)
    plain = PlainDCGAN(images, engine.config.z_dim, args.width, args.batch, seed=1)
    ours, theirs = paired_rounds(engine.train_step, plain.step, args.rounds, args.steps, device, warmup=2)
    engine_rate, plain_rate, ratio = medians(ours, theirs)
    result = {"device": str(device), "torch_threads": torch.get_num_threads(), "image_size": args.image_size,
              "width": args.width, "batch": args.batch, "steps_per_round": args.steps,
              "engine_steps_per_s": engine_rate, "plain_steps_per_s": plain_rate, "ratio": ratio}
    print(report_line(f"dcgan engine ({device})", engine_rate, ours, "steps/s"))
    print(report_line(f"plain loop   ({device})", plain_rate, theirs, "steps/s"))
    if device.type == "cuda":
        fast = build_engine("dcgan", "mnist", args.device, 0,
                            {**overrides, "mixed_precision": True})
        ours, theirs = paired_rounds(fast.train_step, plain.step, args.rounds, args.steps, device, warmup=2)
        fast_rate, plain_rate2, ratio_fast = medians(ours, theirs)
        result.update(engine_fast_steps_per_s=fast_rate, plain_steps_per_s_2=plain_rate2, ratio_fast=ratio_fast)
        print(f"dcgan engine + bf16 autocast: {fast_rate:8.3f} steps/s  vs plain {plain_rate2:8.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
