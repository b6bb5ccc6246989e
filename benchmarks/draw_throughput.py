"""DRAW training throughput: genstudio's ``draw`` engine against a minimal plain PyTorch DRAW loop.

Same data (the embedded MNIST training split, dynamically binarized), same sizes (T glimpses,
encoder/decoder LSTMs, z, read 2×2, write 5×5 attention, batch), same optimiser (Adam, gradient
norm clipped at 10). The plain loop is written here from the paper's equations, with nothing
from genstudio: it is what someone would write in a notebook, except that it drops negligible
filter weights (below e^-20 of their row's largest) as the engine does. Left in, they become
denormal numbers that slow the CPU's matrix products several times, and the ratio would flatter
the engine instead of measuring its overhead. The two take turns in one run
(interleaved rounds, so a slow spell of a shared machine hits both); the ratio is the median of
the rounds' engine/plain ratios. The last line printed is one JSON object with the figures.

    python benchmarks/draw_throughput.py [--rounds 5] [--steps 30] [--T 10] [--lstm 256] [--z 16]
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from side_by_side import medians, paired_rounds, report_line
from torch import nn


class PlainDRAW(nn.Module):
    """DRAW with read/write attention in the most direct PyTorch: the reference loop."""

    def __init__(self, size: int, T: int, lstm: int, z: int, read_n: int = 2, write_n: int = 5):
        super().__init__()
        self.size, self.T, self.lstm, self.z, self.read_n, self.write_n = size, T, lstm, z, read_n, write_n
        self.enc = nn.LSTMCell(2 * read_n * read_n + lstm, lstm)
        self.dec = nn.LSTMCell(z, lstm)
        self.q = nn.Linear(lstm, 2 * z)
        self.read_loc = nn.Linear(lstm, 5)
        self.write_loc = nn.Linear(lstm, 5)
        self.write_patch = nn.Linear(lstm, write_n * write_n)

    def filters(self, loc: nn.Linear, h, n):
        gx_, gy_, log_s2, log_d, log_g = loc(h).unbind(1)
        a = self.size
        gx, gy = (a + 1) / 2 * (gx_ + 1), (a + 1) / 2 * (gy_ + 1)
        delta = (a - 1) / (n - 1) * log_d.exp()
        offsets = torch.arange(1, n + 1, dtype=h.dtype) - n / 2 - 0.5
        pixels = torch.arange(1, a + 1, dtype=h.dtype)
        mu_x = gx[:, None] + offsets * delta[:, None]
        mu_y = gy[:, None] + offsets * delta[:, None]
        s2 = log_s2.exp()[:, None, None]
        banks = []
        for mu in (mu_x, mu_y):
            energy = (pixels - mu[..., None]) ** 2 / (2 * s2)
            energy = energy - energy.amin(-1, keepdim=True)
            weights = torch.exp(-energy) * (energy < 20)       # no denormals (see the module docstring)
            banks.append(weights / weights.sum(-1, keepdim=True))
        return banks[0], banks[1], log_g.exp()

    def forward(self, x):
        b, a = x.shape[0], self.size
        img = x.view(b, a, a)
        h_enc = c_enc = h_dec = c_dec = x.new_zeros(b, self.lstm)
        canvas = torch.zeros_like(img)
        kl = 0
        for _ in range(self.T):
            err = img - torch.sigmoid(canvas)
            fx, fy, gamma = self.filters(self.read_loc, h_dec, self.read_n)
            r = torch.cat([(fy @ img @ fx.transpose(1, 2)).flatten(1), (fy @ err @ fx.transpose(1, 2)).flatten(1)], 1)
            h_enc, c_enc = self.enc(torch.cat([r * gamma[:, None], h_dec], 1), (h_enc, c_enc))
            mu, log_sigma = self.q(h_enc).chunk(2, 1)
            z = mu + log_sigma.exp() * torch.randn_like(mu)
            kl = kl + 0.5 * (mu ** 2 + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(1)
            h_dec, c_dec = self.dec(z, (h_dec, c_dec))
            fx, fy, gamma = self.filters(self.write_loc, h_dec, self.write_n)
            w = self.write_patch(h_dec).view(b, self.write_n, self.write_n)
            canvas = canvas + fy.transpose(1, 2) @ w @ fx / gamma[:, None, None]
        recon = F.binary_cross_entropy_with_logits(canvas.flatten(1), x, reduction="none").sum(1)
        return (recon + kl).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30, help="training steps per side per round")
    parser.add_argument("--T", type=int, default=10)
    parser.add_argument("--lstm", type=int, default=256)
    parser.add_argument("--z", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    args = parser.parse_args()

    from engines.core.device import default_threads
    from engines.registry import build_engine
    torch.set_num_threads(args.threads or default_threads())
    engine = build_engine("draw", "mnist", "cpu", 0, {"T": args.T, "enc_size": args.lstm, "dec_size": args.lstm,
                                                      "z_size": args.z, "read_n": 2, "write_n": 5,
                                                      "batch_size": args.batch})
    torch.manual_seed(0)
    plain = PlainDRAW(28, args.T, args.lstm, args.z)
    optimizer = torch.optim.Adam(plain.parameters(), lr=1e-3)
    train = torch.from_numpy(engine.data.train.reshape(len(engine.data.train), -1))

    def plain_step():
        idx = torch.randint(len(train), (args.batch,))
        x = (torch.rand(args.batch, 784) < train[idx]).float()
        loss = plain(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(plain.parameters(), 10.0)
        optimizer.step()
        return float(loss)

    ours, theirs = paired_rounds(engine.train_step, plain_step, args.rounds, args.steps)
    engine_rate, plain_rate, ratio = medians(ours, theirs, scale=args.batch, digits=1)
    result = {
        "torch_threads": torch.get_num_threads(), "T": args.T, "lstm": args.lstm, "z": args.z, "batch": args.batch,
        "steps_per_round": args.steps, "rounds": args.rounds,
        "engine_images_per_s": engine_rate,
        "plain_images_per_s": plain_rate,
        "ratio": ratio,
    }
    print(report_line("genstudio draw engine", engine_rate, ours, "images/s", scale=args.batch))
    print(report_line("plain PyTorch DRAW   ", plain_rate, theirs, "images/s", scale=args.batch))
    print(f"ratio (median of paired rounds): {result['ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
