"""DRAW, the Deep Recurrent Attentive Writer (Gregor et al. 2015), as an ``nn.Module``, and the
pieces alignDRAW reuses (reader, writer, Gaussian heads, KL, likelihoods).

For t = 1..T, starting from a zero canvas c₀ and zero LSTM states::

    x̂_t   = x − σ(c_{t−1})
    r_t    = read(x, x̂_t, h_dec_{t−1})
    h_enc_t = LSTM_enc(h_enc_{t−1}, [r_t, h_dec_{t−1}])
    z_t    ~ q(z_t | x, z_<t) = N(μ(h_enc_t), σ(h_enc_t))          (z = μ + σ·ε)
    h_dec_t = LSTM_dec(h_dec_{t−1}, z_t)
    c_t    = c_{t−1} + write(h_dec_t)

Loss (the negative variational bound, in nats per image) = −log p(x | c_T) + Σ_t KL(q_t ‖ N(0, I)),
with ``KL = ½ Σ_k (μ_k² + σ_k² − 2 log σ_k − 1)`` summed over the z dimensions of each step (the
−½ constant is per latent dimension, not per step). Generation runs the decoder alone on
z_t ~ N(0, I). Without attention the reader passes the whole of ``[x, x̂]`` and the writer emits
a full canvas update; with it they go through the Gaussian filterbank of ``attention.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from engines.draw import attention
from engines.draw.attention import Window

LIKELIHOODS = ("bernoulli", "gaussian")
MIN_LOG_SCALE = math.log(1 / 255)   # the Gaussian's noise floor: one grey level


def locator(dec_size: int, height: int, width: int, n: int, write: bool) -> nn.Linear:
    """The linear layer ``h_dec -> (g̃x, g̃y, log σ², log δ̃, log γ)`` of one window, with a bias that
    starts the window centred over the whole image (δ̃ = 1) with overlapping filters (σ = δ/2),
    so the first reads see all of it. A write window also starts with ``1/γ̂ = 2πσ²``: normalised
    filters spread a unit of the patch over about 2πσ² pixels, and this gain makes it raise the
    canvas by about one logit under its filter centre (with γ̂ = 1 the decoder spends its first
    hundreds of updates just growing its writes, and meanwhile stops using z)."""
    layer = nn.Linear(dec_size, attention.PARAMS)
    delta = (max(height, width) - 1) / max(n - 1, 1)
    sigma2 = max(delta / 2, 0.5) ** 2
    with torch.no_grad():
        layer.bias.zero_()
        layer.bias[2] = math.log(sigma2)
        if write:
            layer.bias[4] = -math.log(2 * math.pi * sigma2)
    return layer


class Reader(nn.Module):
    """``r = read(x, x̂, h_dec)``: with attention, ``γ·[Fy x Fxᵀ, Fy x̂ Fxᵀ]`` through an n×n grid
    placed by a linear layer of ``h_dec``; without, the whole of ``[x, x̂]``. ``size`` is the
    length of the flattened result."""

    def __init__(self, shape: tuple[int, int, int], dec_size: int, n: int, use_attention: bool):
        super().__init__()
        c, h, w = shape
        self.shape, self.n = shape, n
        self.locate = locator(dec_size, h, w, n, write=False) if use_attention else None
        self.size = 2 * c * (n * n if use_attention else h * w)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor, h_dec: torch.Tensor) -> tuple[torch.Tensor, Window | None]:
        both = torch.cat([x, x_hat], dim=1)
        if self.locate is None:
            return both.flatten(1), None
        win = attention.window(self.locate(h_dec), self.shape[1], self.shape[2], self.n)
        return attention.read(both, win, self.n).flatten(1), win


class Writer(nn.Module):
    """``write(h_dec)``: with attention an n×n patch ``w`` and its own window from linear layers of
    ``h_dec``, ``(1/γ̂)·F̂yᵀ w F̂x``; without, a full canvas update ``W h_dec``."""

    def __init__(self, shape: tuple[int, int, int], dec_size: int, n: int, use_attention: bool):
        super().__init__()
        c, h, w = shape
        self.shape, self.n = shape, n
        self.patch = nn.Linear(dec_size, c * (n * n if use_attention else h * w))
        self.locate = locator(dec_size, h, w, n, write=True) if use_attention else None

    def forward(self, h_dec: torch.Tensor) -> tuple[torch.Tensor, Window | None]:
        c, h, w = self.shape
        if self.locate is None:
            return self.patch(h_dec).view(-1, c, h, w), None
        win = attention.window(self.locate(h_dec), h, w, self.n)
        patch = self.patch(h_dec).view(-1, c, self.n, self.n)
        return attention.write(patch, win, h, w), win


class Gaussian(nn.Module):
    """A diagonal Gaussian from a linear layer: ``(μ, log σ) = W h + b``."""

    def __init__(self, in_size: int, z_size: int):
        super().__init__()
        self.linear = nn.Linear(in_size, 2 * z_size)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_sigma = self.linear(h).chunk(2, dim=-1)
        return mu, log_sigma


def kl_normal(mu: torch.Tensor, log_sigma: torch.Tensor, prior_mu: torch.Tensor | None = None,
              prior_log_sigma: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(N(μ, σ²) ‖ N(μp, σp²)) = Σ_k [log σp − log σ + (σ² + (μ − μp)²)/(2σp²) − ½]`` per row;
    the prior defaults to N(0, I): ``½ Σ_k (μ² + σ² − 2 log σ − 1)``."""
    if prior_mu is None:
        return 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(-1)
    var_ratio = (2 * (log_sigma - prior_log_sigma)).exp()
    return (prior_log_sigma - log_sigma + 0.5 * (var_ratio + (mu - prior_mu).pow(2) * (-2 * prior_log_sigma).exp())
            - 0.5).sum(-1)


