"""Forward AIS of a recorded RBM or DBM run with float32 and with float64 log-weight increments, on
the same chains (the samples come from float32 inputs either way, so only the summing differs):
how much float32 moves log Z, and what float64 costs.

    python benchmarks/ais_precision.py RUN_DIR [--temperatures 14500] [--runs 100]

The last line is a JSON object: ``log_z`` and ``seconds`` per precision and
``float32_minus_float64`` (nats).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines.boltzmann.ais import DBMPath, RBMPath, ais_log_z, default_betas  # noqa: E402
from engines.core.store import RunStore  # noqa: E402
from engines.runs import restore_engine  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--temperatures", type=int, default=14_500)
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()
    store = RunStore.open(args.run_dir)
    try:
        engine = restore_engine(store, "cpu")
    finally:
        store.close()
    if engine.name == "rbm":
        path_class, c_base = RBMPath, engine.base_hidden_bias()
    else:
        path_class, c_base = DBMPath, engine.base_hidden_biases()
    out = {"run_dir": args.run_dir, "model": engine.name, "temperatures": args.temperatures, "runs": args.runs}
    with torch.no_grad():
        for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
            began = time.perf_counter()
            z = ais_log_z(path_class(engine.model, engine.b_base, c_base, dtype=dtype), args.runs,
                          default_betas(args.temperatures), torch.Generator().manual_seed(5))
            out[name] = {"log_z": z["log_z"], "seconds": round(time.perf_counter() - began, 1)}
    out["float32_minus_float64"] = out["float32"]["log_z"] - out["float64"]["log_z"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
