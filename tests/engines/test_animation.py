"""Animations of a model's own dynamics from a run's checkpoint (``python -m engines animate``)."""
import numpy as np
import pytest

from engines.animation import animatable_views, animate
from engines.core.runner import Runner, RunnerSettings
from engines.core.store import RunStore
from engines.records.export import ExportError
from engines.registry import build_engine, engine_class
from engines.runs import new_run, restore_engine


def recorded(model: str, folder, steps: int = 5):
    cls = engine_class(model)
    engine = build_engine(model, cls.smoke_data, "cpu", 0, dict(cls.smoke_overrides))
    store = new_run(engine, cls.smoke_data, folder / model)
    Runner(engine, store, settings=RunnerSettings(max_steps=steps)).run()
    store.close()
    store = RunStore.open(folder / model)
    try:
        return restore_engine(store, "cpu")
    finally:
        store.close()


def decoded(path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.mark.parametrize("model", ["rbm", "dbm"])
def test_300_gibbs_sweeps_from_a_checkpoint_make_an_mp4_that_decodes(model, tmp_path):
    engine = recorded(model, tmp_path)
    state = {k: v.clone() for k, v in engine.model.state_dict().items()}
    assert animatable_views(engine.views) == ["chains"]
    assert animate(engine, "chains", 300, tmp_path / "chains.mp4", fps=30) == 300
    pictures = decoded(tmp_path / "chains.mp4")
    assert len(pictures) == 300 and pictures[0].shape[0] % 2 == 0 and pictures[0].shape[1] % 2 == 0
    band = 30                                        # the caption ("sweep N") sits above the chains
    assert not np.array_equal(pictures[0][band:], pictures[-1][band:])          # the chains moved
    assert not np.array_equal(pictures[0][:band], pictures[1][:band])           # each labelled anew
    assert all(np.array_equal(v, engine.model.state_dict()[k]) for k, v in state.items())   # weights kept


def test_a_view_without_dynamics_of_its_own_is_refused_in_one_line(tmp_path):
    engine = recorded("rbm", tmp_path)
    with pytest.raises(ExportError, match="changes only with training.*views that animate: chains"):
        animate(engine, "filters", 10, tmp_path / "f.gif")
    with pytest.raises(ExportError, match="no view 'nothing'"):
        animate(engine, "nothing", 10, tmp_path / "f.gif")


def test_a_walk_through_the_vae_latent_plane_loops_from_the_grid_shown(tmp_path):
    engine = recorded("vae", tmp_path)
    assert animatable_views(engine.views) == ["latent_grid", "traversals", "samples"]
    assert animate(engine, "latent_grid", 24, tmp_path / "walk.mp4", fps=24) == 24
    pictures = decoded(tmp_path / "walk.mp4")
    assert len(pictures) == 24 and max(pictures[0].shape[:2]) <= 4096
    shown = next(f for f in engine.frames({"latent_grid"}) if f.name == "latent_grid")
    np.testing.assert_allclose(engine.latent_grid_walk(0.0).images, shown.images, atol=1e-6)  # starts at the grid
    band = 30
    moved = [not np.array_equal(a[band:], b[band:]) for a, b in zip(pictures, pictures[1:])]
    assert all(moved)                                                         # every picture a step on


def test_a_gan_latent_loop_starts_at_the_fixed_noise_samples(tmp_path):
    engine = recorded("dcgan", tmp_path)
    samples = next(f for f in engine.frames({"samples"}) if f.name == "samples")
    np.testing.assert_allclose(engine.interpolation_loop(0.0).images, samples.images, atol=1e-5)
    assert animate(engine, "interpolation", 8, tmp_path / "loop.gif") == 8


def test_each_glimpse_of_a_playback_is_labelled(tmp_path):
    engine = recorded("draw", tmp_path)
    count = animate(engine, "attention", 1, tmp_path / "glimpses.mp4")
    pictures = decoded(tmp_path / "glimpses.mp4")
    assert count == len(pictures) == engine.config.T > 1
    band = 30
    assert not np.array_equal(pictures[0][:band], pictures[1][:band])          # "glimpse 1/T", "glimpse 2/T"
