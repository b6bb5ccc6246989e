"""The studio's memory while it follows a long run: it must stay bounded (curves thinned in memory,
full resolution on disk; one frame per panel held).

    python benchmarks/long_run_memory.py [--steps 1000000] [--frames 10000]

A writer process records a run as fast as it can: ``--steps`` steps of three scalars and
``--frames`` frame sets (the toy engine's two panels plus a 16-image grid of 28x28 digits), while
this process shows it in the studio window (offscreen), following it as a user would with
``--open``. The studio's resident memory is read before the writer starts and once the window has
caught up with the finished run. The last line is one JSON object: the growth in MB (goal < 200),
the peak, the run's size and its size per 1,000 steps.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GENSTUDIO_ENGINES", "toy=tests.toy.spec:TOY_SPEC")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))          # the toy engine lives in tests/

WRITER = """
import sys, time
import numpy as np
from engines.core.frames import ImageGrid
from engines.core.store import RunStore
from engines.registry import build_engine, describe
from tests.toy.frames import Bars

path, steps, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = build_engine("toy", "digits", "cpu", 0)
store = RunStore.create(path, describe(engine, "digits"))
rng = np.random.default_rng(0)
digits = rng.random((16, 28, 28)).astype(np.float32)
every = max(1, steps // frames)
chunk = 10_000
for start in range(1, steps + 1, chunk):
    for step in range(start, min(steps, start + chunk - 1) + 1):
        x = step / steps
        store.add_scalars(step, {"loss": 1 / (1 + 10 * x) + 0.01 * np.sin(step), "lr": 0.1, "grad": x})
        if step % every == 0:
            digits = np.clip(digits + 0.01 * rng.standard_normal(digits.shape, dtype=np.float32), 0, 1)
            store.add_frames([ImageGrid("mean", step, digits[:1]), Bars("bars", step, digits[0, 0, :8]),
                              ImageGrid("digits", step, digits)])
    store.flush()
store.set_meta(status="finished", steps=steps)
store.close()
"""


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_for(seconds: float) -> None:
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1_000_000)
    p.add_argument("--frames", type=int, default=10_000)
    args = p.parse_args(argv)

    from PySide6 import QtCore, QtWidgets

    from engines.core.store import RunStore
    from studio.window import MainWindow

    QtCore.qInstallMessageHandler(lambda *a: None)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="genstudio-long-run-") as tmp:
        run = Path(tmp) / "run"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(run), str(args.steps), str(args.frames)],
                                  cwd=ROOT)
        while not (run / "run.sqlite").exists():
            time.sleep(0.05)
        window = MainWindow()
        window.resize(1400, 860)
        window.show()
        if not window.open_run(run):
            sys.exit(f"error: {window.error_text}")
        run_for(1.0)
        before = rss_mb()
        t0 = time.perf_counter()
        while writer.poll() is None:
            run_for(0.5)
        run_for(2.5)                       # one more follow round: the window catches up
        while window.viewer.following:
            run_for(0.5)
        elapsed = time.perf_counter() - t0
        after = rss_mb()
        steps_shown = int(window.curves.series("loss")[0][-1])
        points_held = len(window.curves.series("loss")[0])
        frames = window.viewer.steps
        window.close()
        app.processEvents()
        size = sum(f.stat().st_size for f in run.rglob("*") if f.is_file())
        store = RunStore.open(run)
        recorded = len(store.scalars("loss")[0])
        store.close()
    result = {"steps": args.steps, "frame_sets": len(frames), "steps_shown": steps_shown,
              "points_held_per_curve": points_held, "points_on_disk_per_curve": recorded,
              "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
              "rss_growth_mb": round(after - before, 1),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "run_mb": round(size / 2**20, 1), "run_mb_per_1000_steps": round(size / 2**20 / args.steps * 1000, 4),
              "seconds": round(elapsed, 1)}
    print(f"followed {args.steps:,} steps and {len(frames):,} frame sets in {elapsed:.0f} s; "
          f"memory {before:.0f} -> {after:.0f} MB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
