"""Variational autoencoders (Kingma & Welling 2014): the networks and the bounds they are trained
and measured with. PyTorch only; the engines in this folder own optimisers, data and display state.

Encoder ``q(z|x) = N(μ(x), diag σ(x)²)`` (it outputs ``μ`` and ``log σ²``), prior ``p(z) = N(0, I)``,
decoder ``p(x|z)`` whose parameters come from the decoder network's output ``ℓ(z)`` (logits):

- ELBO ``L(x) = E_q[log p(x|z)] − KL(q(z|x) || N(0, I))``, the expectation estimated with one
  reparameterized sample ``z = μ + σ·ε``, ``ε ~ N(0, I)`` (σ the standard deviation), the KL
  term in closed form: ``KL = ½ Σ_d (μ_d² + σ_d² − 1 − log σ_d²)``;
- the importance-weighted bound (Burda et al. 2016) with k samples ``z_i ~ q(z|x)``:
  ``L_k(x) = log (1/k) Σ_i p(x, z_i) / q(z_i|x)``, with ``L_1 = ELBO ≤ L_k ≤ L_{k+1} ≤ log p(x)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus}


# ----------------------------------------------------------------------------------- equations
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, σ²) || N(0, 1)) = ½ (μ² + σ² − 1 − log σ²)`` per dimension (same shape as ``mu``)."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``z = μ + σ·ε`` with ``σ = exp(½ log σ²)`` the standard deviation."""
    return mu + (0.5 * logvar).exp() * eps


def standard_normal_ppf(p: torch.Tensor) -> torch.Tensor:
    """Inverse CDF of N(0, 1): ``Φ⁻¹(p) = √2 · erfinv(2p − 1)``."""
    return math.sqrt(2.0) * torch.erfinv(2.0 * p - 1.0)


# ----------------------------------------------------------------------------------- likelihoods
class Likelihood(nn.Module):
    """``p(x | ℓ)`` for decoder outputs ``ℓ`` (N, D): its log-density summed over pixels and the
    mean image it implies (what previews show)."""

    binary: bool = False     # trains on dynamically binarized pixels and is measured on fixed bits

    def log_prob(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)


class Bernoulli(Likelihood):
    """``log p(x|ℓ) = Σ_i x_i log σ(ℓ_i) + (1 − x_i) log(1 − σ(ℓ_i))`` for binary pixels."""

    binary = True

    def log_prob(self, logits, x):
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class ContinuousBernoulli(Likelihood):
    """The continuous Bernoulli (Loaiza-Ganem & Cunningham 2019) for pixels in [0, 1]:
    ``p(x|λ) = C(λ) λ^x (1 − λ)^(1−x)``, ``C(λ) = 2 artanh(1 − 2λ) / (1 − 2λ)``. With ``λ = σ(ℓ)``,
    ``1 − 2λ = −tanh(ℓ/2)`` and ``artanh(1 − 2λ) = −ℓ/2``, so ``C = ℓ / tanh(ℓ/2)`` (→ 2 at ℓ = 0,
    where ``C ≈ 2 (1 + ℓ²/12)``). Its mean is ``λ/(2λ − 1) − 1/ℓ`` (≈ ½ + ℓ/12 near ℓ = 0)."""

    SMALL = 1e-2   # below this |ℓ| the Taylor forms are exact to float precision

    def log_norm(self, logits):
        small = logits.abs() < self.SMALL
        safe = torch.where(small, torch.ones_like(logits), logits)
        exact = torch.log(safe / torch.tanh(safe / 2))
        return torch.where(small, math.log(2.0) + logits.square() / 12, exact)

    def log_prob(self, logits, x):
        bern = -F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        return (bern + self.log_norm(logits)).sum(-1)

    def mean(self, logits):
        small = logits.abs() < self.SMALL
        safe = torch.where(small, torch.ones_like(logits), logits)
        lam = torch.sigmoid(safe)
        exact = lam / (2 * lam - 1) - 1 / safe
        return torch.where(small, 0.5 + logits / 12, exact)


