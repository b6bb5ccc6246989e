"""The procedural renderer and the datasets it makes (toys3d, chairs3d)."""
import hashlib

import numpy as np
import pytest

from engines.data import DATASETS, DataError, dataset_problem, load_dataset
from engines.data.chairs3d import BACKGROUND, HELD_OUT, chair, render_chair
from engines.data.render3d import SHAPES, Part, render, rotation
from engines.data.toys3d import AZIMUTHS, ELEVATIONS, LIGHTINGS, render_toy, toy


@pytest.mark.parametrize("shape", SHAPES)
def test_lambert_shading_at_the_centre_of_each_primitive(shape):
    """Camera at azimuth 0, elevation 0 looks down −z at the part's surface normal (0, 0, 1): with
    the light along +z the centre pixel is albedo · (ambient + intensity); corners are background."""
    part = Part(shape, (0, 0, 0), (0.5, 0.5, 0.5), colour=(1.0, 0.5, 0.25))
    image, mask = render([part], [0], [0], size=9, lights=[((0, 0, 1), 0.5)], ambient=0.3, background=0.1,
                         supersample=1, distance=4.0)
    np.testing.assert_allclose(image[0, 4, 4], [0.8, 0.4, 0.2], atol=1e-5)
    assert mask[0, 4, 4] == 1 and mask[0, 0, 0] == 0
    np.testing.assert_allclose(image[0, 0, 0], [0.1, 0.1, 0.1])


def test_sphere_silhouette_has_the_projected_area():
    radius, distance, fov, size = 0.6, 4.0, 34.0, 64
    _, mask = render([Part("ellipsoid", (0, 0, 0), (radius,) * 3)], [10], [20], size=size, supersample=4,
                     distance=distance, fov=fov)
    # the silhouette is a disc of angular radius asin(r/D); the image half-width is tan(fov/2)
    r_px = np.tan(np.arcsin(radius / distance)) / np.tan(np.radians(fov) / 2) * size / 2
    assert mask.sum() == pytest.approx(np.pi * r_px ** 2, rel=0.03)


def test_depth_test_keeps_the_nearest_part_whatever_the_order():
    near = Part("box", (0, 0, 0.8), (0.2, 0.2, 0.1), colour=(1, 0, 0))
    far = Part("ellipsoid", (0, 0, 0), (0.6, 0.6, 0.6), colour=(0, 0, 1))
    for parts in ([near, far], [far, near]):
        image, _ = render(parts, [0], [0], size=15, supersample=1, distance=4.0)
        assert image[0, 7, 7, 0] > 0 and image[0, 7, 7, 2] == 0          # the red box in front
        assert image[0, 7, 5, 2] > 0 and image[0, 7, 5, 0] == 0          # the blue sphere around it


def test_rendering_is_deterministic_and_seeded():
    assert np.array_equal(render_toy(toy(2, 3), 16), render_toy(toy(2, 3), 16))
    a, b = toy(0, 1), toy(0, 1, seed=7)
    assert any(not np.allclose(p.size, q.size) for p, q in zip(a, b))
    first = render_chair(chair(5), 16, [0, 90], [20, 30])
    second = render_chair(chair(5), 16, [0, 90], [20, 30])
    assert all(np.array_equal(x, y) for x, y in zip(first, second))


def test_masks_match_the_images():
    image, mask = render_chair(chair(11), 32, AZIMUTHS[:6], [20] * 6)
    background = np.all(image == np.asarray(BACKGROUND, dtype=np.float32), axis=-1)
    assert np.all(background[mask == 0])                 # uncovered pixels are exactly background
    assert not np.any(background[mask == 1] & (image[mask == 1].max(-1) < 1))   # covered ones are shaded
    assert np.all(mask[~background] > 0)                 # every non-background pixel is covered
    assert 0.05 < mask.mean() < 0.6 and 0 <= image.min() and image.max() <= 1


def test_toys_train_and_test_hold_different_instances():
    data = load_dataset("toys3d:16")
    views = len(ELEVATIONS) * len(AZIMUTHS) * len(LIGHTINGS)
    assert data.train.shape == (25 * views, 1, 16, 16) and data.test.shape == data.train.shape
    assert set(data.train_info["instance"]) == {0, 1, 2, 3, 4} and set(data.test_info["instance"]) == {5, 6, 7, 8, 9}
    assert np.array_equal(np.bincount(data.train_labels), np.full(5, 5 * views))
    assert set(data.train_info["elevation"]) == set(ELEVATIONS) and set(data.test_info["azimuth"]) == set(AZIMUTHS)
    digest = lambda images: {hashlib.sha1(x.tobytes()).hexdigest() for x in images}  # noqa: E731
    assert not digest(data.train) & digest(data.test)
    assert data.train.dtype == np.float32 and 0 <= data.train.min() and data.train.max() <= 1


def test_chairs_hold_out_some_views_of_every_chair():
    data = load_dataset("chairs3d:16")
    triples = lambda info: set(zip(info["model"], info["azimuth"], info["elevation"]))  # noqa: E731
    assert not triples(data.train_info) & triples(data.test_info)
    chairs = int(data.train_info["model"].max()) + 1
    assert np.array_equal(np.bincount(data.test_info["model"], minlength=chairs), np.full(chairs, HELD_OUT))
    assert data.train.shape[1:] == (3, 16, 16) and data.train_masks.shape == (len(data.train), 16, 16)
    assert data.test_masks.shape == (len(data.test), 16, 16)


def test_dataset_specs():
    assert "toys3d" in DATASETS and "chairs3d" in DATASETS
    assert dataset_problem("toys3d:64") is None and dataset_problem("chairs3d") is None
    for bad in ("toys3d:17", "toys3d:abc", "chairs3d:0"):
        with pytest.raises(DataError, match="size must be one of"):
            load_dataset(bad)


def test_part_checks_its_shape_and_size():
    with pytest.raises(ValueError, match="unknown part shape"):
        Part("cone", (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        Part("box", (0, 0, 0), (1, 0, 1), rotation(y=30))
