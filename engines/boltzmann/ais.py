"""Annealed importance sampling for the partition function of an RBM (Salakhutdinov & Murray 2008).

Base-rate model A: ``W = 0``, visible biases ``b_A = logit(p̂)`` of the training pixel means,
hidden biases 0, so ``log Z_A = Σ_i softplus(b_A,i) + H·log 2``. The intermediate distributions,
with the hidden units summed out, are
``log p*_β(v) = (1−β) b_Aᵀv + β bᵀv + Σ_j softplus(β (c_j + W_jᵀv))``
(at β = 0 the softplus terms give the ``H·log 2`` of model A). Each run starts from ``v ~ p_A`` and
collects ``log w = Σ_k [log p*_{β_k}(v_{k−1}) − log p*_{β_{k−1}}(v_{k−1})]``, moving ``v`` by one Gibbs
step of ``p_{β_k}`` between temperatures; ``log Z_B ≈ logmeanexp(log w) + log Z_A``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from engines.core.engine import bernoulli


def base_rate_bias(train_v: torch.Tensor, pseudo_count: float = 5.0) -> torch.Tensor:
    """``logit(p̂)`` of each pixel's mean over the training set, smoothed toward 1/2 with pseudo-counts."""
    p = (train_v.sum(0) + pseudo_count) / (train_v.shape[0] + 2 * pseudo_count)
    return torch.log(p) - torch.log1p(-p)


def default_betas() -> np.ndarray:
    """0→0.5 in steps of 1e-3, 0.5→0.9 in 1e-4, 0.9→1 in 1e-5: 14,500 intermediate temperatures."""
    return np.concatenate([np.linspace(0, 0.5, 501)[:-1], np.linspace(0.5, 0.9, 4001)[:-1],
                           np.linspace(0.9, 1.0, 10001)])


def _log_p_star(beta: float, v: torch.Tensor, vb_base: torch.Tensor, vb: torch.Tensor,
                pre: torch.Tensor) -> torch.Tensor:
    """log p*_β(v) from the pre-computed ``b_Aᵀv``, ``bᵀv`` and ``c + vW``."""
    return (1 - beta) * vb_base + beta * vb + F.softplus(beta * pre).sum(1)


@torch.no_grad()
def ais_log_z(model, b_base: torch.Tensor, runs: int = 100, betas: np.ndarray | None = None,
              generator: torch.Generator | None = None) -> dict[str, float]:
    """AIS estimate of ``log Z`` of ``model`` (W, b, c); returns log Z, its standard deviation
    (delta method on the mean weight) and the ±3σ bounds of the estimate."""
    betas = default_betas() if betas is None else betas
    W, b, c = model.W, model.b, model.c
    n_hidden = W.shape[1]
    log_z_base = float(F.softplus(b_base).sum()) + n_hidden * math.log(2.0)
    v = bernoulli(torch.sigmoid(b_base).expand(runs, -1).contiguous(), generator=generator)
    log_w = torch.zeros(runs, dtype=torch.float64, device=W.device)
    pre, vb_base, vb = torch.addmm(c, v, W), v @ b_base, v @ b
    for k in range(1, len(betas)):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        log_w += (_log_p_star(beta, v, vb_base, vb, pre) - _log_p_star(beta_prev, v, vb_base, vb, pre)).double()
        if k < len(betas) - 1:
            h = bernoulli(torch.sigmoid(beta * pre), generator=generator)
            v = bernoulli(torch.sigmoid((1 - beta) * b_base + beta * torch.addmm(b, h, W.t())),
                                generator=generator)
            pre, vb_base, vb = torch.addmm(c, v, W), v @ b_base, v @ b
    log_mean_w = float(torch.logsumexp(log_w, 0)) - math.log(runs)
    # std of the mean weight relative to the mean: std(w) / (mean(w) sqrt(runs))
    w = torch.exp(log_w - log_w.max())
    rel = float(w.std(unbiased=True) / w.mean()) / math.sqrt(runs) if runs > 1 else float("inf")
    log_z = log_mean_w + log_z_base
    return {"log_z": log_z, "log_z_std": rel, "log_z_base": log_z_base,
            "log_z_upper": log_z + math.log1p(3 * rel),
            "log_z_lower": log_z + math.log(max(1e-300, 1 - 3 * rel)) if 3 * rel < 1 else float("-inf")}


def _binary_codes(n: int, device) -> torch.Tensor:
    codes = torch.arange(2 ** n, device=device)
    return ((codes[:, None] >> torch.arange(n, device=device)) & 1).double()


@torch.no_grad()
def exact_log_z(model) -> float:
    """``log Z`` by enumerating the smaller layer: ``log Σ_v exp(−F(v))``, or over hidden states
    ``log Σ_h exp(cᵀh + Σ_i softplus(b_i + W_i h))`` (tiny RBMs only: at most 2^20 states)."""
    W, b, c = model.W.double(), model.b.double(), model.c.double()
    n_visible, n_hidden = W.shape
    if min(n_visible, n_hidden) > 20:
        raise ValueError("exact log Z enumerates 2^min(visible, hidden) states; keep one layer <= 20 units")
    if n_visible <= n_hidden:
        v = _binary_codes(n_visible, W.device)
        return float(torch.logsumexp(v @ b + F.softplus(v @ W + c).sum(1), 0))
    h = _binary_codes(n_hidden, W.device)
    return float(torch.logsumexp(h @ c + F.softplus(h @ W.t() + b).sum(1), 0))


@torch.no_grad()
def ais_log_likelihood(model, b_base: torch.Tensor, test_v: torch.Tensor, runs: int = 100,
                       betas: np.ndarray | None = None, generator: torch.Generator | None = None) -> dict[str, float]:
    """Average test ``log p(v) = −F(v) − log Z`` in nats, with the base-rate model's for comparison:
    ``log p_A(v) = b_Aᵀv − Σ_i softplus(b_A,i)``."""
    z = ais_log_z(model, b_base, runs, betas, generator)
    mean_neg_f = float(-model.free_energy(test_v).double().mean())
    base = float((test_v @ b_base).double().mean()) - float(F.softplus(b_base).sum())
    return {"ais_log_likelihood": mean_neg_f - z["log_z"], "ais_log_likelihood_std": z["log_z_std"],
            "base_rate_log_likelihood": base, "log_z": z["log_z"], "log_z_lower": z["log_z_lower"],
            "log_z_upper": z["log_z_upper"], "ais_runs": runs}
