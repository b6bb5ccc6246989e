"""Deep Boltzmann machine (Salakhutdinov & Hinton 2009): the model and its equations.

Layers ``x_0 = v, x_1 = h¹, …, x_L = h^L`` (L = 2 or 3), weights ``W_l`` between ``x_l`` and
``x_{l+1}``, biases ``b`` (visible) and ``c_l`` (hidden). Energy, Bernoulli visible units:

    E(v, h) = −bᵀv − Σ_l x_lᵀ W_l x_{l+1} − Σ_{l≥1} c_lᵀ x_l

and with Gaussian visible units (standardized pixels, σ = 1) ``−bᵀv`` becomes ``½‖v − b‖²``.
Every hidden layer only talks to its neighbours, so

    p(x_l = 1 | x_{l−1}, x_{l+1}) = σ(x_{l−1} W_{l−1} + x_{l+1} W_lᵀ + c_l)          (rows are examples)
    p(v | h¹) = σ(h¹ W_0ᵀ + b)   or   N(h¹ W_0ᵀ + b, 1).

**Mean-field** ``q(h|v) = Π q(h_j)`` with means μ: iterate ``μ_l ← σ(μ_{l−1} W_{l−1} + μ_{l+1} W_lᵀ +
c_l)`` (μ_0 = v) to a fixed point; it maximises the variational lower bound

    log p(v) ≥ Σ_h q(h) log p*(v, h) + H(q) − log Z,   log p* = −E,

whose first two terms have the closed form of :meth:`DBM.variational_free_energy`.
**Gibbs sampling** alternates the odd layers (given the even ones) and the even layers (given
the odd ones): each group is conditionally independent given the other.

**Greedy pretraining** trains one RBM per weight matrix with doubled inputs where the DBM will
later have two neighbours: RBM l sees ``p(x_{l+1} | x_l) = σ(u_l · x_l W_l + a_l)`` and
``p(x_l | x_{l+1}) = σ(d_l · x_{l+1} W_lᵀ + e_l)`` with ``u_l = 2`` except for the top RBM and
``d_l = 2`` except for the bottom one. Composing them (:func:`compose_biases`) keeps the weights and
averages the two biases a middle layer gets, so each DBM conditional is the average, in the logit,
of the two RBMs' doubled conditionals: the doubled weights are halved.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engines.core.engine import bernoulli

LOG_2PI = math.log(2 * math.pi)


class DBM(nn.Module):
    """Parameters ``W[l]`` (n_l × n_{l+1}), ``b`` (visible) and ``c[l]`` (bias of layer l+1), and
    the conditionals, mean-field and Gibbs sampling of the energy in the module docstring."""

    def __init__(self, n_visible: int, layers: tuple[int, ...], gaussian: bool, generator: torch.Generator, device):
        super().__init__()
        sizes = (n_visible, *layers)
        self.gaussian = gaussian
        self.sizes = sizes
        self.W = nn.ParameterList([
            nn.Parameter(0.01 * torch.randn(a, b, generator=generator, device=device), requires_grad=False)
            for a, b in zip(sizes[:-1], sizes[1:])])
        self.b = nn.Parameter(torch.zeros(n_visible, device=device), requires_grad=False)
        self.c = nn.ParameterList([nn.Parameter(torch.zeros(n, device=device), requires_grad=False) for n in layers])

    @property
    def depth(self) -> int:
        return len(self.W)

    # ------------------------------------------------------------------------------ conditionals
    def hidden_input(self, layer: int, below: torch.Tensor, above: torch.Tensor | None) -> torch.Tensor:
        """Total input to hidden layer ``layer`` (1..L): ``x_{l−1} W_{l−1} + x_{l+1} W_lᵀ + c_l``."""
        pre = torch.addmm(self.c[layer - 1], below, self.W[layer - 1])
        return pre if above is None else pre.addmm_(above, self.W[layer].t())

    def visible_mean(self, h1: torch.Tensor) -> torch.Tensor:
        """``E[v | h¹]``: σ(h¹W_0ᵀ + b) (Bernoulli) or h¹W_0ᵀ + b (Gaussian)."""
        pre = torch.addmm(self.b, h1, self.W[0].t())
        return pre if self.gaussian else torch.sigmoid(pre)

    def sample_visible(self, mean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.gaussian:
            return mean + torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return bernoulli(mean, generator)

    # ------------------------------------------------------------------------------ inference
    def mean_field(self, v: torch.Tensor, steps: int, tol: float = 0.0) -> tuple[list[torch.Tensor], int]:
        """Means μ¹..μ^L of q(h|v), started from a bottom-up pass with doubled inputs for the
        layers that will also get top-down input (as pretraining saw them), then ``steps``
        sweeps of ``μ_l ← σ(μ_{l−1}W_{l−1} + μ_{l+1}W_lᵀ + c_l)``, bottom to top, stopping early
        once no mean moves more than ``tol``. Returns the means and the sweeps made. The
        visible input ``v W_0 + c_1`` is computed once."""
        bottom = torch.addmm(self.c[0], v, self.W[0])
        mus = [torch.sigmoid(2 * bottom - self.c[0])]
        for layer in range(2, self.depth + 1):
            scale = 2.0 if layer < self.depth else 1.0
            mus.append(torch.sigmoid(torch.addmm(self.c[layer - 1], mus[-1], self.W[layer - 1], alpha=scale)))
        sweeps = 0
        for sweeps in range(1, steps + 1):
            change = 0.0
            for layer in range(1, self.depth + 1):
                if layer == 1:
                    new = torch.sigmoid(torch.addmm(bottom, mus[1], self.W[1].t()))
                else:
                    above = mus[layer] if layer < self.depth else None
                    new = torch.sigmoid(self.hidden_input(layer, mus[layer - 2], above))
                if tol > 0:
                    change = max(change, float((new - mus[layer - 1]).abs().max()))
                mus[layer - 1] = new
            if tol > 0 and change < tol:
                break
        return mus, sweeps

    def gibbs(self, states: list[torch.Tensor], steps: int, generator: torch.Generator,
              clamp: torch.Tensor | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
        """``steps`` sweeps over [v, h¹, …, h^L]: odd layers given the even ones, then even layers
        (v included) given the odd ones. Where ``clamp`` (a 0/1 mask over visible units) is 1,
        v keeps its value. Returns the new states and ``E[v | h¹]`` of the last sweep."""
        states = list(states)
        depth = self.depth
        mean = None
        for _ in range(steps):
            for parity in (1, 0):
                for layer in range(parity, depth + 1, 2):
                    if layer == 0:
                        mean = self.visible_mean(states[1])
                        v = self.sample_visible(mean, generator)
                        states[0] = v if clamp is None else torch.where(clamp.bool(), states[0], v)
                    else:
                        above = states[layer + 1] if layer < depth else None
                        probs = torch.sigmoid(self.hidden_input(layer, states[layer - 1], above))
                        states[layer] = bernoulli(probs, generator)
        if mean is None:
            mean = self.visible_mean(states[1])
        return states, mean

    # ------------------------------------------------------------------------------ energies
    def visible_term(self, v: torch.Tensor) -> torch.Tensor:
        """The visible part of −E: ``bᵀv`` (Bernoulli) or ``−½‖v − b‖²`` (Gaussian)."""
        return -0.5 * ((v - self.b) ** 2).sum(1) if self.gaussian else v @ self.b

    def neg_energy(self, states: list[torch.Tensor]) -> torch.Tensor:
        """``−E(v, h)`` per row for states [v, h¹, …, h^L]."""
        out = self.visible_term(states[0])
        for layer in range(self.depth):
            out = out + ((states[layer] @ self.W[layer]) * states[layer + 1]).sum(1) + states[layer + 1] @ self.c[layer]
        return out

    def variational_free_energy(self, v: torch.Tensor, mus: list[torch.Tensor]) -> torch.Tensor:
        """``Σ_h q(h) log p*(v, h) + H(q)`` for the factorial q with means ``mus``: since q
        factorises over units, ``E_q[−E] = −E(v, μ)`` (no two units in one product share a
        layer), and ``H(q) = −Σ μ log μ + (1 − μ) log(1 − μ)``."""
        out = self.neg_energy([v, *mus])
        for mu in mus:
            mu = mu.clamp(1e-7, 1 - 1e-7)
            out = out - (mu * mu.log() + (1 - mu) * (-mu).log1p()).sum(1)
        return out


# ---------------------------------------------------------------------------------- pretraining
def pretrain_scales(layer: int, depth: int) -> tuple[float, float]:
    """(up, down) input multipliers of the RBM under weight matrix ``layer`` (0-based) of a
    ``depth``-layer DBM: the up input is doubled except at the top RBM, the down input except at
    the bottom one."""
    return (2.0 if layer < depth - 1 else 1.0), (2.0 if layer > 0 else 1.0)


def rbm_up(dbm: DBM, layer: int, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Pretraining RBM ``layer``: ``p(x_{l+1} = 1 | x_l) = σ(u · x_l W_l + a_l)``."""
    up, _ = pretrain_scales(layer, dbm.depth)
    return torch.sigmoid(torch.addmm(bias, x, dbm.W[layer], alpha=up))


