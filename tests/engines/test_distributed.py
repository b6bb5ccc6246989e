"""torchrun: two CPU processes (gloo) train one run, each on its shard with its gradients
averaged; rank 0 records it. Engines whose step is not a plain gradient step refuse clearly."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from engines.core.checkpoints import latest_checkpoint, load_checkpoint
from engines.core.store import RunStore

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENSTUDIO_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                           f"--master_port={free_port()}", "-m", "engines", "train", *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_two_processes_train_and_rank_0_records(tmp_path):
    run = tmp_path / "run"
    done = torchrun("vae", "--steps", 20, "--data", "digits", "--set", "hidden=16", "--set", "batch_size=16",
                    "--set", "iwae_k=4", "--frame-every", 10, "--no-early-frames", "--run-dir", run)
    assert done.returncode == 0, done.stderr[:3000] + "\n…\n" + done.stderr[-2000:]   # each rank's first words
    summaries = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1 and summaries[0]["world_size"] == 2 and summaries[0]["steps"] == 20
    store = RunStore.open(run)
    assert store.meta()["status"] == "finished" and store.meta()["world_size"] == 2
    assert list(store.scalars("elbo")[0]) == list(range(1, 21))
    assert load_checkpoint(latest_checkpoint(store))["step"] == 20
    assert store.frame_steps("samples") == [10, 20]
    store.close()


def test_an_engine_that_cannot_shard_says_why(tmp_path):
    done = torchrun("rbm", "--steps", 5, "--data", "digits", "--run-dir", tmp_path / "r")
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert ours and all("rbm cannot train under torchrun: it keeps persistent Gibbs chains" in line
                        for line in ours)            # (the traceback after it is torchrun's own report)
    assert not (tmp_path / "r").exists()


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
