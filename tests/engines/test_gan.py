"""The GAN family: losses, pyramid, one-player steps, live controls, metrics, data and frames."""
import math

import numpy as np
import pytest
import torch

from engines.core.config import ConfigError
from engines.core.frames import as_unit, decode, encode
from engines.data.base import DataError
from engines.gan.frames import GANSamples, PointField, PyramidLevels
from engines.gan.gan2d_engine import mode_metrics
from engines.gan.model import (DCDiscriminator, DCGenerator, discriminator_loss, downsample, generator_loss,
                                laplacian_pyramid, reconstruct, upsample)
from engines.gan.points import load_points
from engines.metrics.distances import ParzenEstimator, class_coverage, frechet_distance, sqrtm_psd
from engines.registry import build_engine, engine_class

MODELS = ("gan", "dcgan", "lapgan", "gan2d")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: one thread is faster, and much faster on a busy shared machine
    (an idle OpenMP worker spins while it waits for a core)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def smoke(model, seed=0, data=None, **overrides):
    cls = engine_class(model)
    return build_engine(model, data or cls.smoke_data, "cpu", seed, {**cls.smoke_overrides, **overrides})


def params(module):
    return [t.detach().clone() for t in (*module.parameters(), *module.buffers())]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ----------------------------------------------------------------------------------- equations
def test_losses_follow_the_value_function():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    for kind in ("minimax", "non-saturating"):
        assert float(discriminator_loss(kind, real, fake)) == pytest.approx(float(expected_d), rel=1e-6)
    assert float(generator_loss("minimax", fake)) == pytest.approx(float(torch.log(1 - d_fake).mean()), rel=1e-6)
    assert float(generator_loss("non-saturating", fake)) == pytest.approx(float(-torch.log(d_fake).mean()), rel=1e-6)
    assert float(discriminator_loss("least-squares", real, fake)) == pytest.approx(
        0.5 * float(((real - 1) ** 2).mean()) + 0.5 * float((fake ** 2).mean()))
    assert float(generator_loss("least-squares", fake)) == pytest.approx(0.5 * float(((fake - 1) ** 2).mean()))


@pytest.mark.parametrize("size,channels,levels", [(28, 1, 3), (32, 3, 3), (64, 3, 4)])
def test_pyramid_reconstructs_its_input_exactly_from_true_residuals(size, channels, levels):
    x = torch.rand(4, channels, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    coarsest, residuals = laplacian_pyramid(x, levels)
    assert coarsest.shape[-1] == size // 2 ** (levels - 1)
    assert [h.shape[-1] for h in residuals] == [size // 2 ** k for k in range(levels - 2, -1, -1)]
    torch.testing.assert_close(reconstruct(coarsest, residuals), x, rtol=0, atol=1e-6)
    assert residuals[-1].abs().max() > 0.1          # the band-pass part is not trivially zero


def test_lapgan_levels_are_conditioned_on_the_true_coarser_image():
    engine = smoke("lapgan", data="mnist")
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    engine.batches.next = lambda n: x.view(n, -1)
    (l0, none), (h1, c1), (h2, c2) = engine.real_batches(5)
    assert none is None and [t.shape[-1] for t in (l0, h1, c1, h2, c2)] == [7, 14, 14, 28, 28]
    torch.testing.assert_close(h2 + c2, x)                              # finest level: the real image
    torch.testing.assert_close(c2, upsample(downsample(x)))             # conditioned on u(d(x))
    torch.testing.assert_close(l0, downsample(downsample(x)))
    assert {f"l{k}/d_loss" for k in range(3)} <= set(engine.train_step())


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 1)])
def test_dcgan_layer_plans(size, channels):
    g, d = DCGenerator(16, channels, size, 4), DCDiscriminator(channels, size, 4)
    images = g(torch.randn(3, 16))
    assert images.shape == (3, channels, size, size) and images.abs().max() <= 1
    assert d(images).shape == (3,)


# ----------------------------------------------------------------------------------- training
@pytest.mark.parametrize("model", MODELS)
def test_every_engine_trains_with_finite_scalars_and_frames(model):
    engine = smoke(model)
    for _ in range(3):
        scalars = engine.train_step()
    keys = {"d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"}
    expected = {f"l{k}/{key}" for k in range(3) for key in keys} if model == "lapgan" else keys
    assert set(scalars) == expected and all(math.isfinite(v) for v in scalars.values())
    assert engine.step == 3
    for frame in engine.frames():
        again = decode(*encode(frame))
        assert type(again) is type(frame)
        still = as_unit(again.still())             # read back as uint8 pixels
        assert still.ndim in (2, 3) and 0 <= still.min() and still.max() <= 1


