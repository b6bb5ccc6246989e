"""Deep Boltzmann machine: AIS and the variational bound against enumeration, mean-field, the
pretraining composition, the engine's phases, frames and bad input."""
import itertools

import numpy as np
import pytest
import torch

from engines.boltzmann.ais import DBMPath, ais_log_z, default_betas, reverse_log_z
from engines.boltzmann.dbm_model import DBM, compose_biases, pretrain_scales, rbm_down, rbm_up
from engines.boltzmann.frames import ChainHistory, LayerChains
from engines.core.config import ConfigError
from engines.core.frames import ImageGrid, decode, encode
from engines.registry import build_engine
from tests.engines.exact import dbm_hidden_log_weights, exact_dbm_log_p, exact_dbm_log_z


def random_dbm(n_visible, layers, gaussian, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    dbm = DBM(n_visible, layers, gaussian, g, "cpu")
    with torch.no_grad():
        for w in dbm.W:
            w.copy_(scale * torch.randn(w.shape, generator=g))
        dbm.b.copy_(torch.randn(n_visible, generator=g))
        for c in dbm.c:
            c.copy_(torch.randn(c.shape, generator=g))
    return dbm


def random_visible(dbm, count, seed=1):
    g = torch.Generator().manual_seed(seed)
    n = dbm.sizes[0]
    return torch.randn(count, n, generator=g) if dbm.gaussian else (torch.rand(count, n, generator=g) < 0.5).float()


def exact_samples(dbm, count, g):
    """Joint states [v, h¹, …] drawn exactly: a hidden state from the enumerated marginal, then
    v given h¹."""
    log_w, hs = dbm_hidden_log_weights(dbm)
    pick = torch.multinomial(torch.softmax(log_w, 0).float(), count, replacement=True, generator=g)
    hidden = [h[pick].float() for h in hs]
    return [dbm.sample_visible(dbm.visible_mean(hidden[0]), g), *hidden]


@pytest.mark.parametrize("gaussian,layers,scale,hidden_base", [
    (False, (4, 3), 1.0, False), (False, (3, 3, 2), 1.0, False), (True, (4, 3), 0.5, False),
    (False, (4, 3), 1.0, True), (False, (3, 3, 2), 1.0, True), (True, (4, 3), 0.5, True)])
def test_ais_log_z_in_both_directions_matches_enumeration(gaussian, layers, scale, hidden_base):
    """From a base model with hidden biases 0 and with random ones (every layer's, summed-out
    and sampled alike)."""
    dbm = random_dbm(6, layers, gaussian, scale=scale)
    exact, g = exact_dbm_log_z(dbm), torch.Generator().manual_seed(2)
    c_base = [torch.randn(n, generator=g) for n in layers] if hidden_base else None
    path = DBMPath(dbm, torch.zeros(6), c_base)
    forward = ais_log_z(path, runs=100, betas=default_betas(2000), generator=g)
    assert forward["log_z"] == pytest.approx(exact, abs=max(0.05, 4 * forward["log_z_std"]))
    assert forward["log_z_lower"] < forward["log_z"] < forward["log_z_upper"]
    reverse = reverse_log_z(path, path.state(exact_samples(dbm, 100, g)), default_betas(2000), g)
    assert reverse["log_z"] == pytest.approx(exact, abs=max(0.05, 4 * reverse["log_z_std"]))


def test_short_schedules_bracket_the_dbm_log_z():
    dbm = random_dbm(6, (4, 3), False, scale=2.0)
    exact, g = exact_dbm_log_z(dbm), torch.Generator().manual_seed(4)
    path, short = DBMPath(dbm, torch.zeros(6)), default_betas(10)
    assert ais_log_z(path, 200, short, g)["log_z"] < exact - 0.05
    assert reverse_log_z(path, path.state(exact_samples(dbm, 200, g)), short, g)["log_z"] > exact + 0.3


@pytest.mark.parametrize("gaussian", [False, True])
def test_variational_bound_is_the_enumerated_sum_and_below_log_p(gaussian):
    """``Σ_h q(h) log p*(v,h) + H(q)`` summed over all 2^7 hidden states equals the closed form,
    and with the exact log Z the bound is below the exact log p(v)."""
    dbm = random_dbm(5, (4, 3), gaussian, scale=0.7)
    v = random_visible(dbm, 4)
    mus, _ = dbm.mean_field(v, 100, tol=1e-7)
    closed = dbm.variational_free_energy(v, mus).double()
    for row, (vi, *mu) in enumerate(zip(v, *mus)):
        total = 0.0
        for bits in itertools.product([0.0, 1.0], repeat=7):
            h1, h2 = torch.tensor(bits[:4]), torch.tensor(bits[4:])
            q = float(torch.prod(torch.where(h1 > 0, mu[0], 1 - mu[0])) * torch.prod(torch.where(h2 > 0, mu[1], 1 - mu[1])))
            log_p_star = float(dbm.neg_energy([vi[None], h1[None], h2[None]]))
            total += q * (log_p_star - np.log(max(q, 1e-300)))
        assert float(closed[row]) == pytest.approx(total, abs=1e-4)
    bound = closed - exact_dbm_log_z(dbm)
    exact = exact_dbm_log_p(dbm, v)
    assert torch.all(bound <= exact + 1e-6)
    assert float((exact - bound).max()) < 1.0   # mean-field is close on a tiny model


def test_mean_field_reaches_a_fixed_point():
    dbm = random_dbm(20, (12, 8, 6), gaussian=False, scale=0.5)
    v = random_visible(dbm, 10)
    mus, sweeps = dbm.mean_field(v, 500, tol=1e-7)
    assert sweeps < 500
    for layer in range(1, 4):      # one more update moves nothing
        above = mus[layer] if layer < 3 else None
        below = v if layer == 1 else mus[layer - 2]
        again = torch.sigmoid(dbm.hidden_input(layer, below, above))
        assert torch.allclose(again, mus[layer - 1], atol=1e-6)


@pytest.mark.parametrize("layers", [(5, 4), (5, 4, 3)])
def test_pretraining_doubling_composes_to_the_dbm(layers):
    """Each DBM conditional is the logit average of the two pretraining RBMs' doubled ones."""
    depth = len(layers)
    assert pretrain_scales(0, depth) == (2.0, 1.0) and pretrain_scales(depth - 1, depth) == (1.0, 2.0)
    if depth == 3:
        assert pretrain_scales(1, 3) == (2.0, 2.0)
    dbm = random_dbm(6, layers, gaussian=False, scale=0.3)
    g = torch.Generator().manual_seed(5)
    sizes = dbm.sizes
    up = [0.3 * torch.randn(n, generator=g) for n in sizes[1:]]
    down = [0.3 * torch.randn(n, generator=g) for n in sizes[:-1]]
    compose_biases(dbm, up, down)
    x = [(torch.rand(3, n, generator=g) < 0.5).float() for n in sizes]
    logit = torch.logit
    for layer in range(1, depth + 1):
        above = x[layer + 1] if layer < depth else None
        dbm_probs = torch.sigmoid(dbm.hidden_input(layer, x[layer - 1], above))
        from_below = logit(rbm_up(dbm, layer - 1, x[layer - 1], up[layer - 1]))
        if layer < depth:
            from_above = logit(rbm_down(dbm, layer, x[layer + 1], down[layer]))
            expected = torch.sigmoid((from_below + from_above) / 2)
        else:
            expected = torch.sigmoid(from_below)
        assert torch.allclose(dbm_probs, expected, atol=1e-5)
    assert torch.allclose(dbm.visible_mean(x[1]), rbm_down(dbm, 0, x[1], down[0]), atol=1e-6)


def small(seed=0, data="digits", **overrides):
    return build_engine("dbm", data, "cpu", seed, {"layers": (8, 6), "batch_size": 50, "particles": 50,
                                                     "chains": 6, "ais_runs": 50, "ais_temperatures": 1000,
                                                     "pretrain_steps": 100, **overrides})


def test_training_raises_the_bound_and_evaluate_matches_enumeration():
    engine = small(layers=(10, 8), pretrain_lr=0.1, lr=0.05, momentum=0.9)
    phases = [engine.train_step()["phase"] for _ in range(400)]
    assert phases[0] == 1 and phases[150] == 2 and phases[-1] == 3
    result = engine.evaluate()
    exact = exact_dbm_log_z(engine.model)
    assert result["log_z"] == pytest.approx(exact, abs=max(0.1, 4 * result["log_z_std"]))
    assert result["log_z_reverse"] == pytest.approx(exact, abs=max(0.1, 4 * result["log_z_reverse_std"]))
    assert result["ais_converged"] is True and result["ais_temperatures"] == 1000
    bound = float(engine.model.variational_free_energy(*_test_images_and_means(engine)).double().mean()) - exact
    assert result["log_likelihood_conservative"] <= result["log_likelihood_optimistic"] + 0.2
    assert result["log_likelihood_conservative"] == pytest.approx(bound, abs=0.2)
    assert result["log_likelihood_optimistic"] == result["log_likelihood_lower_bound"] == pytest.approx(bound, abs=0.2)
    assert result["log_likelihood_lower_bound"] > result["base_rate_log_likelihood"] + 2
    v = engine.test_v[:20]
    mus, _ = engine.model.mean_field(v, 200, tol=1e-6)
    assert torch.all(engine.model.variational_free_energy(v, mus) - exact <= exact_dbm_log_p(engine.model, v) + 1e-4)


def _test_images_and_means(engine):
    count = min(engine.config.eval_images, len(engine.test_v))
    v = engine.test_v[torch.linspace(0, len(engine.test_v) - 1, count).long()]
    return v, engine.model.mean_field(v, 200, tol=1e-5)[0]


def test_frames_never_change_training_and_have_every_layer():
    a, b = small(seed=3, pretrain_steps=5), small(seed=3, pretrain_steps=5, history_every=2)
    for i in range(15):
        a.train_step()
        b.train_step()
        if i % 4 == 0:
            b.frames()
            b.monitor()
    assert all(torch.equal(x, y) for x, y in zip(a.model.W, b.model.W))
    frames = {f.name: f for f in b.frames()}
    assert set(frames) == {"chains", "chain_history", "samples", "fill_in", "filters", "filters2", "reconstructions"}
    chains = frames["chains"]
    assert isinstance(chains, LayerChains) and chains.visible.shape == (6, 8, 8)
    assert chains.hidden.shape == (6, 14) and list(chains.layer_sizes) == [8, 6]
    assert chains.phase == "joint training" and chains.still().ndim == 2
    assert chains.cards().shape == (6, 8, 8 + 1 + 3 + 1 + 3)
    back = decode(*encode(chains))
    assert np.array_equal(back.hidden, chains.hidden) and back.phase == chains.phase
    assert isinstance(frames["chain_history"], ChainHistory)
    assert frames["reconstructions"].images.shape == (3 * 12, 8, 8)   # test row + one per layer
    assert frames["fill_in"].images.shape == (7 * 8, 8, 8)
    assert all(isinstance(frames[n], ImageGrid) for n in ("samples", "filters", "filters2"))
    assert frames["filters"].images.shape == (8, 8, 8)


def test_a_display_copy_keeps_its_chains_when_a_state_loads():
    """The shown chains are the display copy's own (the contract checks the rest of the round trip)."""
    a = small(pretrain_steps=5)
    for _ in range(12):
        a.train_step()
    display = small(pretrain_steps=5)
    display.frames()
    chains_before = [s.clone() for s in display.chain_states]
    display.load_state_dict(a.state_dict())
    assert display.step == 12
    assert all(torch.equal(x, y) for x, y in zip(chains_before, display.chain_states))


def test_restart_chain_and_its_bad_input():
    engine = small()
    assert engine.restart_chain(2, 7) == 7
    assert torch.equal(engine.chain_states[0][2], engine.test_v[7]) and engine.shown.steps[2] == 0
    with pytest.raises(ValueError, match="chain index"):
        engine.restart_chain(99)


@pytest.mark.parametrize("value,message", [("0", "each of layers"), ("abc", "comma-separated"),
                                           ("500", "2 or 3"), ("10,10,10,10", "2 or 3")])
def test_bad_layer_specs_get_a_clear_message(value, message):
    with pytest.raises(ConfigError, match=message):
        build_engine("dbm", "digits", "cpu", 0, {"layers": value})


def test_bad_layer_spec_on_the_command_line(tmp_path, capsys):
    from engines.cli import main
    assert main(["train", "dbm", "--data", "digits", "--set", "layers=abc", "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "layers" in err[0]


def test_gaussian_units_on_the_toys():
    engine = small(data="toys3d:16", layers=(16, 8), pretrain_steps=3, eval_images=50)
    assert engine.gaussian and abs(float(engine.batches.images.mean())) < 1e-3
    for _ in range(10):
        engine.train_step()
    result = engine.evaluate()
    assert np.isfinite(result["log_likelihood_lower_bound"]) and np.isfinite(result["log_likelihood_lower_bound_pixels"])
    samples = {f.name: f for f in engine.frames()}["samples"].images
    assert samples.shape == (4 * 9, 16, 16) and 0 <= samples.min() and samples.max() <= 1
