"""VAE training throughput: the ``vae`` engine's ``train_step`` against a minimal plain PyTorch loop.

Same network (784-512-256-2 ReLU by default, the engine's defaults), same data (the embedded MNIST
training split, dynamically binarized), same batch (128), same optimiser (Adam 1e-3). The plain
loop is what one would write by hand: two ``nn.Sequential``, a random slice of a permutation, the
one-sample ELBO with the analytic KL, backward, step — no scalars read back, no bookkeeping. The
two are timed in alternating rounds in one process (these machines are noisy); it prints the
median steps/s of each and, as its last line, a JSON object with the figures and ``ratio``
(engine / plain, median of the paired rounds; the goal is ≥ 0.95).

    python benchmarks/vae_throughput.py [--rounds 7] [--steps 100] [--hidden 512,256] [--latent 2]
                                        [--batch 128] [--device cpu|cuda] [--threads N]
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from side_by_side import medians, paired_rounds, report_line
from torch import nn


class PlainLoop:
    """The hand-written baseline: same layers, same data, same loss, nothing else."""

    def __init__(self, images: torch.Tensor, hidden: list[int], latent: int, batch: int, lr: float, seed: int):
        torch.manual_seed(seed)
        d = images.shape[1]
        enc, dec = [], []
        for a, b in zip([d, *hidden], hidden):
            enc += [nn.Linear(a, b), nn.ReLU()]
        for a, b in zip([latent, *hidden[::-1]], hidden[::-1]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc, nn.Linear(hidden[-1], 2 * latent)).to(images.device)
        self.decoder = nn.Sequential(*dec, nn.Linear(hidden[0], d)).to(images.device)
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.images, self.batch = images, batch
        self.perm = torch.randperm(len(images), device=images.device)
        self.pos = 0

    def step(self) -> None:
        if self.pos + self.batch > len(self.images):
            self.perm = torch.randperm(len(self.images), device=self.images.device)
            self.pos = 0
        probs = self.images[self.perm[self.pos:self.pos + self.batch]]
        self.pos += self.batch
        x = (torch.rand_like(probs) < probs).float()
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum") / len(x)
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum() / len(x)
        self.optimizer.zero_grad(set_to_none=True)
        (recon + kl).backward()
        self.optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100, help="steps per round and side")
    parser.add_argument("--hidden", default="512,256")
    parser.add_argument("--latent", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    args = parser.parse_args()

    from engines.core.device import default_threads
    from engines.registry import build_engine

    torch.set_num_threads(args.threads or default_threads())
    hidden = [int(h) for h in args.hidden.split(",")]
    engine = build_engine("vae", "mnist", args.device, 0, {"hidden": tuple(hidden), "latent_dim": args.latent,
                                                         "batch_size": args.batch, "lr": 1e-3})
    images = torch.from_numpy(engine.data.train.reshape(len(engine.data.train), -1)).to(engine.device)
    plain = PlainLoop(images, hidden, args.latent, args.batch, 1e-3, seed=0)
    ours, theirs = paired_rounds(engine.train_step, plain.step, args.rounds, args.steps, engine.device, warmup=10)
    engine_rate, plain_rate, ratio = medians(ours, theirs, digits=2)
    result = {
        "device": str(engine.device),
        "torch_threads": torch.get_num_threads(),
        "network": f"{images.shape[1]}-{'-'.join(map(str, hidden))}-{args.latent}",
        "batch": args.batch,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "engine_steps_per_s": engine_rate,
        "plain_steps_per_s": plain_rate,
        "ratio": ratio,
    }
    print(report_line(f"vae engine train_step ({engine.device})", engine_rate, ours, "steps/s"))
    print(report_line(f"plain PyTorch loop     ({engine.device})", plain_rate, theirs, "steps/s"))
    print(f"ratio (median of paired rounds): {result['ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
