"""AIS checked against the exact partition function of tiny RBMs."""
import itertools
import math

import pytest
import torch

from engines.boltzmann.ais import ais_log_likelihood, ais_log_z, default_betas, exact_log_z
from engines.boltzmann.rbm import RBM


def tiny_rbm(n_visible, n_hidden, scale, seed):
    g = torch.Generator().manual_seed(seed)
    model = RBM(n_visible, n_hidden, g, "cpu")
    model.W.copy_(scale * torch.randn(n_visible, n_hidden, generator=g))
    model.b.copy_(torch.randn(n_visible, generator=g))
    model.c.copy_(torch.randn(n_hidden, generator=g))
    return model, g


def test_exact_log_z_matches_the_sum_over_every_joint_state():
    model, _ = tiny_rbm(4, 3, 1.0, 0)
    total = 0.0
    for v in itertools.product([0.0, 1.0], repeat=4):
        for h in itertools.product([0.0, 1.0], repeat=3):
            v_t, h_t = torch.tensor(v), torch.tensor(h)
            energy = -(v_t @ model.W @ h_t) - model.b @ v_t - model.c @ h_t
            total += math.exp(-float(energy))
    assert exact_log_z(model) == pytest.approx(math.log(total), abs=1e-5)


def test_schedule_has_the_reference_temperatures():
    betas = default_betas()
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 14_501
    steps = sorted(set(round(float(d), 7) for d in (betas[1:] - betas[:-1])))
    assert steps == [1e-5, 1e-4, 1e-3]


@pytest.mark.parametrize("scale, seed", [(0.5, 1), (1.0, 2), (2.0, 3)])
def test_ais_agrees_with_exact_log_z_of_a_12x8_rbm(scale, seed):
    model, g = tiny_rbm(12, 8, scale, seed)
    b_base = 0.5 * torch.randn(12, generator=g)
    estimate = ais_log_z(model, b_base, runs=100, generator=g)
    assert abs(estimate["log_z"] - exact_log_z(model)) < 0.05
    assert estimate["log_z_lower"] <= estimate["log_z"] <= estimate["log_z_upper"]


def test_ais_is_exact_when_the_model_is_the_base_rate_model():
    model, g = tiny_rbm(10, 5, 0.0, 4)
    model.c.zero_()
    estimate = ais_log_z(model, model.b.clone(), runs=10, betas=torch.linspace(0, 1, 50).numpy(), generator=g)
    assert estimate["log_z"] == pytest.approx(exact_log_z(model), abs=1e-4)
    assert estimate["log_z_std"] == pytest.approx(0.0, abs=1e-6)


def test_log_likelihood_uses_minus_free_energy_minus_log_z():
    model, g = tiny_rbm(12, 8, 1.0, 5)
    test_v = torch.bernoulli(torch.full((30, 12), 0.4), generator=g)
    out = ais_log_likelihood(model, torch.zeros(12), test_v, runs=100, generator=g)
    exact = float((-model.free_energy(test_v)).mean()) - exact_log_z(model)
    assert out["ais_log_likelihood"] == pytest.approx(exact, abs=0.05)
    # the base-rate model with b_A = 0 gives every 12-bit vector probability 2^-12
    assert out["base_rate_log_likelihood"] == pytest.approx(-12 * math.log(2), abs=1e-5)
