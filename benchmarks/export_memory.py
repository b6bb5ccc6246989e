"""Peak memory of exporting every panel of a long run, as GIF and as MP4: it must be bounded by one
picture's size, not by the number of pictures.

    python benchmarks/export_memory.py [--short 100] [--long 1000]

Builds two run stores with the RBM's four panels (64 chains, a 20x20 chain history, 64 filters, 32
reconstructions: 28x28 each) recorded at ``--short`` and ``--long`` time points, exports all four
panels side by side from each in a fresh process per export (``python -m studio export``), and
reads each process's peak resident memory. The last line is one JSON object: the peaks in MB, the
growth from the short to the long run, and the size of one exported picture in MB for scale.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PANELS = "chains,chain_history,filters,reconstructions"


def record(path: Path, points: int) -> None:
    """A run store of ``points`` recorded frame sets shaped like the RBM's (values drift slowly)."""
    from engines.boltzmann.frames import ChainHistory, ChainState
    from engines.core.frames import ImageGrid
    from engines.core.store import RunStore

    rng = np.random.default_rng(0)
    filters = rng.random((64, 28, 28)).astype(np.float32)
    store = RunStore.create(path, {"model": "rbm"})
    for i in range(points):
        step = 100 * (i + 1)
        probs = rng.random((64, 28, 28)).astype(np.float32) ** 4
        filters = np.clip(filters + 0.01 * rng.standard_normal(filters.shape, dtype=np.float32), 0, 1)
        rows = rng.random((20, 20, 28, 28)).astype(np.float32) ** 4
        store.add_frames([
            ChainState("chains", step, probs, (probs > 0.5).astype(np.uint8), np.full(64, 10 * i)),
            ChainHistory("chain_history", step, rows, np.arange(20) * 200 + 200 * i, 200),
            ImageGrid("filters", step, filters),
            ImageGrid("reconstructions", step, probs[:32], columns=16, reflow=False),
        ])
    store.close()


# ``python -m studio export ...`` in a process that reports its own peak resident memory (kB) last
EXPORT = ("import resource, runpy, sys\n"
          "sys.argv = ['studio'] + sys.argv[1:]\n"
          "try:\n    runpy.run_module('studio', run_name='__main__')\n"
          "except SystemExit as exit_:\n    assert not exit_.code, exit_.code\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def peak_mb(run: Path, out: Path) -> float:
    """Peak resident memory (MB) of one export process."""
    done = subprocess.run([sys.executable, "-c", EXPORT, "export", str(run), "--panel", PANELS,
                           "--out", str(out), "--scale", "2"], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"error: export failed: {done.stderr.strip()}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", type=int, default=100)
    p.add_argument("--long", type=int, default=1000)
    args = p.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="genstudio-export-memory-") as tmp:
        tmp = Path(tmp)
        for name, points in (("short", args.short), ("long", args.long)):
            t0 = time.perf_counter()
            record(tmp / name, points)
            print(f"{name}: recorded {points} frame sets in {time.perf_counter() - t0:.1f} s "
                  f"({(tmp / name / 'run.sqlite').stat().st_size / 2**20:.1f} MB)")
        for fmt in ("mp4", "gif"):
            for name in ("short", "long"):
                out = tmp / f"{name}.{fmt}"
                results[f"{fmt}_{name}_peak_mb"] = round(peak_mb(tmp / name, out), 1)
                print(f"{fmt} of the {name} run: peak {results[f'{fmt}_{name}_peak_mb']} MB, "
                      f"file {out.stat().st_size / 2**20:.1f} MB")
        from PIL import Image
        with Image.open(tmp / "short.gif") as gif:
            width, height = gif.size
    results["picture_mb"] = round(width * height * 3 / 2**20, 2)
    results["picture_size"] = f"{width}x{height}"
    results["frames"] = {"short": args.short, "long": args.long}
    for fmt in ("mp4", "gif"):
        results[f"{fmt}_growth_mb"] = round(results[f"{fmt}_long_peak_mb"] - results[f"{fmt}_short_peak_mb"], 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