class Gaussian(Likelihood):
    """``log p(x|ℓ) = Σ_i −½ ((x_i − m_i)/s_i)² − log s_i − ½ log 2π`` with mean ``m = σ(ℓ)`` and
    standard deviation ``s``: fixed (``learned=False``) or one learned value per pixel, kept above
    ``SIGMA_MIN`` so the density cannot run off on constant background pixels."""

    SIGMA_MIN = 0.01

    def __init__(self, n_pixels: int, sigma: float, learned: bool):
        super().__init__()
        self.log_sigma = nn.Parameter(torch.full((n_pixels,), math.log(sigma)), requires_grad=learned)

    def log_prob(self, logits, x):
        log_s = self.log_sigma.clamp(min=math.log(self.SIGMA_MIN))
        z = (x - torch.sigmoid(logits)) * torch.exp(-log_s)
        return (-0.5 * z.square() - log_s - 0.5 * LOG_2PI).sum(-1)


def make_likelihood(name: str, n_pixels: int, sigma: float) -> Likelihood:
    """``bernoulli``, ``continuous-bernoulli``, ``gaussian`` (fixed σ) or ``gaussian-learned``."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "continuous-bernoulli":
        return ContinuousBernoulli()
    if name in ("gaussian", "gaussian-learned"):
        return Gaussian(n_pixels, sigma, learned=name == "gaussian-learned")
    raise ValueError(f"unknown likelihood {name!r}")


# ----------------------------------------------------------------------------------- networks
def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers ``sizes[0] → … → sizes[-1]`` with the activation between them (not after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class DenseEncoder(nn.Module):
    """``x (N, D) → (μ, log σ²)``, each (N, L), through fully connected hidden layers."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], latent: int, activation: str):
        super().__init__()
        self.net = mlp([n_in, *hidden, 2 * latent], activation)
        self.floats_per_sample = n_in + sum(hidden) + 2 * latent

    def forward(self, x):
        return self.net(x).chunk(2, dim=-1)


class DenseDecoder(nn.Module):
    """``z (N, L) → ℓ (N, D)``, the encoder's hidden layers mirrored."""

    def __init__(self, latent: int, hidden: tuple[int, ...], n_out: int, activation: str):
        super().__init__()
        self.net = mlp([latent, *reversed(hidden), n_out], activation)
        self.floats_per_sample = latent + sum(hidden) + n_out

    def forward(self, z):
        return self.net(z)

    @torch.no_grad()
    def init_output_bias(self, pixel_mean: torch.Tensor) -> None:
        """Start ``ℓ`` at ``logit`` of the training images' mean (one value per pixel)."""
        self.net[-1].bias.copy_(torch.logit(pixel_mean.clamp(1e-3, 1 - 1e-3)))


class ConvEncoder(nn.Module):
    """``x (N, C·H·W) → (μ, log σ²)``: 4×4 stride-2 convolutions, each halving the side, with
    ``widths`` channels (see :func:`conv_widths`), then fully connected layers."""

    def __init__(self, shape: tuple[int, int, int], channels: int, hidden: tuple[int, ...], latent: int,
                 activation: str):
        super().__init__()
        c, size, _ = shape
        self.shape = shape
        layers: list[nn.Module] = []
        floats = c * size * size
        for width in conv_widths(size, channels):
            layers += [nn.Conv2d(c, width, 4, stride=2, padding=1), ACTIVATIONS[activation]()]
            c, size = width, size // 2
            floats += c * size * size
        self.conv = nn.Sequential(*layers, nn.Flatten())
        self.fc = mlp([c * size * size, *hidden, 2 * latent], activation)
        self.floats_per_sample = floats + sum(hidden) + 2 * latent

    def forward(self, x):
        return self.fc(self.conv(x.view(-1, *self.shape))).chunk(2, dim=-1)


class ConvDecoder(nn.Module):
    """``z (N, L) → ℓ (N, C·H·W)``: fully connected layers up to the encoder's last feature map,
    then 4×4 stride-2 transposed convolutions, each doubling the side (the encoder mirrored)."""

    def __init__(self, shape: tuple[int, int, int], channels: int, hidden: tuple[int, ...], latent: int,
                 activation: str):
        super().__init__()
        c_out, size, _ = shape
        widths = conv_widths(size, channels)
        self.top = (widths[-1], size >> len(widths), size >> len(widths))
        self.fc = nn.Sequential(mlp([latent, *reversed(hidden), self.top[0] * self.top[1] * self.top[2]],
                                    activation), ACTIVATIONS[activation]())
        layers: list[nn.Module] = []
        floats, side = 0, self.top[1]
        for i, (a, b) in enumerate(zip(reversed(widths), [*reversed(widths[:-1]), c_out])):
            layers.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            side *= 2
            floats += b * side * side
            if i < len(widths) - 1:
                layers.append(ACTIVATIONS[activation]())
        self.deconv = nn.Sequential(*layers, nn.Flatten())
        self.floats_per_sample = latent + sum(hidden) + self.top[0] * self.top[1] * self.top[2] + floats

    def forward(self, z):
        return self.deconv(self.fc(z).view(-1, *self.top))

    @torch.no_grad()
    def init_output_bias(self, pixel_mean: torch.Tensor) -> None:
        """Start ``ℓ`` at ``logit`` of the training images' mean per channel (a transposed
        convolution's bias is shared by the pixels of a channel)."""
        per_channel = pixel_mean.view(self.deconv[-2].out_channels, -1).mean(1)
        self.deconv[-2].bias.copy_(torch.logit(per_channel.clamp(1e-3, 1 - 1e-3)))


