"""Bernoulli-Bernoulli restricted Boltzmann machine trained by CD-k or PCD-k.

Energy ``E(v,h) = -vᵀWh - bᵀv - cᵀh``; free energy ``F(v) = -bᵀv - Σ_j softplus(c_j + W_jᵀv)``.
The log-likelihood gradient is ``⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model``; the model term comes from the end
of a Gibbs chain, treated as a constant (no gradient flows through the chain).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engines.core.engine import bernoulli


class RBM(nn.Module):
    """The model: parameters and the conditionals ``p(h=1|v) = σ(c + vW)``, ``p(v=1|h) = σ(b + hWᵀ)``."""

    def __init__(self, n_visible: int, n_hidden: int, generator: torch.Generator, device):
        super().__init__()
        self.W = nn.Parameter(0.01 * torch.randn(n_visible, n_hidden, generator=generator, device=device),
                              requires_grad=False)
        self.b = nn.Parameter(torch.zeros(n_visible, device=device), requires_grad=False)
        self.c = nn.Parameter(torch.zeros(n_hidden, device=device), requires_grad=False)

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.c, v, self.W))

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.b, h, self.W.t()))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = -bᵀv - Σ_j softplus(c_j + W_jᵀv)``, one value per row of ``v``."""
        return -(v @ self.b) - F.softplus(torch.addmm(self.c, v, self.W)).sum(1)

    def gibbs(self, v: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """k full steps v → h → v; returns the last binary sample and its mean-field probabilities."""
        probs = v
        for _ in range(k):
            h = bernoulli(self.hidden_probs(v), generator=generator)
            probs = self.visible_probs(h)
            v = bernoulli(probs, generator=generator)
        return v, probs
