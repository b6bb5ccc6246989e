"""Resuming a run: bitwise the same as an uninterrupted one on CPU, after a stop or a SIGKILL, in
the same run directory, with what was recorded after the checkpoint set aside, not mixed in."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from engines.cli import main as cli_main
from engines.core.checkpoints import latest_checkpoint, load_checkpoint
from engines.core.store import RunStore, writer_alive
from engines.registry import engine_class
from tests.engines.training import assert_same, fill_the_disk_when

ROOT = Path(__file__).parents[2]


def smoke_args(model: str) -> list[str]:
    cls = engine_class(model)
    args = ["--data", cls.smoke_data, "--device", "cpu", "--frame-every", "10"]
    for key, value in cls.smoke_overrides.items():
        args += ["--set", f"{key}={','.join(map(str, value)) if isinstance(value, tuple) else value}"]
    return args


def final_state(run_dir: Path) -> dict:
    store = RunStore.open(run_dir)
    try:
        return load_checkpoint(latest_checkpoint(store))
    finally:
        store.close()


@pytest.mark.parametrize("model", ["rbm", "vae"])
def test_a_resumed_run_ends_bitwise_as_an_uninterrupted_one(model, tmp_path, capsys):
    torch.set_num_threads(1)
    args = smoke_args(model)
    assert cli_main(["train", model, "--steps", "40", "--run-dir", str(tmp_path / "whole"), *args]) == 0
    assert cli_main(["train", model, "--steps", "17", "--run-dir", str(tmp_path / "parts"), *args]) == 0
    assert cli_main(["train", "--resume", str(tmp_path / "parts"), "--steps", "23"]) == 0
    capsys.readouterr()
    whole, parts = final_state(tmp_path / "whole"), final_state(tmp_path / "parts")
    assert parts["step"] == whole["step"] == 40
    assert_same(whole, parts)
    store = RunStore.open(tmp_path / "parts")
    assert store.meta()["status"] == "finished"
    assert ("resumed", "resumed from the checkpoint at step 17") in [(k, m) for _, k, m in store.events()]
    store.close()


def run_with_a_live_edit(run_dir: Path, until: int, name: str, value) -> None:
    """Continue the run at ``run_dir`` to step ``until``, ``name`` set to ``value`` live before its
    first step (as the studio sends an edit), and record where it stopped."""
    from engines.core.runner import Control, Runner, RunnerSettings
    from engines.runs import resume_run

    store, engine = resume_run(run_dir, "cpu")
    control = Control()
    control.set(name, value)
    Runner(engine, store, control, RunnerSettings(max_steps=until, record_frames_every=10)).run()
    store.close()


@pytest.mark.parametrize("model, name, value", [("rbm", "lr", 0.05), ("vae", "lr", 0.003)])
def test_a_resumed_run_keeps_its_live_edits_and_ends_bitwise_as_an_uninterrupted_one(model, name, value,
                                                                                     tmp_path, capsys):
    torch.set_num_threads(1)
    args = smoke_args(model)
    for run in ("whole", "parts"):
        assert cli_main(["train", model, "--steps", "10", "--run-dir", str(tmp_path / run), *args]) == 0
    run_with_a_live_edit(tmp_path / "whole", 40, name, value)
    run_with_a_live_edit(tmp_path / "parts", 17, name, value)
    assert cli_main(["train", "--resume", str(tmp_path / "parts"), "--steps", "23"]) == 0
    capsys.readouterr()
    whole, parts = final_state(tmp_path / "whole"), final_state(tmp_path / "parts")
    assert parts["step"] == whole["step"] == 40
    assert parts["live_config"][name] == value
    assert_same(whole, parts)
    store = RunStore.open(tmp_path / "parts")
    assert store.meta()["config"][name] == value        # what the form and the runs table show
    assert (10, "set", f"{name}={value!r}") in store.events()
    store.close()


def test_a_checkpoint_whose_live_config_is_out_of_range_is_refused(tmp_path, capsys):
    from engines.core.checkpoints import CheckpointError
    from engines.runs import restore_engine

    assert cli_main(["train", "rbm", "--steps", "5", "--run-dir", str(tmp_path / "run"), *smoke_args("rbm")]) == 0
    store = RunStore.open(tmp_path / "run", writable=True)
    checkpoint = latest_checkpoint(store)
    state = load_checkpoint(checkpoint)
    state["live_config"]["lr"] = -1.0
    torch.save(state, checkpoint)
    with pytest.raises(CheckpointError, match="does not fit"):
        restore_engine(store, "cpu")
    store.close()


def test_a_full_disk_ends_training_in_one_line_and_a_stopped_run_that_resumes(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    full = {"now": False}
    fill_the_disk_when(monkeypatch, lambda: full["now"])
    assert cli_main(["train", "toy", "--steps", "100", "--checkpoint-every", "50", "--run-dir", str(run)]) == 0
    full["now"] = True
    assert cli_main(["train", "--resume", str(run), "--steps", "30"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[-1] == (f"error: the disk is full: cannot write to the run in {run}; "
                          "its last checkpoint is step-000000100.pt")
    assert "Traceback" not in "\n".join(errors)
    store = RunStore.open(run)
    assert store.meta()["status"] == "stopped" and latest_checkpoint(store).name == "step-000000100.pt"
    store.close()
    full["now"] = False                                   # space freed: the run goes on from step 100
    assert cli_main(["train", "--resume", str(run), "--steps", "30"]) == 0
    assert final_state(run)["step"] == 130


def test_a_killed_trainer_leaves_a_crashed_run_that_resumes_from_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen([sys.executable, "-m", "engines", "train", "toy", "--steps", "10000000",
                                "--checkpoint-every", "500", "--frame-every", "100", "--run-dir", str(run)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (run / "run.sqlite").exists() and len(list((run / "checkpoints").glob("step-*.pt"))) >= 3:
                break
            time.sleep(0.05)
        assert writer_alive(run) is True
        time.sleep(0.3)
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(10)
    finally:
        if trainer.poll() is None:
            trainer.kill()
    from engines.records.replay import RecordedRun

    recorded = RecordedRun(run)
    assert recorded.status == "crashed" and not recorded.running
    recorded.close()
    store = RunStore.open(run)
    checkpoint_step = load_checkpoint(latest_checkpoint(store))["step"]
    last = store.last_step()
    assert store._query("PRAGMA integrity_check")[0][0] == "ok"
    store.close()
    done = subprocess.run([sys.executable, "-m", "engines", "train", "--resume", str(run), "--steps", "200"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["steps"] == checkpoint_step + 200 and summary["status"] == "finished"
    store = RunStore.open(run)
    steps = store.scalars("loss")[0]
    assert list(steps[:checkpoint_step]) == list(range(1, checkpoint_step + 1))   # kept from before
    assert len(steps) == len(set(steps.tolist()))                          # the set-aside steps not mixed in
    events = [m for _, k, m in store.events() if k == "resumed"]
    if last > checkpoint_step:
        assert f"steps {checkpoint_step + 1} to {last} set aside" in events[0]
    store.close()


def test_resume_refuses_a_run_another_process_writes_and_options_that_would_change_it(tmp_path, capsys):
    store = RunStore.create(tmp_path / "run", {"model": "toy", "config": {}})
    assert cli_main(["train", "--resume", str(tmp_path / "run")]) == 2
    assert "being written by another process" in capsys.readouterr().err
    store.close()
    assert cli_main(["train", "--resume", str(tmp_path / "run"), "--set", "lr=1"]) == 2
    assert "only --steps" in capsys.readouterr().err
    assert cli_main(["train"]) == 2
    assert "name a model" in capsys.readouterr().err
