"""DRAW: the Gaussian filterbank's invariants, the engine's training and frames, the multi-mnist data."""
import numpy as np
import pytest
import torch

from engines.core.config import ConfigError
from engines.core.frames import ImageGrid, decode, encode
from engines.data import load_dataset
from engines.draw import attention
from engines.draw.attention import Window
from engines.draw.frames import GlimpseTrace, window_box, window_centres
from engines.registry import build_engine
from tests.engines.training import bound_before_and_after

SMALL = {"T": 4, "enc_size": 32, "dec_size": 32, "z_size": 8, "batch_size": 16, "trace_images": 2}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread is faster, and fair to a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_window(batch=3, gx=None, gy=None, delta=None, sigma2=None, gamma=None, seed=0):
    g = torch.Generator().manual_seed(seed)

    def pick(value, low, high):
        return torch.full((batch,), float(value)) if value is not None else low + (high - low) * torch.rand(batch, generator=g)
    return Window(pick(gx, 3, 20), pick(gy, 3, 20), pick(delta, 0.5, 3), pick(sigma2, 0.3, 4), pick(gamma, 0.5, 2))


# ---------------------------------------------------------------------------------- filterbank
@pytest.mark.parametrize("n", [1, 2, 3, 5, 12])
def test_each_filterbank_row_sums_to_one(n):
    win = make_window(batch=4)
    fx, fy = attention.filterbanks(win, 22, 28, n)
    assert fx.shape == (4, n, 28) and fy.shape == (4, n, 22)
    torch.testing.assert_close(fx.sum(-1), torch.ones(4, n))
    torch.testing.assert_close(fy.sum(-1), torch.ones(4, n))
    far = make_window(batch=2, gx=500.0, sigma2=0.01)      # far outside the image: still a distribution
    fx, _ = attention.filterbanks(far, 22, 28, n)
    assert torch.isfinite(fx).all()
    torch.testing.assert_close(fx.sum(-1), torch.ones(2, n))


@pytest.mark.parametrize("n", [1, 2, 4, 5, 8])
def test_filter_centres_are_symmetric_about_the_glimpse_centre(n):
    g, delta = torch.tensor([7.3, 14.0]), torch.tensor([1.5, 2.0])
    mu = attention.filter_centres(g, delta, n)
    torch.testing.assert_close(mu.mean(-1), g)
    torch.testing.assert_close(mu + mu.flip(-1), 2 * g[:, None].expand_as(mu))
    if n > 1:
        torch.testing.assert_close(mu.diff(dim=-1), delta[:, None].expand(2, n - 1))


def test_raw_parameters_map_to_the_papers_window():
    """g̃ = 0 puts the grid on the image centre (A+1)/2 in 1-based pixels; δ̃ = 1 spans the image."""
    raw = torch.zeros(1, attention.PARAMS)
    win = attention.window(raw, 20, 28, 5)
    assert float(win.gx) == pytest.approx(14.5) and float(win.gy) == pytest.approx(10.5)
    assert float(win.delta) == pytest.approx(27 / 4) and float(win.sigma2) == 1 and float(win.gamma) == 1
    mu = attention.filter_centres(win.gx, win.delta, 5)
    torch.testing.assert_close(mu[0, [0, -1]], torch.tensor([1.0, 28.0]))     # first and last pixel


def test_the_exponent_divides_the_square_by_two_sigma_squared():
    win = make_window(batch=1, gx=10.0, gy=10.0, delta=1.0, sigma2=2.5)
    fx, _ = attention.filterbanks(win, 20, 20, 1)        # one filter at a = 10
    a = torch.arange(1, 21, dtype=torch.float32)
    expected = torch.exp(-(a - 10) ** 2 / (2 * 2.5))
    torch.testing.assert_close(fx[0, 0], expected / expected.sum())


def test_reading_a_constant_image_returns_the_constant_times_gamma():
    win = make_window(batch=3)
    images = torch.full((3, 2, 24, 28), 0.37)
    glimpse = attention.read(images, win, 4)
    assert glimpse.shape == (3, 2, 4, 4)
    torch.testing.assert_close(glimpse, 0.37 * win.gamma[:, None, None, None].expand_as(glimpse))


