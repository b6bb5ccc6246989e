"""TensorBoard export, read back with TensorBoard's own event reader."""
import pytest

from engines.cli import main as cli_main
from engines.core.runner import Runner, RunnerSettings
from engines.core.store import RunStore
from engines.registry import build_engine, describe

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_scalars_images_and_events_read_back_with_tensorboards_reader(tmp_path, capsys):
    engine = build_engine("toy", "digits", "cpu", 0)
    store = RunStore.create(tmp_path / "run", describe(engine, "digits"))
    store.add_event(0, "set", "lr=0.2")
    Runner(engine, store, settings=RunnerSettings(max_steps=40, record_frames_every=20)).run()
    store.close()
    assert cli_main(["export-tb", str(tmp_path / "run"), str(tmp_path / "tb")]) == 0
    assert "40 scalars" in capsys.readouterr().out
    events = event_accumulator.EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert "loss" in tags["scalars"] and {"mean", "bars"} <= set(tags["images"])
    assert [e.step for e in events.Scalars("loss")] == list(range(1, 41))
    assert [e.step for e in events.Images("bars")] == [20, 40]
    assert events.Images("bars")[0].height == 20


def test_export_tb_of_a_missing_run_is_one_error_line(tmp_path, capsys):
    assert cli_main(["export-tb", str(tmp_path / "nope"), str(tmp_path / "tb")]) == 2
    assert capsys.readouterr().err.startswith("error: no run directory")
