"""Exact enumeration for tiny Boltzmann machines: the references the AIS estimates and the DBM's
bounds are checked against (every state summed, in float64)."""
import math

import torch
import torch.nn.functional as F

from engines.boltzmann.dbm_model import DBM

LOG_2PI = math.log(2 * math.pi)


def binary_codes(n: int, device) -> torch.Tensor:
    codes = torch.arange(2 ** n, device=device)
    return ((codes[:, None] >> torch.arange(n, device=device)) & 1).double()


@torch.no_grad()
def exact_rbm_log_z(model) -> float:
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
def dbm_hidden_log_weights(dbm: DBM) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Every joint hidden state of a tiny DBM (at most 2^22) and its unnormalized log
    probability with the visible units summed out analytically: ``Σ_i softplus(b_i + (W_0 h¹)_i)``
    (Bernoulli) or the Gaussian integral ``D/2 log 2π + bᵀW_0h¹ + ½‖W_0h¹‖²``. Returns the log
    weights and the states, one tensor per hidden layer."""
    sizes = dbm.sizes[1:]
    if sum(sizes) > 22:
        raise ValueError("exact log Z enumerates every hidden state; keep the hidden layers at 22 units in all")
    codes = binary_codes(sum(sizes), dbm.b.device)
    hs = list(torch.split(codes, list(sizes), dim=1))
    W = [w.double() for w in dbm.W]
    b = dbm.b.double()
    log_p = sum(h @ c.double() for h, c in zip(hs, dbm.c))
    for layer in range(1, len(W)):
        log_p = log_p + ((hs[layer - 1] @ W[layer]) * hs[layer]).sum(1)
    top_down = hs[0] @ W[0].t()
    if dbm.gaussian:
        log_p = log_p + len(b) / 2 * LOG_2PI + top_down @ b + 0.5 * (top_down ** 2).sum(1)
    else:
        log_p = log_p + F.softplus(top_down + b).sum(1)
    return log_p, hs


def exact_dbm_log_z(dbm: DBM) -> float:
    """``log Z`` of a tiny DBM: the log-sum of :func:`dbm_hidden_log_weights`."""
    return float(torch.logsumexp(dbm_hidden_log_weights(dbm)[0], 0))


@torch.no_grad()
def exact_dbm_log_p(dbm: DBM, v: torch.Tensor) -> torch.Tensor:
    """``log p(v) = log Σ_h exp(−E(v, h)) − log Z`` by enumeration (tiny DBMs only)."""
    sizes = dbm.sizes[1:]
    codes = binary_codes(sum(sizes), v.device)
    hs = list(torch.split(codes, list(sizes), dim=1))
    b = dbm.b.double()
    out = []
    for row in v.double():
        states = [row.expand(len(codes), -1), *hs]
        neg = -0.5 * ((states[0] - b) ** 2).sum(1) if dbm.gaussian else states[0] @ b
        for layer in range(dbm.depth):
            neg = neg + ((states[layer] @ dbm.W[layer].double()) * states[layer + 1]).sum(1) \
                + states[layer + 1] @ dbm.c[layer].double()
        out.append(torch.logsumexp(neg, 0))
    return torch.stack(out) - exact_dbm_log_z(dbm)