def test_a_full_size_sharp_read_returns_the_image():
    """N = image size, δ̃ = 1 (one pixel apart), centred, tiny σ: the filters pick the pixels."""
    images = torch.rand(2, 1, 16, 16)
    raw = torch.zeros(2, attention.PARAMS)
    raw[:, 2] = np.log(0.01)                            # σ² = 0.01
    win = attention.window(raw, 16, 16, 16)
    torch.testing.assert_close(attention.read(images, win, 16), images)


def test_write_is_the_transpose_of_read():
    """⟨read(x), w⟩ / γ = ⟨x, write(w)⟩ · γ for any x and w: the same linear map, transposed."""
    win = make_window(batch=3, seed=4)
    x, w = torch.rand(3, 1, 18, 26), torch.rand(3, 1, 5, 5)
    gamma = win.gamma
    lhs = (attention.read(x, win, 5) * w).sum((1, 2, 3)) / gamma
    rhs = (x * attention.write(w, win, 18, 26)).sum((1, 2, 3)) * gamma
    torch.testing.assert_close(lhs, rhs)
    # and as matrices: write's matrix is read's transposed
    read_matrix = torch.stack([attention.read(e.view(1, 1, 18, 26).expand(3, 1, 18, 26), win, 5).flatten(1)
                               for e in torch.eye(18 * 26)], dim=-1) / gamma[:, None, None]
    write_matrix = torch.stack([attention.write(e.view(1, 1, 5, 5).expand(3, 1, 5, 5), win, 18, 26).flatten(1)
                                for e in torch.eye(25)], dim=-1) * gamma[:, None, None]
    torch.testing.assert_close(write_matrix, read_matrix.transpose(1, 2))


# ---------------------------------------------------------------------------------- engine
@pytest.fixture
def draw():
    def make(data="mnist", seed=0, **overrides):
        return build_engine("draw", data, "cpu", seed, {**SMALL, **overrides})
    return make


def test_loss_is_finite_and_falls_over_50_steps(draw):
    engine = draw(seed=1, lr=3e-3)
    first, last = bound_before_and_after(engine)
    assert np.isfinite(first + last).all()
    assert np.mean(last) < np.mean(first) - 40, (first, last)
    scalars = engine.train_step()
    assert scalars["nll_bound"] == pytest.approx(scalars["recon"] + scalars["kl"], rel=1e-4)
    kl_t = engine.monitor()
    assert list(kl_t) == ["kl_t1", "kl_t2", "kl_t3", "kl_t4"]
    assert sum(kl_t.values()) == pytest.approx(scalars["kl"], rel=1e-4)


def test_without_attention_the_engine_reads_the_whole_image(draw):
    engine = draw(attention=False)
    model = engine.model
    c, h, w = engine.data.shape
    assert model.reader.size == 2 * c * h * w and model.reader.locate is None and model.writer.locate is None
    assert model.encoder.input_size == 2 * c * h * w + model.dec_size
    x = torch.rand(2, c, h, w)
    r, win = model.reader(x, 1 - x, torch.zeros(2, model.dec_size))
    assert win is None and torch.equal(r, torch.cat([x, 1 - x], 1).flatten(1))
    engine.train_step()
    trace = [f for f in engine.frames() if f.name == "attention"][0]
    assert not trace.attention and trace.read.shape[0] == 0 and trace.still().ndim == 3
    with_attention = draw()
    assert with_attention.model.reader.size == 2 * 2 * 2


