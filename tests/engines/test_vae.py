"""The VAE family: the bounds' maths, training, pictures, display calls, evaluation, bad input."""
import math

import numpy as np
import pytest
import torch

from engines.core.config import ConfigError
from engines.core.frames import ImageGrid, decode, encode
from engines.data.base import DataError
from engines.registry import build_engine
from engines.vae.frames import Drawing, LatentGrid, LatentScatter, LatentStats
from engines.vae.model import (VAE, Bernoulli, ContinuousBernoulli, DenseDecoder, DenseEncoder, Gaussian,
                               gaussian_kl, importance_bounds, reparameterize, standard_normal_ppf)

TINY = {"hidden": (32,), "batch_size": 32, "iwae_k": 8, "grid_size": 4}


@pytest.fixture(autouse=True)
def one_thread():
    """These models are tiny: one thread runs them faster than two, and does not suffer when the
    machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small_vae():
    """A dense VAE on the 8x8 digits: 64-32-L, fast enough for a few hundred steps in a test."""
    def make(seed=0, **overrides):
        return build_engine("vae", "digits", "cpu", seed, {**TINY, **overrides})
    return make


def train(engine, steps):
    return [engine.train_step() for _ in range(steps)]


# ---------------------------------------------------------------------------------- maths
def test_analytic_kl_equals_a_monte_carlo_estimate():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 4, generator=g)
    logvar = torch.randn(3, 4, generator=g)
    eps = torch.randn(400_000, 3, 4, generator=g, dtype=torch.float64)
    z = reparameterize(mu.double(), logvar.double(), eps)
    # log q(z|x) − log p(z) per dimension, averaged over samples of q
    log_q = -0.5 * (eps.square() + math.log(2 * math.pi)) - 0.5 * logvar.double()
    log_p = -0.5 * (z.square() + math.log(2 * math.pi))
    monte_carlo = (log_q - log_p).mean(0)
    np.testing.assert_allclose(gaussian_kl(mu, logvar).double(), monte_carlo, atol=0.03)
    assert torch.allclose(gaussian_kl(torch.zeros(2), torch.zeros(2)), torch.zeros(2))


def test_reparameterization_uses_the_standard_deviation():
    eps = torch.randn(200_000, 1, generator=torch.Generator().manual_seed(1))
    z = reparameterize(torch.tensor([2.0]), torch.tensor([math.log(9.0)]), eps)   # σ² = 9: σ = 3
    assert float(z.mean()) == pytest.approx(2.0, abs=0.03)
    assert float(z.std()) == pytest.approx(3.0, abs=0.03)


def test_inverse_normal_cdf():
    p = torch.tensor([0.05, 0.5, 0.975])
    np.testing.assert_allclose(standard_normal_ppf(p), [-1.6448536, 0.0, 1.959964], atol=1e-5)


def test_likelihoods_are_normalised_densities():
    """Bernoulli sums to 1 over {0,1}; the continuous Bernoulli and the Gaussian integrate to 1
    over [0,1] / the real line (one pixel, trapezoid rule), and the CB mean is its first moment."""
    logits = torch.tensor([[-3.0], [-0.004], [0.0], [0.7], [5.0]])
    bern = Bernoulli()
    total = bern.log_prob(logits, torch.zeros_like(logits)).exp() + bern.log_prob(logits, torch.ones_like(logits)).exp()
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    cb = ContinuousBernoulli()
    x = torch.linspace(0, 1, 20001, dtype=torch.float64)
    for ell in logits[:, 0].double():
        density = cb.log_prob(ell.expand(len(x), 1), x[:, None]).exp()
        assert float(torch.trapezoid(density, x)) == pytest.approx(1.0, abs=1e-4)
        mean = float(torch.trapezoid(density * x, x))
        assert float(cb.mean(ell.view(1))) == pytest.approx(mean, abs=1e-4)
    gauss = Gaussian(1, sigma=0.2, learned=False).double()
    y = torch.linspace(-2, 3, 20001, dtype=torch.float64)
    density = gauss.log_prob(torch.zeros(len(y), 1, dtype=torch.float64), y[:, None]).exp()
    assert float(torch.trapezoid(density, y)) == pytest.approx(1.0, abs=1e-5)


def tiny_model(seed=0, latent=3):
    torch.manual_seed(seed)
    return VAE(DenseEncoder(6, (8,), latent, "tanh"), DenseDecoder(latent, (8,), 6, "tanh"), Bernoulli(), latent)


def test_log_weights_average_to_the_analytic_kl_elbo():
    """One importance sample is the one-sample ELBO; averaged over q, ``log w`` is
    ``E_q[log p(x|z)] − KL`` with the KL in closed form."""
    model = tiny_model()
    x = torch.bernoulli(torch.full((5, 6), 0.4), generator=torch.Generator().manual_seed(0))
    iwae, elbo = importance_bounds(model, x, 1, torch.Generator().manual_seed(3), max_rows=100)
    torch.testing.assert_close(iwae, elbo)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn((20000, 5, 3), generator=torch.Generator().manual_seed(5))
        logw = model.log_weights(x, mu, logvar, eps)
        z = reparameterize(mu, logvar, eps).view(-1, 3)
        log_px = model.likelihood.log_prob(model.decode(z), x.repeat(20000, 1)).view(20000, 5)
    analytic = log_px.mean(0) - gaussian_kl(mu, logvar).sum(1)
    torch.testing.assert_close(logw.mean(0), analytic, atol=0.05, rtol=0)


def test_importance_bound_reaches_log_p_x_computed_by_quadrature_in_bounded_memory():
    """With a 1-D latent, ``log p(x) = log ∫ p(x|z) N(z; 0, 1) dz`` by quadrature; the IWAE bound
    with many samples comes within a few hundredths of a nat (the ELBO lies lower), whether it is
    computed in one decoder call or in chunks of at most ``max_rows`` rows."""
    model = tiny_model(seed=1, latent=1)
    x = torch.bernoulli(torch.full((4, 6), 0.5), generator=torch.Generator().manual_seed(0))
    rows = []
    model.decoder.register_forward_hook(lambda m, args, out: rows.append(args[0].shape[0]))
    with torch.no_grad():
        z = torch.linspace(-9, 9, 20001)
        log_px_z = torch.stack([model.likelihood.log_prob(model.decode(z[:, None]), row.expand(len(z), 6))
                                for row in x])
        log_prior = -0.5 * (z.square() + math.log(2 * math.pi))
        exact = torch.logsumexp(log_px_z + log_prior, 1) + math.log(float(z[1] - z[0]))
        for max_rows in (100_000, 2048):
            rows.clear()
            iwae, elbo = importance_bounds(model, x, 20_000, torch.Generator().manual_seed(1), max_rows)
            assert max(rows) <= max_rows and sum(rows) == 4 * 20_000
            assert torch.all(elbo < iwae - 1e-3)
            torch.testing.assert_close(iwae, exact, atol=0.02, rtol=0)
    assert len(rows) == 40                    # chunked: 20,000 samples of 4 images, 512 at a time


def test_iwae_bound_tightens_as_k_grows(small_vae):
    engine = small_vae(latent_dim=4, hidden=(64,), lr=3e-3, seed=1)
    train(engine, 300)
    with torch.no_grad():
        bounds = [float(importance_bounds(engine.model, engine.test_x, k, torch.Generator().manual_seed(0),
                                          4096)[0].mean()) for k in (1, 5, 50, 500)]
    assert bounds == sorted(bounds)
    assert bounds[-1] - bounds[0] > 0.2


# ---------------------------------------------------------------------------------- training
def test_loss_falls_over_50_steps():
    engine = build_engine("vae", "mnist", "cpu", 2, {"hidden": (128,), "batch_size": 64})
    scalars = train(engine, 50)
    assert set(scalars[0]) == {"elbo", "recon", "kl"}
    first = np.mean([s["elbo"] for s in scalars[:5]])
    last = np.mean([s["elbo"] for s in scalars[-5:]])
    assert last > first + 10
    s = scalars[-1]
    assert s["elbo"] == pytest.approx(s["recon"] - s["kl"], abs=1e-3) and s["kl"] >= 0


def test_conv_vae_trains_on_grey_and_colour_images(tmp_path):
    engine = build_engine("conv-vae", "digits", "cpu", 0, {**TINY, "channels": 4, "hidden": (16,), "latent_dim": 3})
    assert engine.shape == (1, 28, 28) and engine.binary   # digits resized to image_size, Bernoulli
    scalars = train(engine, 40)
    assert np.mean([s["elbo"] for s in scalars[-5:]]) > np.mean([s["elbo"] for s in scalars[:5]])
    folder = colour_folder(tmp_path)
    for likelihood in ("auto", "gaussian-learned", "continuous-bernoulli"):
        colour = build_engine("conv-vae", f"folder:{folder}", "cpu", 0,
                              {**TINY, "channels": 4, "hidden": (16,), "grey": False, "image_size": 32, "batch_size": 8,
                               "likelihood": likelihood})
        assert colour.shape == (3, 32, 32) and not colour.binary
        train(colour, 3)
        frames = {f.name: f for f in colour.frames()}
        assert frames["samples"].images.shape == (64, 32, 32, 3)
        assert frames["latent_scatter"].still().shape[-1] == 3
        metrics = colour.evaluate()
        assert math.isfinite(metrics["elbo"]) and metrics["iwae_nll"] <= -metrics["elbo"]


def test_kl_warmup_weights_the_kl_term_only(small_vae):
    engine = small_vae(warmup=100)
    assert engine.kl_weight() == pytest.approx(0.01)
    train(engine, 49)
    assert engine.kl_weight() == pytest.approx(0.5)
    engine.set_live("warmup", 0)
    assert engine.kl_weight() == 1.0


def test_a_display_copy_keeps_its_probe_and_drawing_when_a_state_loads(small_vae):
    """The probe and the drawing are the display copy's own (the contract checks the rest of the
    round trip)."""
    a = small_vae(seed=4)
    train(a, 3)
    b = small_vae(seed=4)
    b.set_probe(1.5, -0.5)
    b.encode_drawing(np.ones((28, 28)))
    b.load_state_dict(a.state_dict())
    assert b.step == 3 and tuple(b.probe) == (1.5, -0.5) and b.drawing.min() == 1


# ---------------------------------------------------------------------------------- frames
def test_frames_have_the_declared_names_kinds_and_shapes(small_vae):
    engine = small_vae(latent_dim=5)
    train(engine, 20)
    frames = {f.name: f for f in engine.frames()}
    declared = {name for view in engine.views for name in view.frames}
    assert set(frames) == declared
    grid = frames["latent_grid"]
    assert isinstance(grid, LatentGrid) and grid.images.shape == (16, 8, 8) and grid.plane == "PC1 × PC2"
    assert np.all(np.diff(grid.xs) > 0) and np.all(np.diff(grid.ys) < 0)       # rows top to bottom
    scatter = frames["latent_scatter"]
    assert isinstance(scatter, LatentScatter) and scatter.points.shape == (len(engine.test_x), 2)
    assert scatter.labels.shape == (len(engine.test_x),) and scatter.probe_image.shape == (8, 8)
    assert isinstance(frames["draw"], Drawing) and frames["draw"].mu.shape == (5,)
    assert frames["traversals"].images.shape == (5 * 11, 8, 8)
    assert frames["morph"].images.shape == (12, 8, 8)
    assert isinstance(frames["latent_stats"], LatentStats) and frames["latent_stats"].kl.shape == (5,)
    assert frames["reconstructions"].images.shape == (32, 8, 8) and frames["samples"].images.shape == (64, 8, 8)
    for frame in frames.values():
        still = frame.still()
        assert still.ndim in (2, 3) and 0 <= still.min() and still.max() <= 1
        again = decode(*encode(frame))               # survives the run store
        assert type(again) is type(frame) and again.still().shape == still.shape
    assert set(f.name for f in engine.frames({"samples"})) == {"samples"}


def test_two_dimensional_latent_grid_is_the_quantile_manifold_decoded_in_one_batch(small_vae):
    engine = small_vae(latent_dim=2, grid_size=7)
    train(engine, 5)
    calls = []
    engine.model.decoder.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    grid = engine.frames({"latent_grid"})[0]
    assert calls == [49]                       # one decoder call for the 7x7 grid
    q = standard_normal_ppf(torch.linspace(0.05, 0.95, 7)).numpy()
    np.testing.assert_allclose(grid.xs, q, atol=1e-6)
    np.testing.assert_allclose(grid.ys, q[::-1], atol=1e-6)
    assert grid.plane == "z0 × z1"
    # the top-left image is the decoding of (x, y) = (q[0], q[-1])
    with torch.no_grad():
        expected = engine.model.mean_image(torch.tensor([[q[0], q[-1]]])).view(8, 8).numpy()
    np.testing.assert_allclose(grid.images[0], expected, atol=1e-5)


def test_grid_plane_through_two_chosen_dimensions_around_the_probe(small_vae):
    engine = small_vae(latent_dim=4, grid_plane="dims", grid_dims=(1, 3), grid_centre="probe", grid_size=3)
    engine.set_probe(0.5, -1.0)
    grid = engine.frames({"latent_grid"})[0]
    assert grid.plane == "z1 × z3"
    q = standard_normal_ppf(torch.tensor([0.05, 0.5, 0.95])).numpy()
    np.testing.assert_allclose(grid.xs, 0.5 + q, atol=1e-6)
    np.testing.assert_allclose(grid.ys, -1.0 + q[::-1], atol=1e-6)
    with pytest.raises(ConfigError, match="grid_dims"):
        engine.set_live("grid_dims", (1, 4))
    assert engine.config.grid_dims == (1, 3)          # a refused value changes nothing


def test_probe_drag_changes_only_the_probe_pictures(small_vae):
    engine = small_vae(latent_dim=3)
    train(engine, 10)
    before = {f.name: f for f in engine.frames()}
    assert engine.set_probe(20, -3) == (10.0, -3.0)             # clamped
    after = {f.name: f for f in engine.frames()}
    assert after["samples"] is before["samples"]                 # not re-decoded
    assert not np.array_equal(after["latent_scatter"].probe_image, before["latent_scatter"].probe_image)
    assert tuple(after["latent_scatter"].probe) == (10.0, -3.0)
    for bad in [(float("nan"), 0), ("a", 1), (None, 2)]:
        with pytest.raises(ValueError):
            engine.set_probe(*bad)


def test_encode_drawing_shows_its_posterior_and_reconstruction(small_vae):
    engine = small_vae(latent_dim=3)
    train(engine, 10)
    pixels = np.zeros((28, 28), np.float32)
    pixels[4:24, 12:16] = 1.0                                    # a "1"
    engine.encode_drawing(pixels)
    draw = engine.frames({"draw"})[0]
    np.testing.assert_array_equal(draw.pixels, pixels)
    x = torch.nn.functional.interpolate(torch.from_numpy(pixels)[None, None], size=(8, 8), mode="bilinear",
                                        antialias=True, align_corners=False).reshape(1, -1)
    mu, logvar = engine.model.encode(x)
    np.testing.assert_allclose(draw.mu, mu[0].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(draw.sigma, (0.5 * logvar[0]).exp().detach().numpy(), atol=1e-5)
    assert draw.recon.shape == (8, 8)
    scatter = engine.frames({"latent_scatter"})[0]                # the drawing's mean, in the plane
    post = engine.test_posterior()
    plane = ((mu[0] - post["anchor"]) @ post["axes"].t()).detach().numpy()
    np.testing.assert_allclose(scatter.drawn, plane, atol=1e-5)
    engine.encode_drawing(np.zeros((28, 28), np.float32))
    assert not np.allclose(engine.frames({"latent_scatter"})[0].drawn, plane)   # a new drawing, a new mark
    for bad in (np.zeros((28, 28, 3)), np.zeros((1000, 3)), [[float("inf")]], "scribble"):
        with pytest.raises(ValueError):
            engine.encode_drawing(bad)


def test_traversals_follow_the_most_active_dimensions(small_vae):
    engine = small_vae(latent_dim=12)
    train(engine, 30)
    calls = []
    engine.model.decoder.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    traversals = engine.frames({"traversals"})[0]
    assert traversals.images.shape == (10 * 11, 8, 8) and traversals.columns == 11 and calls == [110]


def test_monitor_counts_active_units_on_the_test_set(small_vae):
    engine = small_vae(latent_dim=6)
    train(engine, 200)
    mu, _ = engine.model.encode(engine.test_x)
    expected = int((mu.var(0, unbiased=False) > 0.01).sum())
    out = engine.monitor()
    assert out["active_units"] == expected and out["kl_dim_max"] > 0


# ---------------------------------------------------------------------------------- evaluation
def test_evaluate_gives_elbo_and_a_tighter_iwae_bound(small_vae):
    engine = small_vae(latent_dim=4, iwae_k=50)
    train(engine, 100)
    metrics = engine.evaluate()
    assert set(metrics) >= {"elbo", "iwae_nll", "iwae_k", "active_units"}
    assert metrics["iwae_k"] == 50 and 0 <= metrics["active_units"] <= 4
    assert math.isfinite(metrics["elbo"]) and 0 < metrics["iwae_nll"] <= -metrics["elbo"]
    assert engine.evaluate() == metrics                            # fixed evaluation noise


def test_cli_train_and_eval(tmp_path, capsys):
    from engines.cli import main
    import json

    run = tmp_path / "run"
    assert main(["train", "vae", "--data", "digits", "--steps", "20", "--run-dir", str(run),
                 "--set", "hidden=32", "--set", "iwae_k=5"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["iwae_nll"] <= -metrics["elbo"] and metrics["iwae_k"] == 5


# ---------------------------------------------------------------------------------- bad input
def colour_folder(path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


@pytest.mark.parametrize("overrides, match", [
    ({"latent_dim": 0}, "latent_dim must be between 1 and 1,?024"),
    ({"iwae_k": 10**9}, "iwae_k must be between 1 and 100,?000"),
    ({"hidden": "0"}, "hidden"),
    ({"activation": "sigmoid"}, "activation must be one of"),
    ({"latent_dim": 4, "grid_plane": "dims", "grid_dims": (2, 2)}, "grid_dims must be two different"),
])
def test_bad_config_is_refused_with_one_clear_line(overrides, match):
    with pytest.raises(ConfigError, match=match):
        build_engine("vae", "digits", "cpu", 0, {**TINY, **overrides})


def test_a_colour_folder_is_refused_by_the_bernoulli_vae(tmp_path):
    with pytest.raises(DataError, match="colour images.*conv-vae"):
        build_engine("vae", f"folder:{colour_folder(tmp_path)}", "cpu", 0, {**TINY, "batch_size": 8})
    with pytest.raises(ConfigError, match="likelihood=bernoulli"):
        build_engine("conv-vae", f"folder:{tmp_path}", "cpu", 0,
                     {**TINY, "channels": 4, "hidden": (8,), "grey": False, "likelihood": "bernoulli", "batch_size": 8})


def test_grey_folder_images_saved_as_rgb_are_taken(tmp_path):
    from PIL import Image

    for i in range(20):
        Image.fromarray(np.full((28, 28), 10 * i, np.uint8)).convert("RGB").save(tmp_path / f"{i}.png")
    engine = build_engine("vae", f"folder:{tmp_path}", "cpu", 0, {**TINY, "batch_size": 8})
    assert engine.shape == (1, 28, 28)
    assert isinstance(engine.frames({"samples"})[0], ImageGrid)


def test_cli_reports_bad_input_in_one_line(capsys, tmp_path):
    from engines.cli import main

    assert main(["train", "vae", "--data", "digits", "--set", "latent_dim=0", "--run-dir", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: latent_dim must be") and err.count("\n") == 1
    assert main(["train", "vae", "--data", "digits", "--set", "iwae_k=1e9", "--run-dir", str(tmp_path / "b")]) == 2
    assert "iwae_k" in capsys.readouterr().err
