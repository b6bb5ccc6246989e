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


def default_betas(count: int = 14_500) -> np.ndarray:
    """0→0.5 in steps of 1e-3, 0.5→0.9 in 1e-4, 0.9→1 in 1e-5: 14,500 intermediate temperatures
    (``count`` others keep the three segments' proportions 1 : 8 : 20)."""
    if count < 3:
        raise ValueError(f"AIS needs at least 3 temperatures, got {count}")
    n1 = max(1, round(count * 500 / 14_500))
    n2 = max(1, round(count * 4_000 / 14_500))
    n3 = max(1, count - n1 - n2)
    return np.concatenate([np.linspace(0, 0.5, n1 + 1)[:-1], np.linspace(0.5, 0.9, n2 + 1)[:-1],
                           np.linspace(0.9, 1.0, n3 + 1)])


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
    return log_z_summary(log_w, log_z_base)


def log_z_summary(log_w: torch.Tensor, log_z_base: float) -> dict[str, float]:
    """``log Z = logmeanexp(log w) + log Z_A`` from the runs' log importance weights, its standard
    deviation (delta method: std(w) / (mean(w) √runs)) and the ±3σ bounds of the estimate."""
    runs = len(log_w)
    log_mean_w = float(torch.logsumexp(log_w, 0)) - math.log(runs)
    w = torch.exp(log_w - log_w.max())
    rel = float(w.std(unbiased=True) / w.mean()) / math.sqrt(runs) if runs > 1 else float("inf")
    log_z = log_mean_w + log_z_base
    return {"log_z": log_z, "log_z_std": rel, "log_z_base": log_z_base,
            "log_z_upper": log_z + math.log1p(3 * rel),
            "log_z_lower": log_z + math.log(max(1e-300, 1 - 3 * rel)) if 3 * rel < 1 else float("-inf")}


def binary_codes(n: int, device) -> torch.Tensor:
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
        v = binary_codes(n_visible, W.device)
        return float(torch.logsumexp(v @ b + F.softplus(v @ W + c).sum(1), 0))
    h = binary_codes(n_hidden, W.device)
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


@torch.no_grad()
def dbm_ais_log_z(dbm, b_base: torch.Tensor, runs: int = 100, betas: np.ndarray | None = None,
                  generator: torch.Generator | None = None) -> dict[str, float]:
    """AIS estimate of ``log Z`` of a deep Boltzmann machine (:class:`engines.boltzmann.dbm.DBM`),
    with the odd layers (h¹, h³) summed out analytically and the chain run over the even ones
    (v, h²). The path is ``E_β = (1−β) E_A + β E`` from the base-rate model A (W = 0, visible
    bias ``b_A``, hidden biases 0), so, with ``a_l = x_{l−1}W_{l−1} + x_{l+1}W_lᵀ + c_l``,

        log p*_β(v, h²) = vis_β(v) + β c_2ᵀh² + Σ_{odd l} Σ_j softplus(β a_l,j)

    where ``vis_β(v) = ((1−β) b_A + β b)ᵀv`` (Bernoulli) or ``−(1−β)‖v−b_A‖²/2 − β‖v−b‖²/2``
    (Gaussian), and ``log Z_A = Σ_i softplus(b_A,i)`` (or ``D/2 log 2π``) ``+ Σ_l H_l log 2``.
    Between temperatures the state moves by one Gibbs sweep of p_β (odd layers, then even)."""
    betas = default_betas() if betas is None else betas
    depth, device = dbm.depth, b_base.device
    sizes = dbm.sizes
    odd, even_hidden = range(1, depth + 1, 2), range(2, depth + 1, 2)
    visible_log_z = len(b_base) / 2 * math.log(2 * math.pi) if dbm.gaussian else float(F.softplus(b_base).sum())
    log_z_base = visible_log_z + sum(sizes[1:]) * math.log(2.0)

    def visible_term(beta, v):
        if dbm.gaussian:
            return -(1 - beta) * 0.5 * ((v - b_base) ** 2).sum(1) - beta * 0.5 * ((v - dbm.b) ** 2).sum(1)
        return v @ ((1 - beta) * b_base + beta * dbm.b)

    def odd_inputs(states):
        return {l: dbm.hidden_input(l, states[l - 1], states[l + 1] if l < depth else None) for l in odd}

    def log_p_star(beta, states, pre):
        out = visible_term(beta, states[0])
        for l in even_hidden:
            out = out + beta * (states[l] @ dbm.c[l - 1])
        for l in odd:
            out = out + F.softplus(beta * pre[l]).sum(1)
        return out

    mean_a = b_base.expand(runs, -1)
    v = (mean_a + torch.randn(mean_a.shape, generator=generator, device=device) if dbm.gaussian
         else bernoulli(torch.sigmoid(mean_a).contiguous(), generator))
    states = [v] + [torch.zeros(runs, n, device=device) for n in sizes[1:]]
    for l in even_hidden:
        states[l] = bernoulli(torch.full((runs, sizes[l]), 0.5, device=device), generator)
    pre = odd_inputs(states)
    log_w = torch.zeros(runs, dtype=torch.float64, device=device)
    for k in range(1, len(betas)):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        log_w += (log_p_star(beta, states, pre) - log_p_star(beta_prev, states, pre)).double()
        if k == len(betas) - 1:
            break
        for l in odd:
            states[l] = bernoulli(torch.sigmoid(beta * pre[l]), generator)
        mean = (1 - beta) * b_base + beta * torch.addmm(dbm.b, states[1], dbm.W[0].t())
        states[0] = (mean + torch.randn(mean.shape, generator=generator, device=device) if dbm.gaussian
                     else bernoulli(torch.sigmoid(mean), generator))
        for l in even_hidden:
            above = states[l + 1] if l < depth else None
            states[l] = bernoulli(torch.sigmoid(beta * dbm.hidden_input(l, states[l - 1], above)), generator)
        pre = odd_inputs(states)
    return log_z_summary(log_w, log_z_base)
