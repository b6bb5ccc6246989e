"""AIS in both directions checked against the exact partition function of tiny RBMs: forward AIS
is a stochastic lower bound on log Z, reverse AIS from exact samples an upper one, and both meet
the exact value as the schedule grows."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engines.boltzmann.ais import (RBMPath, ais_log_likelihood, ais_log_z, base_rate_images, bounded_log_z,
                                   default_betas, hidden_base_rates, interval_text, log_f, reverse_log_z)
from engines.boltzmann.rbm_model import RBM
from tests.engines.exact import binary_codes, exact_rbm_log_z


def tiny_rbm(n_visible, n_hidden, scale, seed):
    g = torch.Generator().manual_seed(seed)
    model = RBM(n_visible, n_hidden, g, "cpu")
    model.W.copy_(scale * torch.randn(n_visible, n_hidden, generator=g))
    model.b.copy_(torch.randn(n_visible, generator=g))
    model.c.copy_(torch.randn(n_hidden, generator=g))
    return model, g


def exact_samples(model, count, g):
    """Visible vectors drawn exactly from p(v) ∝ exp(−F(v)) by enumerating every v."""
    v = binary_codes(model.W.shape[0], "cpu").float()
    p = torch.softmax(-model.free_energy(v).double(), 0)
    return v[torch.multinomial(p.float(), count, replacement=True, generator=g)]


def test_exact_log_z_matches_the_sum_over_every_joint_state():
    model, _ = tiny_rbm(4, 3, 1.0, 0)
    total = 0.0
    for v in itertools.product([0.0, 1.0], repeat=4):
        for h in itertools.product([0.0, 1.0], repeat=3):
            v_t, h_t = torch.tensor(v), torch.tensor(h)
            energy = -(v_t @ model.W @ h_t) - model.b @ v_t - model.c @ h_t
            total += math.exp(-float(energy))
    assert exact_rbm_log_z(model) == pytest.approx(math.log(total), abs=1e-5)


def test_schedule_has_the_reference_temperatures():
    betas = default_betas()
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 14_501
    steps = sorted(set(round(float(d), 7) for d in (betas[1:] - betas[:-1])))
    assert steps == [1e-5, 1e-4, 1e-3]


def test_the_path_ends_at_the_base_rate_model_and_at_minus_the_free_energy():
    model, g = tiny_rbm(12, 8, 1.0, 6)
    b_base = 0.5 * torch.randn(12, generator=g)
    v = torch.bernoulli(torch.full((5, 12), 0.5), generator=g)
    x = RBMPath(model, b_base, dtype=torch.float64).state(v)
    assert x.base.dtype == torch.float64 and x.layers[0] is v
    assert torch.allclose(log_f(1.0, x), -model.free_energy(v).double(), atol=1e-5)
    assert torch.allclose(log_f(0.0, x), (v @ b_base).double() + 8 * math.log(2), atol=1e-5)
    c_base = torch.randn(8, generator=g)
    x = RBMPath(model, b_base, c_base, dtype=torch.float64).state(v)
    assert torch.allclose(log_f(1.0, x), -model.free_energy(v).double(), atol=1e-5)
    assert torch.allclose(log_f(0.0, x), (v @ b_base).double() + F.softplus(c_base).sum().double(), atol=1e-5)


def test_hidden_base_rates_are_the_logits_of_mean_activity():
    means = torch.tensor([[0.1, 0.9], [0.3, 0.7]])
    (c_base,) = hidden_base_rates([means], pseudo_count=0.0)
    assert torch.allclose(torch.sigmoid(c_base), torch.tensor([0.2, 0.8]), atol=1e-6)
    images = base_rate_images(np.full((50, 2, 2), 0.5), True, seed=3, device="cpu", count=20)
    assert images.shape == (20, 4) and set(images.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(images, base_rate_images(np.full((50, 2, 2), 0.5), True, seed=3, device="cpu", count=20))


@pytest.mark.parametrize("seed", [3, 8])
def test_both_directions_match_exact_log_z_from_a_base_with_hidden_biases(seed):
    model, g = tiny_rbm(12, 8, 1.5, seed)
    path, exact = RBMPath(model, 0.5 * torch.randn(12, generator=g), torch.randn(8, generator=g)), exact_rbm_log_z(model)
    assert ais_log_z(path, 100, default_betas(3000), g)["log_z"] == pytest.approx(exact, abs=0.1)
    start = path.state(exact_samples(model, 100, g))
    assert reverse_log_z(path, start, default_betas(3000), g)["log_z"] == pytest.approx(exact, abs=0.1)


@pytest.mark.parametrize("scale, seed", [(0.5, 1), (1.0, 2), (2.0, 3)])
def test_ais_agrees_with_exact_log_z_of_a_12x8_rbm(scale, seed):
    model, g = tiny_rbm(12, 8, scale, seed)
    b_base = 0.5 * torch.randn(12, generator=g)
    estimate = ais_log_z(RBMPath(model, b_base), runs=100, generator=g)
    assert abs(estimate["log_z"] - exact_rbm_log_z(model)) < 0.05
    assert estimate["log_z_lower"] <= estimate["log_z"] <= estimate["log_z_upper"]


@pytest.mark.parametrize("seed", [3, 7])
def test_short_schedules_put_forward_below_and_reverse_above_the_exact_log_z(seed):
    """With 20 temperatures on a strongly coupled RBM the two directions err to opposite sides by
    a clear margin; with 3,000 both are within 0.1 nat."""
    model, g = tiny_rbm(12, 8, 2.0, seed)
    path, exact = RBMPath(model, torch.zeros(12)), exact_rbm_log_z(model)
    start = path.state(exact_samples(model, 200, g))
    short = default_betas(20)
    assert ais_log_z(path, 200, short, g)["log_z"] < exact - 0.05
    assert reverse_log_z(path, start, short, g)["log_z"] > exact + 0.3
    long = default_betas(3000)
    assert ais_log_z(path, 200, long, g)["log_z"] == pytest.approx(exact, abs=0.1)
    assert reverse_log_z(path, start, long, g)["log_z"] == pytest.approx(exact, abs=0.1)


def test_ais_is_exact_when_the_model_is_the_base_rate_model():
    model, g = tiny_rbm(10, 5, 0.0, 4)
    model.c.zero_()
    path = RBMPath(model, model.b.clone())
    betas = torch.linspace(0, 1, 50).numpy()
    estimate = ais_log_z(path, runs=10, betas=betas, generator=g)
    assert estimate["log_z"] == pytest.approx(exact_rbm_log_z(model), abs=1e-4)
    assert estimate["log_z_std"] == pytest.approx(0.0, abs=1e-6)
    start = path.state(torch.bernoulli(torch.full((10, 10), 0.5), generator=g))
    assert reverse_log_z(path, start, betas, g)["log_z"] == pytest.approx(exact_rbm_log_z(model), abs=1e-4)


def test_the_schedule_doubles_until_the_directions_meet_or_the_cap():
    model, g = tiny_rbm(12, 8, 2.0, 3)
    path = RBMPath(model, torch.zeros(12))
    start = path.state(exact_samples(model, 100, g))
    capped = bounded_log_z(path, start, 100, 10, 40, tolerance=1e-6, generator=g)
    assert [row[0] for row in capped.schedule] == [10, 20, 40] and not capped.converged
    assert capped.temperatures == 40 and capped.gap > 1e-6
    met = bounded_log_z(path, start, 100, 10, 100_000, tolerance=0.5, generator=g)
    assert met.converged and met.gap <= 0.5 and met.temperatures == met.schedule[-1][0] > 10
    assert met.forward_moved == abs(met.schedule[-1][1] - met.schedule[-2][1])
    fields = met.fields()
    assert fields["ais_converged"] is True and fields["log_z_reverse"] - fields["log_z"] == met.gap


def test_log_likelihood_lies_between_its_two_ends():
    """From test images (not model samples) the reverse end is conservative here too: a short
    schedule brackets the exact test log-likelihood and says it did not converge; the default one
    converges onto it."""
    model, g = tiny_rbm(12, 8, 1.5, 5)
    test_v = torch.bernoulli(torch.full((60, 12), 0.4), generator=g)
    exact = float((-model.free_energy(test_v)).mean()) - exact_rbm_log_z(model)
    short = ais_log_likelihood(model, torch.zeros(12), test_v, runs=60, temperatures=12, max_temperatures=12,
                               tolerance=0.01, generator=g)
    assert short["ais_converged"] is False and short["ais_temperatures"] == 12
    assert short["log_likelihood_conservative"] < exact < short["log_likelihood_optimistic"]
    out = ais_log_likelihood(model, torch.zeros(12), test_v, runs=100, generator=g)
    assert out["ais_converged"] is True and out["ais_temperatures"] == 14_500
    assert out["log_likelihood_optimistic"] == out["ais_log_likelihood"] == pytest.approx(exact, abs=0.05)
    assert out["log_likelihood_conservative"] == pytest.approx(exact, abs=0.05)
    # the base-rate model with b_A = 0 gives every 12-bit vector probability 2^-12
    assert out["base_rate_log_likelihood"] == pytest.approx(-12 * math.log(2), abs=1e-5)


def test_ends_that_cross_within_the_tolerance_have_converged_and_say_so():
    """From test images the reverse end may fall below the forward one: the two must agree
    within the tolerance on either side, and the line for a person says they crossed."""
    model, g = tiny_rbm(12, 8, 2.0, 3)
    path = RBMPath(model, torch.zeros(12))
    start = path.state(torch.bernoulli(torch.full((100, 12), 0.3), generator=g))
    z = bounded_log_z(path, start, 100, 10, 100_000, tolerance=0.5, generator=g)
    assert z.converged and abs(z.gap) <= 0.5
    metrics = {"log_likelihood_conservative": -10.2, "log_likelihood_optimistic": -10.9, "ais_gap": -0.7,
               "ais_converged": True, "ais_temperatures": 14_500}
    assert interval_text(metrics) == ("log-likelihood in [-10.90, -10.20] nats (AIS converged: the ends are "
                                      "0.70 nats apart, crossed at 14,500 temperatures)")
