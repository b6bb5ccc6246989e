"""How many frames a default run records of its main panel, and how fast a long run's store grows.

    python benchmarks/frame_schedule.py [--models rbm,vae,dcgan] [--steps 2000] [--long-steps 100000]

Trains each model headless for ``--steps`` with its defaults (``python -m engines train M --steps N``:
early frames on, the 200-step cadence, a frame at least every 30 s) and counts the frames recorded of
its main view's first frame; then trains the default RBM for ``--long-steps`` (0: skip) and reports
its store (``run.sqlite``) per 1,000 steps, and its kept checkpoints beside it. Each run in a temp
folder. The last line is a JSON object: ``{"rbm": {"frames": …, "store_mb": …, "seconds": …}, …,
"rbm_long": {"steps": …, "frames": …, "store_mb": …, "mb_per_1000": …, "checkpoints_mb": …}}``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main_frame(model: str) -> str:
    from engines.registry import model_spec

    return next(view for view in model_spec(model).views if view.area == "main").frames[0]


def trained(model: str, steps: int, folder: Path) -> dict:
    """Train ``model`` for ``steps`` into ``folder``; its main frames, store size and wall time."""
    from engines.core.store import RunStore

    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "engines", "train", model, "--steps", str(steps), "--run-dir", str(folder)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    store = RunStore.open(folder)
    try:
        frames = len(store.frame_steps(main_frame(model)))
    finally:
        store.close()
    checkpoints = sum(p.stat().st_size for p in (folder / "checkpoints").glob("*.pt"))
    return {"frames": frames, "store_mb": round((folder / "run.sqlite").stat().st_size / 2**20, 2),
            "checkpoints_mb": round(checkpoints / 2**20, 2), "seconds": round(seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="rbm,vae,dcgan")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--long-steps", type=int, default=100_000)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="genstudio-frames-") as tmp:
        for model in args.models.split(","):
            results[model] = trained(model, args.steps, Path(tmp) / model)
            print(f"{model}: {results[model]}", flush=True)
        if args.long_steps:
            long = trained("rbm", args.long_steps, Path(tmp) / "rbm-long")
            long.update(steps=args.long_steps, mb_per_1000=round(long["store_mb"] / (args.long_steps / 1000), 3))
            results["rbm_long"] = long
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
