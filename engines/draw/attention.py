"""DRAW's selective attention: an N×N grid of Gaussian filters (Gregor et al. 2015, section 3.2).

A window is five numbers per image, emitted by a linear layer of the decoder state:
``(g̃x, g̃y, log σ², log δ̃, log γ)``. For an image A pixels wide and B pixels high, with pixel
coordinates ``a = 1..A``, ``b = 1..B`` (1-based, as the paper writes them)::

    gx = (A + 1)/2 · (g̃x + 1)          gy = (B + 1)/2 · (g̃y + 1)
    δ  = (max(A, B) − 1)/(N − 1) · δ̃
    μx_i = gx + (i − N/2 − 0.5)·δ       μy_j = gy + (j − N/2 − 0.5)·δ       i, j = 1..N
    Fx[i, a] = exp(−(a − μx_i)² / (2σ²)) / Zx_i      (each row sums to 1 over a; Fy likewise)

    read(x)  = γ · Fy x Fxᵀ             (N × N per channel)
    write(w) = (1/γ) · Fyᵀ w Fx         (B × A per channel)

Three bugs of public ports are avoided on purpose: the exponent divides the *square* by 2σ²
(not ``((a−μ)/(2σ²))²``); pixels and filter indices are both 1-based, so the grid is centred on
g (``g̃ = 0`` puts it on the image centre ``(A+1)/2``); ``N/2`` is a real division (an integer
division shifts an odd grid by half a filter). The row normalisation is computed after shifting each
row's exponents so that its largest term is ``e⁰ = 1`` (the shift cancels in ``exp(·)/Z``), so Z ≥ 1
stays finite even for a filter far outside the image (which then reads its nearest edge instead of
dividing 0 by 0). Terms below ``e^−20`` of the row's largest are set to 0: they are under float32
resolution of Z ≥ 1 anyway, and left in they become denormal numbers that made the CPU's
matrix products several times slower. With ``N = 1`` the
single filter sits on g and δ has no effect (the formula's ``N − 1`` is taken as 1).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

PARAMS = 5   # (g̃x, g̃y, log σ², log δ̃, log γ)
CUTOFF = 20.0  # filter weights below e^-CUTOFF of their row's largest are zero


class Window(NamedTuple):
    """One attention window per image, in the paper's 1-based pixel coordinates; each field (batch,)."""
    gx: torch.Tensor
    gy: torch.Tensor
    delta: torch.Tensor
    sigma2: torch.Tensor
    gamma: torch.Tensor

    def as_array(self) -> torch.Tensor:
        """(batch, 5): gx, gy, δ, σ², γ, the order frames keep them in."""
        return torch.stack(tuple(self), dim=-1)


def window(raw: torch.Tensor, height: int, width: int, n: int) -> Window:
    """The window of a (batch, 5) linear output ``(g̃x, g̃y, log σ², log δ̃, log γ)`` for an image
    ``height × width`` read or written through an ``n × n`` grid."""
    gx_, gy_, log_sigma2, log_delta, log_gamma = raw.unbind(-1)
    gx = (width + 1) / 2 * (gx_ + 1)
    gy = (height + 1) / 2 * (gy_ + 1)
    delta = (max(height, width) - 1) / max(n - 1, 1) * log_delta.exp()
    return Window(gx, gy, delta, log_sigma2.exp(), log_gamma.exp())


def filter_centres(g: torch.Tensor, delta: torch.Tensor, n: int) -> torch.Tensor:
    """``μ_i = g + (i − N/2 − 0.5)·δ`` for i = 1..N: (batch, n), symmetric about g."""
    i = torch.arange(1, n + 1, device=g.device, dtype=g.dtype)
    return g.unsqueeze(-1) + (i - n / 2 - 0.5) * delta.unsqueeze(-1)


def filterbank(centres: torch.Tensor, sigma2: torch.Tensor, size: int) -> torch.Tensor:
    """``F[i, a] = exp(−(a − μ_i)²/(2σ²)) / Z_i`` over pixels a = 1..size: (batch, n, size), rows
    summing to 1 (see the module docstring for the shift and the cut-off)."""
    a = torch.arange(1, size + 1, device=centres.device, dtype=centres.dtype)
    energy = (a - centres.unsqueeze(-1)) ** 2 / (2 * sigma2[:, None, None])
    energy = energy - energy.amin(-1, keepdim=True).detach()     # cancels in the ratio below
    weights = torch.where(energy < CUTOFF, torch.exp(-energy.clamp_max(CUTOFF)), 0.0)
    return weights / weights.sum(-1, keepdim=True)


def filterbanks(win: Window, height: int, width: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Fx, Fy)``: (batch, n, width) and (batch, n, height)."""
    fx = filterbank(filter_centres(win.gx, win.delta, n), win.sigma2, width)
    fy = filterbank(filter_centres(win.gy, win.delta, n), win.sigma2, height)
    return fx, fy


def read(images: torch.Tensor, win: Window, n: int) -> torch.Tensor:
    """``γ · Fy x Fxᵀ`` for each channel: images (batch, C, H, W) -> glimpses (batch, C, n, n)."""
    height, width = images.shape[-2:]
    fx, fy = filterbanks(win, height, width, n)
    glimpse = fy.unsqueeze(1) @ images @ fx.unsqueeze(1).transpose(-1, -2)
    return glimpse * win.gamma[:, None, None, None]


def write(patches: torch.Tensor, win: Window, height: int, width: int) -> torch.Tensor:
    """``(1/γ) · Fyᵀ w Fx`` for each channel: patches (batch, C, n, n) -> (batch, C, height, width)."""
    n = patches.shape[-1]
    fx, fy = filterbanks(win, height, width, n)
    patches = patches / win.gamma[:, None, None, None]     # 1/γ on the n×n patch: same product, cheaper
    return fy.unsqueeze(1).transpose(-1, -2) @ patches @ fx.unsqueeze(1)
