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

import torch
from torch import nn

from engines.core.engine import bernoulli


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