@pytest.mark.parametrize("loss", ["minimax", "non-saturating", "least-squares"])
def test_each_objective_trains(loss):
    engine = smoke("dcgan", loss=loss)
    scalars = [engine.train_step() for _ in range(3)][-1]
    assert all(math.isfinite(v) for v in scalars.values())
    if loss == "least-squares":       # D's raw score, not a probability
        assert scalars["d_loss"] >= 0
    else:
        assert 0 < scalars["d_real"] < 1 and 0 < scalars["d_fake"] < 1


@pytest.mark.parametrize("model", ["dcgan", "lapgan"])
def test_step_d_only_leaves_g_alone_and_step_g_only_leaves_d_alone(model):
    engine = smoke(model)
    engine.train_step()
    gs, ds = [params(d.g) for d in engine.duels], [params(d.d) for d in engine.duels]
    g_state = [d.opt_g.state_dict()["state"][0]["exp_avg"].clone() for d in engine.duels]
    step = engine.step
    scalars = engine.step_discriminator()
    assert all(same(before, params(d.g)) for before, d in zip(gs, engine.duels))      # params and BN statistics
    assert all(not same(before, params(d.d)) for before, d in zip(ds, engine.duels))
    assert all(torch.equal(s, d.opt_g.state_dict()["state"][0]["exp_avg"]) for s, d in zip(g_state, engine.duels))
    assert engine.step == step and (engine.d_updates, engine.g_updates) == (2, 1)
    assert all(k.rsplit("/", 1)[-1] in ("d_loss", "d_real", "d_fake", "grad_norm_d") for k in scalars)
    ds = [params(d.d) for d in engine.duels]
    gs = [params(d.g) for d in engine.duels]
    engine.step_generator()
    assert all(same(before, params(d.d)) for before, d in zip(ds, engine.duels))
    assert all(not same(before, params(d.g)) for before, d in zip(gs, engine.duels))
    assert (engine.d_updates, engine.g_updates) == (2, 2)


def test_one_player_steps_are_actions_of_the_samples_view():
    from engines.core.commands import CallMethod

    engine = smoke("dcgan")
    assert {"step_discriminator", "step_generator"} <= engine.callable_methods()
    before = params(engine.duels[0].g)
    engine.apply(CallMethod("step_discriminator"))
    assert same(before, params(engine.duels[0].g))


def test_live_learning_rates_and_betas_reach_the_optimisers():
    engine = smoke("dcgan")
    engine.train_step()
    engine.set_live("lr_d", 1e-3)
    engine.set_live("beta1_g", 0.9)
    engine.set_live("d_steps", 3)
    engine.train_step()
    duel = engine.duels[0]
    assert duel.opt_d.param_groups[0]["lr"] == 1e-3 and duel.opt_g.param_groups[0]["lr"] == 2e-4
    assert duel.opt_g.param_groups[0]["betas"] == (0.9, 0.999)
    assert (engine.d_updates, engine.g_updates) == (4, 2)
    with pytest.raises(ConfigError):
        engine.set_live("lr_g", 0)
    with pytest.raises(ConfigError):
        engine.set_live("loss", "wasserstein")


def test_a_poisoned_network_gives_non_finite_scalars():
    """Scalars are honest: a NaN in D shows in its loss (the Runner then stops the run)."""
    engine = smoke("gan2d")
    with torch.no_grad():
        next(engine.duels[0].d.parameters())[0, 0] = float("nan")
    scalars = engine.train_step()
    assert not math.isfinite(scalars["d_loss"]) and not math.isfinite(scalars["grad_norm_d"])


@pytest.mark.parametrize("model", MODELS)
def test_a_display_copy_keeps_its_fixed_noise_when_a_state_loads(model):
    """The samples' fixed noise is the display copy's own (the contract checks the rest of the round
    trip: a resumed run is bitwise the same, dropout masks included)."""
    a = smoke(model, seed=2)
    a.train_step()
    b = smoke(model, seed=7)
    fixed = [z.clone() for z in b.fixed_noise] if model != "gan2d" else [b.fixed_noise.clone()]
    b.load_state_dict(a.state_dict())
    kept = b.fixed_noise if model != "gan2d" else [b.fixed_noise]
    assert b.step == 1 and all(torch.equal(x, y) for x, y in zip(kept, fixed))