def conv_widths(size: int, channels: int) -> list[int]:
    """Channels of each stride-2 level: ``channels``, ``2·channels``, … (capped at 512), one level
    per halving of the side while it is even and above 7 (28 → 14 → 7: 2 levels; 32 → … → 4: 3;
    64 → … → 4: 4; 8 → 4: 1)."""
    widths = []
    while size % 2 == 0 and size > 7:
        widths.append(min(512, channels * 2 ** len(widths)))
        size //= 2
    return widths


# ----------------------------------------------------------------------------------- the model
class VAE(nn.Module):
    """Encoder, decoder and likelihood; the bounds of the module docstring."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood, latent: int):
        super().__init__()
        self.encoder, self.decoder, self.likelihood = encoder, decoder, likelihood
        self.latent = latent

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ²)`` of ``q(z|x)``, each (N, L)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output ``ℓ(z)`` (N, D), the parameters of ``p(x|z)``."""
        return self.decoder(z)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """``E[x|z]`` (N, D): what a preview of ``z`` shows."""
        return self.likelihood.mean(self.decode(z)).clamp(0, 1)

    def elbo_terms(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample ELBO terms: ``log p(x|z)`` with ``z = μ + σ·ε`` (N,) and the analytic
        ``KL(q(z|x) || N(0, I))`` per dimension (N, L). ELBO = ``log p(x|z) − KL.sum(1)``."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, eps)
        return self.likelihood.log_prob(self.decode(z), x), gaussian_kl(mu, logvar)

    def log_weights(self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                    eps: torch.Tensor) -> torch.Tensor:
        """Importance log-weights ``log p(x, z_i) − log q(z_i|x)`` (k, N) for ``z_i = μ + σ·ε_i``,
        ``eps`` (k, N, L): ``log p(x|z) − ½|z|² + ½|ε|² + ½ Σ log σ²`` (the ``log 2π`` terms cancel)."""
        k, n, _ = eps.shape
        z = reparameterize(mu, logvar, eps)
        logits = self.decode(z.reshape(k * n, -1))
        log_px = self.likelihood.log_prob(logits, x.expand(k, *x.shape).reshape(k * n, -1)).view(k, n)
        return log_px - 0.5 * z.square().sum(-1) + 0.5 * eps.square().sum(-1) + 0.5 * logvar.sum(-1)


def importance_bounds(model: VAE, x: torch.Tensor, k: int, generator: torch.Generator,
                      max_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example (N,): the IWAE bound ``L_k = log (1/k) Σ_i w_i`` and the ELBO estimated from the
    same k samples, ``(1/k) Σ_i log w_i`` (so ``L_k ≥ ELBO`` holds exactly, by Jensen).

    At most ``max_rows`` decoder rows are alive at a time, whatever k: the examples are taken in
    blocks and the k samples in chunks, the sum of weights accumulated as a running log-sum-exp."""
    max_rows = max(1, int(max_rows))
    iwae, elbo = [], []
    for block in x.split(max_rows):
        mu, logvar = model.encode(block)
        chunk = max(1, max_rows // len(block))
        lse = torch.full((len(block),), -math.inf, device=x.device)
        total = torch.zeros(len(block), device=x.device)
        for start in range(0, k, chunk):
            eps = torch.randn((min(chunk, k - start), *mu.shape), generator=generator, device=x.device)
            logw = model.log_weights(block, mu, logvar, eps)
            lse = torch.logaddexp(lse, torch.logsumexp(logw, 0))
            total += logw.sum(0)
        iwae.append(lse - math.log(k))
        elbo.append(total / k)
    return torch.cat(iwae), torch.cat(elbo)
