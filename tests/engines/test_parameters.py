"""The weights-and-gradients frames every engine gets (engines.core.parameters): histograms and
percentiles that agree with NumPy's, gradient norms that agree with torch's, a history that stays
bounded, and frames that survive the run store."""
import math

import numpy as np
import torch
from torch import nn

from engines.core.frames import decode, encode
from engines.core import parameters
from engines.core.parameters import PERCENTILES, ParameterStats, ParameterWatch, layer_of, percentiles_of


class Watched:
    """What a ParameterWatch needs of an engine: a step and its modules."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(50, 40), nn.Tanh(), nn.Linear(40, 3))
        self.step = 0

    def parameter_modules(self):
        return {"net": self.model}

    def train(self):
        self.model.zero_grad()
        self.model(torch.randn(64, 50)).square().mean().backward()
        self.step += 1


def test_percentiles_read_from_the_histogram_agree_with_numpy_within_a_bin():
    values = np.random.default_rng(0).normal(size=20_000).astype(np.float32)
    low, high = float(values.min()), float(values.max())
    counts, _ = np.histogram(values, bins=parameters.FINE_BINS, range=(low, high))
    got = percentiles_of(np.stack([counts, counts, np.zeros_like(counts)]), [low, low, 0.0], [high, high, 1.0])
    expected = np.percentile(values, PERCENTILES)
    assert np.abs(got[0] - expected).max() <= (high - low) / parameters.FINE_BINS
    assert got[0, 0] == np.float32(low) and got[0, -1] == np.float32(high) and np.array_equal(got[0], got[1])
    assert np.isnan(got[2]).all()                                       # a tensor with no values
    for _ in range(20):                                                 # np.interp over the bin edges, exactly
        row = np.random.default_rng(_).integers(1, 6, 12).astype(float)   # no empty bin: a strict interpolant
        if row.sum():
            edges = np.linspace(-1, 2, 13)
            cumulative = np.concatenate([[0], np.cumsum(row)]) / row.sum()
            want = np.interp(np.asarray(PERCENTILES) / 100, cumulative, edges)
            want[0], want[-1] = -1, 2
            np.testing.assert_allclose(percentiles_of(row[None], [-1.0], [2.0])[0], want, atol=1e-5)


def test_a_tensor_is_read_in_memory_order_without_a_copy():
    from engines.core.parameters import memory_order

    weight = torch.randn(8, 3, 4, 4).to(memory_format=torch.channels_last)
    flat = memory_order(weight)
    assert flat.data_ptr() == weight.data_ptr() and sorted(flat.tolist()) == sorted(weight.flatten().tolist())


def test_a_watch_holds_every_tensor_by_layer_with_its_histogram_and_its_layers_gradient_norm():
    engine = Watched()
    watch = ParameterWatch(engine)
    frame, norms = watch.take()
    assert frame.names == ("net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias")
    assert frame.layers == ["net.0", "net.2"] and layer_of("bias") == "bias"
    assert np.isnan(frame.ranges[:, 1]).all() and not norms            # no gradient yet
    engine.train()
    frame, norms = watch.take()
    for i, (_, p) in enumerate(engine.model.named_parameters()):
        assert frame.counts[i, 0].sum() == p.numel() == frame.counts[i, 1].sum()
        assert frame.ranges[i, 0, 0] == p.min().item() and frame.ranges[i, 1, 1] == p.grad.max().item()
        np.testing.assert_allclose(frame.history[-1, i, 0, 4], np.median(p.detach().numpy()),
                                   atol=2 * (p.max() - p.min()).item() / parameters.FINE_BINS)
    expected = math.sqrt(sum(float(p.grad.square().sum()) for p in engine.model[0].parameters()))
    assert set(norms) == {"grad_norm/net.0", "grad_norm/net.2"}
    assert math.isclose(norms["grad_norm/net.0"], expected, rel_tol=1e-5)
    assert list(frame.history_steps) == [0, 1]


def test_the_history_of_percentiles_stays_bounded_and_keeps_the_newest_step():
    engine = Watched()
    watch = ParameterWatch(engine)
    for _ in range(parameters.MAX_HISTORY * 3):
        engine.train()
        frame, _ = watch.take()
    steps = list(frame.history_steps)
    assert len(steps) <= parameters.MAX_HISTORY + 1 and steps[-1] == engine.step and steps == sorted(steps)
    assert steps[0] <= 4                                                 # still reaches back to the start
    assert frame.history.shape == (len(steps), 4, 2, len(PERCENTILES))


def test_a_frame_survives_the_store_and_has_a_still_picture():
    engine = Watched()
    engine.train()
    frame, _ = ParameterWatch(engine).take()
    back = decode(*encode(frame))
    assert isinstance(back, ParameterStats) and back.names == frame.names
    np.testing.assert_array_equal(back.counts, frame.counts)
    np.testing.assert_array_equal(back.history, frame.history)
    picture = frame.still()
    assert picture.ndim == 2 and 0 <= picture.min() and picture.max() <= 1 and picture.max() > 0


def test_a_frame_whose_arrays_do_not_fit_its_tensors_is_refused():
    import pytest

    with pytest.raises(ValueError, match="ranges"):
        ParameterStats("weights_and_gradients", 1, ("a",), np.zeros((2, 2, 2)), np.zeros((1, 2, 4)),
                       np.zeros(1), np.zeros((1, 1, 2, 9)))
    with pytest.raises(ValueError, match="history"):
        ParameterStats("weights_and_gradients", 1, ("a",), np.zeros((1, 2, 2)), np.zeros((1, 2, 4)),
                       np.zeros(2), np.zeros((1, 1, 2, 9)))
