"""The deconvolutional chair generator: shapes, transformations, learning, held-out evaluation,
slider calls and frames."""
import math

import numpy as np
import pytest
import torch

from engines.core.config import ConfigError
from engines.core.frames import ImageGrid, decode, encode
from engines.data.base import DataError
from engines.deconv.frames import ChairView, Turntable
from engines.deconv.model import ChairGenerator, hue_rotation, transform
from engines.registry import build_engine


def small(seed=0, **overrides):
    return build_engine("chairs", "chairs3d:16", "cpu", seed,
                        {"width": 16, "hidden": 64, "batch_size": 16, **overrides})


def test_generator_output_shapes():
    for size, ups in ((16, 2), (64, 4)):
        model = ChairGenerator(7, size, width=16, hidden=32)
        rgb, logits = model(torch.eye(7)[:3], torch.zeros(3, 4), torch.zeros(3, 5))
        assert rgb.shape == (3, 3, size, size) and logits.shape == (3, 1, size, size)
        assert 0 <= float(rgb.detach().min()) and float(rgb.detach().max()) <= 1
        assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in model.up) == ups
    with pytest.raises(ValueError, match="8, 16, 32, 64"):
        ChairGenerator(7, 48)


def test_transformations():
    engine = small()
    s = engine.train_set
    images, masks = s["images"][:4], s["masks"][:4]
    identity = torch.tensor([[1.0, 0, 0, 1.0, 0]]).expand(4, -1)
    same, same_mask = transform(images, masks, identity, engine.background)
    assert torch.allclose(same, images, atol=1e-5) and torch.allclose(same_mask, masks, atol=1e-5)
    zoomed = transform(images, masks, torch.tensor([[1.25, 0, 0, 1.0, 0]]).expand(4, -1), engine.background)[1]
    assert float(zoomed.sum() / masks.sum()) == pytest.approx(1.25 ** 2, rel=0.1)
    bright, bright_mask = transform(images, masks, torch.tensor([[1.0, 0, 0, 1.4, 0]]).expand(4, -1),
                                    engine.background)
    outside = bright_mask[:, 0] == 0
    assert torch.all(bright.permute(0, 2, 3, 1)[outside] == 1)           # the white background stays
    # a third of a turn about the grey axis maps (r, g, b) to (b, r, g)
    assert torch.allclose(hue_rotation(torch.tensor([1 / 3]))[0] @ torch.tensor([0.9, 0.5, 0.1]),
                          torch.tensor([0.1, 0.9, 0.5]), atol=1e-6)


def test_loss_falls_over_50_steps():
    engine = small(augment=0.0, lr=3e-3)
    losses = [engine.train_step()["loss"] for _ in range(50)]
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


def test_held_out_views_are_never_trained_on_and_the_baseline_is_the_nearest_view():
    engine = small()
    tr, te = engine.train_set, engine.test_set
    key = lambda s: set(zip(*(s[k].tolist() for k in ("chair", "azimuth", "elevation"))))  # noqa: E731
    assert not key(tr) & key(te)
    assert len(engine.batches.images) == len(tr["chair"])      # the sampler only indexes training views
    nearest = engine.nearest_training_view()
    assert torch.equal(tr["chair"][nearest], te["chair"])
    d = (tr["azimuth"][nearest] - te["azimuth"]).abs() % 360
    assert int(torch.minimum(d, 360 - d).max()) <= 15
    result = engine.evaluate()
    assert set(result) >= {"heldout_mse", "baseline_mse", "mask_iou"} and result["heldout_views"] == len(te["chair"])
    assert 0 <= result["mask_iou"] <= 1 and result["baseline_mse"] > 0


def test_set_view_clamps_or_refuses():
    engine = small()
    assert engine.set_view(3, 400, 90, 2, 0.1) == (3, 40.0, 60.0, 1.25, 0.6)
    assert engine.set_view("2", -30, -5, 1.0, 1.0) == (2, 330.0, 0.0, 1.0, 1.0)
    for bad in ((engine.n_chairs, 0, 20), (-1, 0, 20), (1.5, 0, 20)):
        with pytest.raises(ValueError, match="chair must be"):
            engine.set_view(*bad)
    with pytest.raises(ValueError, match="numbers"):
        engine.set_view("abc", 0, 20)
    with pytest.raises(ValueError, match="finite"):
        engine.set_view(0, math.nan, 20)
    assert engine.request == (2, 330.0, 0.0, 1.0, 1.0)     # a refused call changes nothing


def test_bad_config_and_data_are_refused():
    with pytest.raises(ConfigError, match="augment"):
        build_engine("chairs", "chairs3d:16", "cpu", 0, {"augment": 2})
    with pytest.raises(DataError, match="chairs3d"):
        build_engine("chairs", "digits", "cpu", 0, {})
    with pytest.raises(DataError, match="8, 16, 32, 64"):
        build_engine("chairs", "chairs3d:24", "cpu", 0, {})


def test_frames_follow_the_sliders_and_live_fields():
    engine = small(turntable_chair=999, morph_from=1, morph_to=4)
    engine.train_step()
    te = engine.test_set
    engine.set_view(int(te["chair"][0]), float(te["azimuth"][0]), float(te["elevation"][0]))
    frames = {f.name: f for f in engine.frames()}
    assert set(frames) == {"sliders", "turntable", "morph", "heldout"}
    view = frames["sliders"]
    assert isinstance(view, ChairView) and view.status == "held-out view" and view.chairs == engine.n_chairs
    assert view.generated.shape == (16, 16, 3) and view.mask.shape == (16, 16) and view.still().shape == (16, 50, 3)
    np.testing.assert_allclose(view.truth, te["images"][0].permute(1, 2, 0).numpy(), atol=1 / 255)
    turntable = frames["turntable"]
    assert isinstance(turntable, Turntable) and turntable.chair == engine.n_chairs - 1
    assert len(turntable.animation()) == 24 and turntable.animation()[0].shape == (16, 16, 3)
    assert turntable.still().shape == (16, 24 * 17 - 1, 3)
    assert decode(*encode(turntable)).chair == turntable.chair
    again = {f.name: f for f in engine.frames({"sliders", "turntable"})}
    assert again["sliders"].repeats(view) and again["turntable"].repeats(turntable)
    engine.set_view(0, 7, 20)
    assert not {f.name: f for f in engine.frames({"sliders"})}["sliders"].repeats(view)
    assert isinstance(frames["morph"], ImageGrid) and frames["morph"].images.shape == (16, 16, 16, 3)
    assert frames["heldout"].images.shape == (24, 16, 16, 3)
    tr = engine.train_set
    engine.set_view(int(tr["chair"][0]), float(tr["azimuth"][0]), float(tr["elevation"][0]))
    assert [f.status for f in engine.frames({"sliders"})] == ["training view"]
    engine.set_view(0, 7, 20)
    assert [f.status for f in engine.frames({"sliders"})] == ["new view"]


def test_a_display_copy_keeps_its_slider_request_when_a_state_loads():
    """The view asked for is the display copy's own (the contract checks the rest of the round trip)."""
    a = small()
    for _ in range(3):
        a.train_step()
    display = small()
    display.set_view(5, 45, 30)
    display.load_state_dict(a.state_dict())
    assert display.step == 3 and display.request == (5, 45.0, 30.0, 1.0, 1.0)