# ----------------------------------------------------------------------------------- gan2d
def test_gan2d_learns_the_ring_in_seconds():
    cls = engine_class("gan2d")
    engine = build_engine("gan2d", "ring", "cpu", 0, {"eval_samples": 1000})     # the defaults
    before = engine.evaluate()
    for _ in range(600):
        engine.train_step()
    after = engine.evaluate()
    assert before["high_quality_fraction"] == 0 and cls.default_data == "ring"
    assert after["parzen_log_likelihood"] > before["parzen_log_likelihood"] + 1
    assert after["high_quality_fraction"] > 0.1 and after["modes_covered"] >= 1


def test_gan2d_field_frame_and_drawn_points():
    engine = smoke("gan2d")
    field = engine.frames()[0]
    assert isinstance(field, PointField)
    r = engine.config.heat_resolution
    assert field.heat.shape == (r, r) and field.fake.shape == (64, 2) and field.lines.shape == (22, 41, 2)
    assert field.extent[0] < -2 < 2 < field.extent[1]
    points = [[0.1 * i, 5 + 0.05 * i] for i in range(30)]
    assert engine.set_points(points) == 30
    assert len(engine.data.train) == 27 and engine.data.modes is None
    scalars = engine.train_step()
    assert math.isfinite(scalars["d_loss"])
    display = smoke("gan2d")
    display.load_state_dict(engine.state_dict())          # the display copy receives the drawing
    np.testing.assert_allclose(display.frames()[0].real, engine.data.train[:64])
    with pytest.warns(UserWarning, match="known mixture"):
        assert "mode_coverage" not in engine.evaluate()
    for bad in ([[0, 0]] * 3, [[0, float("nan")]] * 20, [[1, 2, 3]] * 20, "abc", [[1e6, 0]] * 20):
        with pytest.raises(ValueError):
            engine.set_points(bad)


def test_mode_metrics():
    modes = np.array([[0.0, 0.0], [5.0, 0.0]])
    samples = np.concatenate([np.zeros((90, 2)), np.full((10, 2), 50.0)])
    m = mode_metrics(samples, modes, 0.1)
    assert m["mode_coverage"] == 0.5 and m["high_quality_fraction"] == 0.9


def test_point_data_and_their_errors(tmp_path):
    ring = load_points("ring")
    assert ring.train.shape == (9000, 2) and ring.test.shape == (1000, 2) and len(ring.modes) == 8
    np.testing.assert_array_equal(ring.train, load_points("ring").train)           # deterministic
    assert np.allclose(np.linalg.norm(ring.modes, axis=1), 2)
    assert len(load_points("grid").modes) == 25
    good = tmp_path / "p.csv"
    good.write_text("x,y\n" + "\n".join(f"{i},{i * 2}" for i in range(20)))
    assert load_points(f"points:{good}").train.shape == (18, 2)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,four\n")
    for spec, message in [("mnist", "2-D points"), (f"points:{tmp_path}/none.csv", "does not exist"),
                          (f"points:{bad}", "line 2"), (f"points:{tmp_path}", "not a file")]:
        with pytest.raises(DataError, match=message):
            load_points(spec)
    with pytest.raises(DataError, match="2-D points"):
        build_engine("gan2d", "digits", "cpu", 0, {})


def test_bad_config_is_a_clear_error():
    with pytest.raises(ConfigError, match="image_size"):
        build_engine("dcgan", "digits", "cpu", 0, {"image_size": 30})
    with pytest.raises(ConfigError, match="levels"):
        build_engine("lapgan", "digits", "cpu", 0, {"levels": 4, **engine_class("lapgan").smoke_overrides})
    with pytest.raises(ConfigError, match="d_steps"):
        build_engine("gan", "digits", "cpu", 0, {"d_steps": 0})
    with pytest.raises(DataError, match="only gan2d"):
        build_engine("dcgan", "ring", "cpu", 0, {})


