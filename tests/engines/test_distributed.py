"""torchrun: two CPU processes (gloo) train one run, each on its shard with its own noise, and stay
one model (DistributedDataParallel for the gradient-trained engines, averaged statistics for the
Boltzmann machines); rank 0 records it, resumes it and evaluates it."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines.core.checkpoints import latest_checkpoint, load_checkpoint
from engines.core.config import ConfigError
from engines.core.store import RunStore
from engines.registry import BUILTIN_MODELS, build_engine

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "GENSTUDIO_THREADS": "1", "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*args, nproc=2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={free_port()}",
            *map(str, args)]


def torchrun(*args, nproc=2):
    return subprocess.run(launch("-m", "engines", "train", *args, nproc=nproc), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)


def summaries(done) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_every_model_keeps_its_ranks_one_model():
    """Each model's smoke config, three to eight steps on two ranks: the same parameters on both
    (DDP, averaged statistics), batches from different shards, the same evaluation figures where
    the ranks share its work (AIS)."""
    done = subprocess.run(launch(ROOT / "tests" / "engines" / "ranks_agree.py", *BUILTIN_MODELS), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = {r["model"]: r for r in summaries(done)}
    assert set(results) == set(BUILTIN_MODELS)
    for model, result in results.items():
        assert result == {"model": model, "same_parameters": True, "own_batches": True, "same_evaluation": True}


def test_a_boltzmann_machine_trains_resumes_and_evaluates_under_torchrun(tmp_path):
    run = tmp_path / "rbm"
    smoke = ["--set", "hidden=16", "--set", "chains=4", "--set", "ais_runs=6", "--set", "ais_temperatures=60",
             "--set", "ais_max_temperatures=60"]
    done = subprocess.run([sys.executable, "-m", "engines", "train", "rbm", "--steps", "10", "--data", "digits",
                           *smoke, "--run-dir", str(run)], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    done = torchrun("--resume", run, "--steps", 10, "--eval")       # one process's run, continued by two
    assert done.returncode == 0, done.stderr[-3000:]
    (summary,) = summaries(done)
    assert summary["steps"] == 20 and summary["world_size"] == 2
    assert summary["eval"]["ais_runs"] == 6 and summary["eval"]["ais_temperatures"] == 60
    store = RunStore.open(run)
    assert store.meta()["status"] == "finished" and load_checkpoint(latest_checkpoint(store))["step"] == 20
    assert [kind for _, kind, _ in store.events()].count("resumed") == 1
    store.close()
    done = subprocess.run(launch("-m", "engines", "eval", run, "--json"), cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (metrics,) = summaries(done)                           # rank 0 prints; both ranks made AIS runs
    assert metrics["world_size"] == 2 and metrics["step"] == 20 and metrics["ais_runs"] == 6


def test_a_stop_signal_ends_every_rank_at_one_step_and_a_mirror_follows_rank_0_to_the_end(tmp_path):
    """Rank 0 serves its run (``--serve``) on the loopback interface; a mirror copies it while it
    trains; SIGTERM stops every rank at one step; the mirror ends with the run's last rows."""
    run, copy = tmp_path / "run", tmp_path / "copy"
    job = subprocess.Popen(launch("-m", "engines", "train", "vae", "--data", "digits", "--set", "hidden=16",
                                  "--set", "batch_size=16", "--steps", 1_000_000, "--run-dir", run, "--serve", 0),
                           cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in job.stderr:
        served = re.search(r"read-only on (http://127\.0\.0\.1:\d+)", line)
        if served:
            break
    else:
        raise AssertionError(f"no server line; {job.wait()}")
    mirror = subprocess.Popen([sys.executable, "-m", "engines", "mirror", served[1], "--token-file",
                               run / "serve-token", "--into", copy], cwd=ROOT, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (copy / "run.sqlite").exists() or not RunStore.open(copy).scalar_names():
        assert time.monotonic() < deadline and mirror.poll() is None, mirror.stderr.read() if mirror.poll() else ""
        time.sleep(0.2)
    job.send_signal(signal.SIGTERM)
    out, err = job.communicate(timeout=60)
    (summary,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert summary["status"] == "stopped", err[-2000:]
    store = RunStore.open(run)
    assert store.meta()["status"] == "stopped" and store.meta()["world_size"] == 2
    assert list(store.scalars("elbo")[0]) == list(range(1, summary["steps"] + 1))     # rank 0 records each step
    assert load_checkpoint(latest_checkpoint(store))["step"] == summary["steps"]
    _, mirror_err = mirror.communicate(timeout=60)
    assert mirror.returncode == 0, mirror_err
    copied = RunStore.open(copy)
    assert copied.meta()["status"] == "stopped" and copied.meta()["world_size"] == 2
    assert list(copied.scalars("elbo")[0]) == list(store.scalars("elbo")[0])
    copied.close()
    store.close()


def test_a_plug_in_that_does_not_say_how_its_ranks_stay_one_model_is_refused():
    with pytest.raises(ConfigError, match="toy cannot train under torchrun: its engine does not say how"):
        build_engine("toy", "digits", "cpu", shard=(1, 2))       # the test plug-in (tests/toy)


def test_processes_torchrun_starts_on_one_machine_share_its_cores(monkeypatch):
    from engines.core.device import default_threads

    monkeypatch.delenv("GENSTUDIO_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_threads() == 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_threads() == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "16")
    assert default_threads() == 1
    monkeypatch.setenv("GENSTUDIO_THREADS", "3")
    assert default_threads() == 3