def test_glimpse_trace_holds_canvases_and_windows_per_step(draw):
    engine = draw()
    engine.train_step()
    frames = {f.name: f for f in engine.frames()}
    trace, samples = frames["attention"], frames["samples"]
    assert isinstance(trace, GlimpseTrace) and isinstance(samples, ImageGrid)
    assert trace.canvases.shape == (4, 4, 28, 28) and trace.reconstructions == 2 and trace.columns == 2
    assert trace.write.shape == (4, 4, 5) and trace.read.shape == (2, 4, 5)
    assert trace.write_n == 5 and trace.read_n == 2 and 0 <= trace.canvases.min() <= trace.canvases.max() <= 1
    assert (trace.write[..., 2:] > 0).all()                                   # δ, σ², γ positive
    # the last canvas of the generated rows is the sample grid's image (same fixed noise)
    np.testing.assert_allclose(trace.canvases[2:, -1], samples.images[:2], atol=1e-5)
    movie = trace.animation()
    assert len(movie) == 4 and movie[-1].shape == trace.still().shape and movie[0].shape[-1] == 3
    assert not np.array_equal(movie[0], movie[-1])
    again = decode(*encode(trace))
    assert isinstance(again, GlimpseTrace) and again.still().shape == trace.still().shape


def test_burnt_in_windows_sit_where_the_geometry_says():
    t, h, w = 2, 20, 20
    canvases = np.zeros((1, t, h, w), np.float32)
    write = np.array([[[6.5, 10.5, 2.0, 0.1, 1.0]] * t], np.float32)       # centred at item x = 6, y = 10
    trace = GlimpseTrace("attention", 0, canvases, write, np.zeros((0, t, 5), np.float32), write_n=3,
                         reconstructions=0, columns=1)
    x0, y0, x1, y1 = window_box(write[0, 0], 3)
    assert (x0, y0, x1, y1) == (3.0, 7.0, 9.0, 13.0)
    xs, ys = window_centres(write[0, 0], 3)
    assert sorted(set(xs)) == [4.0, 6.0, 8.0] and sorted(set(ys)) == [8.0, 10.0, 12.0]
    picture = trace.still()
    scale = picture.shape[0] // h
    red = (picture[..., 0] > 0.5) & (picture[..., 1] < 0.5)
    rows, cols = np.nonzero(red)
    assert cols.min() == pytest.approx(3 * scale, abs=1) and cols.max() == pytest.approx(9 * scale, abs=1)
    assert rows.min() == pytest.approx(7 * scale, abs=1) and rows.max() == pytest.approx(13 * scale, abs=1)


def test_bad_configs_get_clear_errors(draw):
    with pytest.raises(ConfigError, match="T must be"):
        draw(T=0)
    with pytest.raises(ConfigError, match="limit"):
        draw(attention=False, enc_size=4096, dec_size=4096, z_size=1024)


def test_evaluate_gives_the_test_bound_in_nats(draw):
    engine = draw(T=2, trace_images=1)
    metrics = engine.evaluate()
    assert set(metrics) == {"nll_bound", "recon", "kl"}
    assert metrics["nll_bound"] == pytest.approx(metrics["recon"] + metrics["kl"], rel=1e-5)
    assert 100 < metrics["nll_bound"] < 2000


# ---------------------------------------------------------------------------------- data
def test_multi_mnist_is_deterministic_from_its_seed():
    a, b, c = load_dataset("multi-mnist:3"), load_dataset("multi-mnist:3"), load_dataset("multi-mnist:4")
    assert a.train.shape == (4500, 1, 60, 60) and a.test.shape == (500, 1, 60, 60)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.train, c.train)
    ink = a.train.reshape(len(a.train), -1).sum(1)
    mnist = load_dataset("mnist")
    one = mnist.train.reshape(len(mnist.train), -1).sum(1)
    assert (ink >= one - 1e-3).all() and (ink > one + 1).mean() == pytest.approx(0.5, abs=0.05)


def test_a_colour_dataset_gets_the_gaussian_likelihood(tmp_path, draw):
    from PIL import Image
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    engine = draw(f"folder:{tmp_path}", grey=False, image_size=12, batch_size=8)
    assert engine.likelihood == "gaussian" and engine.data.shape == (3, 12, 12)
    assert np.isfinite(engine.train_step()["nll_bound"])
    assert engine.frames()[0].canvases.shape[-1] == 3
    with pytest.raises(ConfigError, match="grey"):
        draw(f"folder:{tmp_path}", grey=False, image_size=12, batch_size=8, likelihood="bernoulli")
