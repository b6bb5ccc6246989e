"""Run by tests/engines/test_distributed.py under torchrun (two ranks): each model of the command
line, built from its smoke config, trains a few steps through the Runner (the DBM into its joint
phase); prints one JSON line per model on rank 0 with whether every rank ends with the same
parameters (the ranks are one model), whether their batches differed (each trained on its own
shard) and, for an engine that shares its evaluation among the ranks, whether every rank got the
same figures."""
import hashlib
import json
import sys

import torch
import torch.distributed as dist
from torch import nn

from engines.core import distributed
from engines.core.runner import Control, Runner, RunnerSettings
from engines.registry import build_engine, engine_class


def modules(engine) -> list[nn.Module]:
    found = [v for v in vars(engine).values() if isinstance(v, nn.Module)
             and not isinstance(v, nn.parallel.DistributedDataParallel)]
    return found + [m for duel in getattr(engine, "duels", []) for m in (duel.g, duel.d)]


def digest(tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(models: list[str]) -> None:
    distributed.start(torch.device("cpu"))
    rank, world_size = distributed.world()
    for model in models:
        cls = engine_class(model)
        overrides = dict(cls.smoke_overrides)
        if hasattr(cls.Config(), "watch_every"):
            overrides["watch_every"] = 0            # no sample checks: no digit classifier to build first
        engine = build_engine(model, cls.smoke_data, "cpu", 0, overrides, (rank, world_size))
        first = engine.batches.next(4)
        first = first[0] if isinstance(first, tuple) else first
        Runner(engine, None, Control(), RunnerSettings(max_steps=8, record_frames_every=0, checkpoint_every=0)).run()
        params = digest(p for m in modules(engine) for p in m.parameters())
        figures = {key: value for key, value in engine.evaluate().items() if key != "ais_seconds"} \
            if engine.evaluates_across_ranks else {}
        figures = json.dumps(figures, sort_keys=True)
        seen = [None] * world_size
        dist.all_gather_object(seen, (params, digest([first]), figures))
        if rank == 0:
            print(json.dumps({"model": model, "same_parameters": len({s[0] for s in seen}) == 1,
                              "own_batches": len({s[1] for s in seen}) == world_size,
                              "same_evaluation": len({s[2] for s in seen}) == 1}), flush=True)
        del engine                 # its DistributedDataParallel wrappers go before the process group
    distributed.stop(together=True)


if __name__ == "__main__":
    main(sys.argv[1:])
