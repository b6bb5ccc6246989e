import itertools
import math

import numpy as np
import pytest
import torch

from engines.boltzmann.frames import ChainHistory, ChainState
from engines.core.frames import ImageGrid
from tests.engines.exact import exact_rbm_log_z


def test_free_energy_is_minus_log_of_the_sum_over_hidden_states(small_rbm):
    model = small_rbm().model
    v = torch.bernoulli(torch.full((3, model.W.shape[0]), 0.3))
    small = type(model)(v.shape[1], 4, torch.Generator().manual_seed(0), "cpu")
    small.W.copy_(torch.randn(v.shape[1], 4))
    small.c.copy_(torch.randn(4))
    small.b.copy_(torch.randn(v.shape[1]))
    for row in v:
        total = sum(math.exp(float(row @ small.W @ torch.tensor(h) + small.b @ row + small.c @ torch.tensor(h)))
                    for h in itertools.product([0.0, 1.0], repeat=4))
        assert float(small.free_energy(row[None]))== pytest.approx(-math.log(total), rel=1e-5)


def exact_test_log_likelihood(engine):
    return float(-engine.model.free_energy(engine.test_v).mean()) - exact_rbm_log_z(engine.model)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_training_raises_the_exact_test_log_likelihood(small_rbm, method):
    """A 64x12 RBM on the 8x8 digits: log Z by enumerating the 4,096 hidden states."""
    engine = small_rbm(method=method, hidden=12, lr=0.1)
    before = exact_test_log_likelihood(engine)
    for _ in range(800):
        engine.train_step()
    after = exact_test_log_likelihood(engine)
    base = float((engine.test_v @ engine.b_base).mean() - torch.nn.functional.softplus(engine.b_base).sum())
    assert before == pytest.approx(base, abs=0.5)   # W starts near 0: close to the base-rate model
    assert after > base + 2
    assert engine.monitor()["recon_error"] < 0.85 * float(((engine.test_v - engine.test_v.mean(0)) ** 2).sum(1).mean())


def test_frames_are_plain_numpy_copies_of_the_right_shapes(small_rbm):
    engine = small_rbm(gibbs_per_frame=5, history_every=10)
    engine.train_step()
    frames = {f.name: f for f in engine.frames()}
    assert set(frames) == {"chains", "filters", "reconstructions"}
    chains = frames["chains"]
    assert isinstance(chains, ChainState) and chains.probs.shape == (16, 8, 8)
    assert chains.probs.dtype == np.float32 and set(np.unique(chains.samples)) <= {0, 1}
    assert (chains.gibbs_steps == 5).all()
    assert isinstance(frames["filters"], ImageGrid) and frames["filters"].images.shape == (32, 8, 8)
    assert 0 <= frames["filters"].images.min() and frames["filters"].images.max() <= 1
    assert frames["reconstructions"].images.shape == (32, 8, 8)
    chains.probs[:] = -1  # a copy: the engine's tensors are untouched
    assert float(engine.chain_probs.min()) >= 0
    history = [f for f in engine.frames() if f.name == "chain_history"][0]
    assert isinstance(history, ChainHistory) and history.rows.shape == (1, 16, 8, 8)
    assert list(history.row_steps) == [10] and history.every == 10


def test_restart_chain_puts_a_test_digit_back(small_rbm):
    engine = small_rbm()
    engine.frames()
    engine.restart_chain(2, test_index=7)
    assert torch.equal(engine.chain_v[2], engine.test_v[7])
    assert engine.shown.steps[2] == 0 and engine.shown.steps[3] == engine.config.gibbs_per_frame


def test_live_fields_change_and_fixed_fields_do_not(small_rbm):
    engine = small_rbm()
    engine.set_live("lr", "0.2")
    assert engine.config.lr == 0.2
    with pytest.raises(ValueError, match="cannot change during a run"):
        engine.set_live("hidden", 10)


def test_ais_agrees_with_exact_log_z_on_a_trained_rbm(small_rbm):
    engine = small_rbm(hidden=12, lr=0.1, ais_runs=100)
    for _ in range(600):
        engine.train_step()
    out = engine.evaluate()
    assert out["log_z"] == pytest.approx(exact_rbm_log_z(engine.model), abs=0.05)
    assert out["ais_log_likelihood"] == pytest.approx(exact_test_log_likelihood(engine), abs=0.05)
    assert out["ais_log_likelihood"] > out["base_rate_log_likelihood"]