class Likelihood(nn.Module):
    """``−log p(x | c_T)`` per image, summed over pixels (nats).

    - ``bernoulli``: ``p(x_i = 1) = σ(c_i)``; binary images (dynamically binarized).
    - ``gaussian``: ``x_i ~ N(σ(c_i), s²)`` with a learned noise scale s per channel, floored at one
      grey level (1/255): a density on [0, 1]-scaled pixels, for continuous colour images.
    """

    def __init__(self, kind: str, channels: int):
        super().__init__()
        if kind not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, not {kind!r}")
        self.kind = kind
        self.log_scale = nn.Parameter(torch.full((channels,), math.log(0.1))) if kind == "gaussian" else None

    def forward(self, canvas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.log_scale is None:
            return F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1)
        log_scale = self.log_scale.clamp_min(MIN_LOG_SCALE)[None, :, None, None]
        z = (x - torch.sigmoid(canvas)) * (-log_scale).exp()
        return (0.5 * z.pow(2) + log_scale + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


@dataclass
class Trace:
    """What a pass records for the display, step by step: the canvases ``σ(c_t)`` and the write and
    read windows (each ``(batch, 5)``: gx, gy, δ, σ², γ)."""
    canvases: list[torch.Tensor] = field(default_factory=list)
    write: list[torch.Tensor] = field(default_factory=list)
    read: list[torch.Tensor] = field(default_factory=list)

    def add(self, canvas: torch.Tensor, write: Window | None, read: Window | None = None) -> None:
        self.canvases.append(torch.sigmoid(canvas))
        if write is not None:
            self.write.append(write.as_array())
        if read is not None:
            self.read.append(read.as_array())

    @staticmethod
    def stacked(items: list[torch.Tensor]) -> torch.Tensor | None:
        """Per-step items stacked batch first: (batch, T, ...), or None when nothing was recorded."""
        return torch.stack(items, dim=1) if items else None


class DRAW(nn.Module):
    """The recurrent VAE of Gregor et al.; see the module docstring for the equations."""

    def __init__(self, shape: tuple[int, int, int], steps: int, enc_size: int, dec_size: int, z_size: int,
                 read_n: int, write_n: int, use_attention: bool, likelihood: str):
        super().__init__()
        self.shape, self.steps, self.z_size = shape, steps, z_size
        self.dec_size, self.enc_size = dec_size, enc_size
        self.reader = Reader(shape, dec_size, read_n, use_attention)
        self.encoder = nn.LSTMCell(self.reader.size + dec_size, enc_size)
        self.posterior = Gaussian(enc_size, z_size)
        self.decoder = nn.LSTMCell(z_size, dec_size)
        self.writer = Writer(shape, dec_size, write_n, use_attention)
        self.likelihood = Likelihood(likelihood, shape[0])

    def forward(self, x: torch.Tensor, noise: torch.Tensor, trace: Trace | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruct ``x`` (batch, C, H, W) with posterior noise ε (T, batch, z); returns the
        reconstruction term ``−log p(x | c_T)`` (batch,) and the KL of each step (T, batch)."""
        batch = x.shape[0]
        h_enc = c_enc = x.new_zeros(batch, self.enc_size)
        h_dec = c_dec = x.new_zeros(batch, self.dec_size)
        canvas = torch.zeros_like(x)
        kls = []
        for t in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)
            r, read_win = self.reader(x, x_hat, h_dec)
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=1), (h_enc, c_enc))
            mu, log_sigma = self.posterior(h_enc)
            z = mu + log_sigma.exp() * noise[t]
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))
            update, write_win = self.writer(h_dec)
            canvas = canvas + update
            kls.append(kl_normal(mu, log_sigma))
            if trace is not None:
                trace.add(canvas, write_win, read_win)
        return self.likelihood(canvas, x), torch.stack(kls)

    def generate(self, z: torch.Tensor, trace: Trace | None = None) -> torch.Tensor:
        """Draw from the prior: z (T, batch, z_size) ~ N(0, I) through the decoder; returns σ(c_T)."""
        batch = z.shape[1]
        h_dec = c_dec = z.new_zeros(batch, self.dec_size)
        canvas = z.new_zeros(batch, *self.shape)
        for t in range(self.steps):
            h_dec, c_dec = self.decoder(z[t], (h_dec, c_dec))
            update, write_win = self.writer(h_dec)
            canvas = canvas + update
            if trace is not None:
                trace.add(canvas, write_win)
        return torch.sigmoid(canvas)
