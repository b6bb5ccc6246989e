"""Training speed per torchrun world size, and what the processes spend communicating.

    python benchmarks/distributed.py [--models vae,dcgan,...] [--worlds 1,2] [--seconds 6] [--smoke]

For each model (default: every built-in one, with its default config and data; ``--smoke``: the
tests' tiny configs) and world size, ``torchrun --nproc_per_node=W`` (gloo, one thread per process)
trains it through the Runner, as ``python -m engines train`` does, for ``--seconds`` after three
warm-up steps. World size 1 is a plain process: no process group, no wrapper, no collective.

Figures per model and world size: ``steps_per_s``; ``images_per_s`` (steps/s × batch × world size:
each rank trains on a batch of its own); ``comm_ms_per_step``, the wall time per step from the
start to the end of each all-reduce a step makes (DistributedDataParallel's gradient buckets, through
a comm hook that times the default all-reduce; the Boltzmann machines' statistics; the stop vote and
the mean of the scalars), summed: DDP's buckets overlap the backward pass, so part of it is hidden,
and it includes waiting for the slower rank; ``comm_mb_per_step``, what one rank sends into those
all-reduces. ``speedup`` is images/s at the largest world size over images/s at 1.

The last line is a JSON object: ``{"vae": {"1": {...}, "2": {...}, "speedup": …}, …}``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WARMUP_STEPS = 3


class CommClock:
    """Wall time and bytes of every all-reduce this process makes (DDP buckets and the rest)."""

    def __init__(self):
        self.seconds, self.bytes = 0.0, 0

    def ddp_hook(self, state, bucket):
        """A DDP comm hook: the default one (all-reduce, then divide by the world size), timed."""
        import torch.distributed as dist

        began, buffer = time.perf_counter(), bucket.buffer()
        self.bytes += buffer.numel() * buffer.element_size()
        future = dist.all_reduce(buffer, async_op=True).get_future()

        def finished(done):
            self.seconds += time.perf_counter() - began
            return done.value()[0].div_(dist.get_world_size())
        return future.then(finished)

    def timed(self, all_reduce):
        """``torch.distributed.all_reduce``, timed (the collectives of engines.core.distributed)."""
        def all_reduce_timed(tensor, *args, **kwargs):
            began = time.perf_counter()
            out = all_reduce(tensor, *args, **kwargs)
            self.seconds += time.perf_counter() - began
            self.bytes += tensor.numel() * tensor.element_size()
            return out
        return all_reduce_timed


def ddp_modules(engine) -> list:
    """The DistributedDataParallel wrappers an engine trains through."""
    from torch.nn.parallel import DistributedDataParallel

    found = [v for v in vars(engine).values() if isinstance(v, DistributedDataParallel)]
    for duel in getattr(engine, "duels", []):
        found += [m for m in (duel.train_g, duel.train_d) if isinstance(m, DistributedDataParallel)]
    return found


def worker(model: str, seconds: float, smoke: bool) -> None:
    """One rank: train ``model`` for ``seconds`` after the warm-up; rank 0 prints its figures."""
    import torch
    import torch.distributed as dist

    from engines.core import distributed
    from engines.core.runner import Control, Runner, RunnerSettings
    from engines.registry import build_engine, engine_class

    torch.set_num_threads(1)
    rank, world_size = distributed.world()
    distributed.start(torch.device("cpu"))
    cls = engine_class(model)
    data, overrides = (cls.smoke_data, dict(cls.smoke_overrides)) if smoke else (None, dict(cls.steady_overrides))
    engine = build_engine(model, data, "cpu", 0, overrides, (rank, world_size))
    clock = CommClock()
    for module in ddp_modules(engine):
        module.register_comm_hook(None, clock.ddp_hook)
    dist.all_reduce = clock.timed(dist.all_reduce)

    def train(steps: int | None, stop_after: float | None = None) -> int:
        control = Control()
        began, first = time.perf_counter(), engine.step

        def on_step(*_):
            if stop_after is not None and time.perf_counter() - began >= stop_after:
                control.stop()
        settings = RunnerSettings(max_steps=None if steps is None else engine.step + steps,
                                  record_frames_every=0, checkpoint_every=0)
        Runner(engine, None, control, settings, on_step=on_step).run()
        return engine.step - first

    train(WARMUP_STEPS)
    clock.seconds, clock.bytes = 0.0, 0
    began = time.perf_counter()
    steps = train(None, seconds)
    elapsed = time.perf_counter() - began
    if rank == 0:
        batch = getattr(engine.config, "batch_size", 1)
        print(json.dumps({"steps": steps, "steps_per_s": round(steps / elapsed, 2),
                          "images_per_s": round(steps / elapsed * batch * world_size, 1), "batch": batch,
                          "comm_ms_per_step": round(1000 * clock.seconds / steps, 3) if world_size > 1 else 0.0,
                          "comm_mb_per_step": round(clock.bytes / steps / 2**20, 4) if world_size > 1 else 0.0}),
              flush=True)
    distributed.stop(together=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(model: str, world_size: int, seconds: float, smoke: bool) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENSTUDIO_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={world_size}",
               f"--master_port={free_port()}", __file__, "--worker", model, "--seconds", str(seconds),
               *(["--smoke"] if smoke else [])]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{model} at world size {world_size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from engines.registry import BUILTIN_MODELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(BUILTIN_MODELS))
    parser.add_argument("--worlds", default="1,2")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--smoke", action="store_true", help="the tests' tiny configs (a quick check of the script)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.seconds, args.smoke)
        return
    worlds = [int(w) for w in args.worlds.split(",")]
    results = {}
    for model in args.models.split(","):
        figures = {str(w): measured(model, w, args.seconds, args.smoke) for w in worlds}
        figures["speedup"] = round(figures[str(worlds[-1])]["images_per_s"] / figures[str(worlds[0])]["images_per_s"], 2)
        results[model] = figures
        print(model, json.dumps(figures), file=sys.stderr, flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