def test_image_engines_fit_the_data_to_their_size_and_colour():
    engine = smoke("dcgan", image_size=32, grey=False)
    assert engine.data.shape == (3, 32, 32)
    frame = engine.frames({"samples"})[0]
    assert isinstance(frame, GANSamples) and frame.images.shape == (16, 32, 32, 3)
    with pytest.warns(UserWarning, match="need the MNIST digits"):     # not digits: says so, no failure
        metrics = engine.evaluate()
    assert "frechet_distance" not in metrics and math.isfinite(metrics["parzen_log_likelihood"])


# ----------------------------------------------------------------------------------- metrics
def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 8)) @ rng.standard_normal((8, 8))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    shifts = [frechet_distance(a, a + s) for s in (0.5, 1.0, 2.0)]
    assert shifts == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)
    # scaling by 2: ‖μ‖² + tr Σ exactly (tr(Σ + 4Σ − 2·2Σ))
    mu, cov = a.mean(0), np.cov(a, rowvar=False)
    assert frechet_distance(a, 2 * a) == pytest.approx(float(mu @ mu + np.trace(cov)), rel=1e-6)


def test_sqrtm_psd():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((5, 5))
    a = m @ m.T
    root = sqrtm_psd(a)
    np.testing.assert_allclose(root @ root, a, atol=1e-9)
    np.testing.assert_allclose(root, root.T)


def test_class_coverage():
    assert class_coverage(np.arange(1000) % 10) == pytest.approx(1.0)
    assert class_coverage(np.full(100, 3)) == 0.0
    assert 0 < class_coverage(np.array([0, 0, 0, 1])) < 0.5


def test_parzen_window_matches_the_true_density_and_ignores_chunking():
    gen = torch.Generator().manual_seed(0)
    valid, test = torch.randn(100, 2, generator=gen), torch.randn(200, 2, generator=gen)
    samples = torch.randn(5000, 2, generator=gen)
    whole = ParzenEstimator(valid, test)
    whole.add(samples)
    chunked = ParzenEstimator(valid, test, batch=64)
    for part in samples.split(1500):
        chunked.add(part)
    a, b = whole.result(), chunked.result()
    assert a == pytest.approx(b, rel=1e-6)
    true = float((-0.5 * (test ** 2).sum(1) - math.log(2 * math.pi)).mean())   # log N(x; 0, I)
    assert a["parzen_log_likelihood"] == pytest.approx(true, abs=0.15)
    assert 0.05 < a["parzen_sigma"] < 0.8


@pytest.fixture(scope="module")
def classifier():
    """The classifier, trained here on the test run's empty cache (half a minute on one core)
    and asked for as a GAN's first sample check asks: from inside ``no_grad`` and inference mode.
    It must come out the same as built anywhere else, and leave the caller's random stream alone."""
    from engines.metrics.classifier import digit_classifier

    state = torch.get_rng_state()
    with torch.no_grad(), torch.inference_mode():
        trained = digit_classifier("cpu")
    assert torch.equal(torch.get_rng_state(), state)
    return trained


def test_the_digit_classifier_reaches_97_percent_on_held_out_digits(classifier):
    from engines.data.mnist import load_mnist
    from engines.metrics.classifier import accuracy

    model, cached_accuracy = classifier
    measured = accuracy(model, load_mnist())
    assert measured >= 0.97
    assert measured == pytest.approx(cached_accuracy, abs=1e-6)


def test_digit_metrics_in_evaluate_and_monitor(classifier):
    engine = smoke("dcgan", data="mnist", watch_every=1, eval_samples=200)
    engine.train_step()
    live = engine.monitor()
    assert set(live) == {"class_coverage", "frechet_distance_256"}
    metrics = engine.evaluate()
    for key in ("frechet_distance", "class_coverage", "parzen_log_likelihood", "classifier_accuracy"):
        assert math.isfinite(metrics[key])
    assert metrics["frechet_distance"] > 0 and 0 <= metrics["class_coverage"] <= 1
    assert engine.monitor() == {}          # not again until watch_every more steps


def test_the_sample_checks_classifier_is_ready_before_the_first_step(classifier):
    """A first use builds the classifier while the run starts, not at step 100 mid-run (where it
    held training up for half a minute, and a quit with it)."""
    from engines.core.runner import Runner

    checked, unchecked = smoke("gan", data="mnist", watch_every=5), smoke("gan", data="mnist", watch_every=0)
    Runner(checked, None), Runner(unchecked, None)
    assert checked._classifier is not None and checked.step == 0
    assert unchecked._classifier is None