def rbm_down(dbm: DBM, layer: int, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Pretraining RBM ``layer``: ``E[x_l | x_{l+1}]`` with input ``d · x_{l+1} W_lᵀ + e_l``
    (σ of it, or itself for the Gaussian visible layer)."""
    _, down = pretrain_scales(layer, dbm.depth)
    pre = torch.addmm(bias, h, dbm.W[layer].t(), alpha=down)
    return pre if layer == 0 and dbm.gaussian else torch.sigmoid(pre)


def compose_biases(dbm: DBM, up_bias: list[torch.Tensor], down_bias: list[torch.Tensor]) -> None:
    """Write the DBM's biases from the pretraining RBMs' (in place): ``b = e_0``, the top layer's
    ``c_L = a_{L−1}``, and each middle layer's ``c_l = (a_{l−1} + e_l) / 2`` (the average of the
    RBM below's up-bias and the RBM above's down-bias)."""
    depth = dbm.depth
    dbm.b.copy_(down_bias[0])
    for layer in range(1, depth + 1):
        if layer < depth:
            dbm.c[layer - 1].copy_((up_bias[layer - 1] + down_bias[layer]) / 2)
        else:
            dbm.c[layer - 1].copy_(up_bias[layer - 1])


# ---------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def hidden_log_weights(dbm: DBM) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Every joint hidden state of a tiny DBM (at most 2^22) and its unnormalized log
    probability with the visible units summed out analytically: ``Σ_i softplus(b_i + (W_0 h¹)_i)``
    (Bernoulli) or the Gaussian integral ``D/2 log 2π + bᵀW_0h¹ + ½‖W_0h¹‖²``. Returns the log
    weights and the states, one tensor per hidden layer."""
    from engines.boltzmann.ais import binary_codes

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


def exact_log_z(dbm: DBM) -> float:
    """``log Z`` of a tiny DBM: the log-sum of :func:`hidden_log_weights`."""
    return float(torch.logsumexp(hidden_log_weights(dbm)[0], 0))


@torch.no_grad()
def exact_log_p(dbm: DBM, v: torch.Tensor) -> torch.Tensor:
    """``log p(v) = log Σ_h exp(−E(v, h)) − log Z`` by enumeration (tiny DBMs only)."""
    from engines.boltzmann.ais import binary_codes

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
    return torch.stack(out) - exact_log_z(dbm)