def test_a_gan_that_blows_up_at_a_sample_check_ends_diverged(classifier):
    """NaN weights reach the sample check's Fréchet distance in the same step: the run ends
    ``diverged`` with what became NaN, not ``failed`` on the check."""
    from engines.core.runner import Runner, RunnerSettings

    engine = smoke("gan", data="mnist", watch_every=5)
    for _ in range(4):
        engine.train_step()
    with torch.no_grad():
        for p in engine.duels[0].g.parameters():
            p.fill_(float("nan"))
    summary = Runner(engine, None, settings=RunnerSettings(max_steps=10, monitor_every=5)).run()
    assert summary["status"] == "diverged" and summary["steps"] == 5
    assert "frechet_distance_256" in summary["message"] and "d_loss" in summary["message"]


# ----------------------------------------------------------------------------------- frames
def test_pyramid_still_lays_levels_out_in_columns():
    n, h = 2, 8
    base = np.zeros((n, h, h), np.float32)
    coarse, residual, total = (np.full((2, n, h, h), v, np.float32) for v in (0.25, 0.5, 0.75))
    frame = PyramidLevels("pyramid", 1, base, coarse, residual, total, (2, 4, 8))
    still = frame.still()
    assert frame.columns == 7 and still.shape == (2 * h + 1, 7 * h + 6)
    assert [still[0, c * (h + 1)] for c in range(7)] == [0, 0.25, 0.5, 0.75, 0.25, 0.5, 0.75]
    assert frame.column_labels()[:2] == ["2×2", "↑"]


def test_point_field_still_burns_points_and_heat_in():
    heat = np.zeros((4, 4), np.float32)
    heat[2:] = 1.0                                       # upper half (y > 0) looks real to D
    frame = PointField("field", 3, np.array([[0.5, 0.5]]), np.array([[-0.5, -0.5]]), heat,
                       np.zeros((0, 2, 2)), (-1.0, 1.0, -1.0, 1.0))
    img = frame.still(size=101)
    assert img.shape == (101, 101, 3)
    np.testing.assert_allclose(img[5, 5], [0.70, 0.90, 0.72], atol=1e-6)     # top: high heat (green)
    np.testing.assert_allclose(img[95, 5], [0.80, 0.70, 0.92], atol=1e-6)    # bottom: low heat (purple)
    np.testing.assert_allclose(img[25, 75], [0.10, 0.45, 0.15], atol=1e-6)   # the real point (x .5, y .5)
    np.testing.assert_allclose(img[75, 25], [0.50, 0.15, 0.60], atol=1e-6)   # the generated one


def test_gan2d_shows_where_gs_gradient_moves_its_points_and_its_noise_grid_through_each_layer():
    """GAN Lab's views: a step along each generated point's arrow lowers that point's own generator
    loss, and the noise grid is drawn at G's input, after its hidden layer and at its output."""
    from engines.gan.engine import evaluating

    engine = smoke("gan2d")
    for _ in range(5):
        engine.train_step()
    field = decode(*encode(engine.frames()[0]))              # as the store gives it back
    assert field.pushes.shape == field.fake.shape and np.isfinite(field.pushes).all()
    d, kind = engine.duels[0].d, engine.config.loss
    x, push = torch.from_numpy(field.fake), torch.from_numpy(field.pushes)
    step = 1e-3 * push / push.norm(dim=1, keepdim=True).clamp_min(1e-12)
    with torch.no_grad(), evaluating(d):
        before = [generator_loss(kind, d(x[i:i + 1]).view(-1)).item() for i in range(len(x))]
        after = [generator_loss(kind, d(x[i:i + 1] + step[i]).view(-1)).item() for i in range(len(x))]
    assert np.mean(np.asarray(after) <= np.asarray(before) + 1e-7) > 0.95
    assert field.layer_names == ("noise z", "hidden 1 (16 units, PCA)", "output G(z)")
    assert field.layers.shape == (3, 22, 41, 2)
    np.testing.assert_allclose(field.layers[-1], field.lines)
    np.testing.assert_allclose(field.layers[0], engine.grid_noise[..., :2].numpy())
    hidden, noise = field.layers[1].reshape(-1, 2), field.layers[0].reshape(-1, 2)
    assert ((hidden - hidden.mean(0)) * (noise - noise.mean(0))).sum(0).min() >= 0   # signed to follow z
