"""How long a user waits for the first picture: from ``python main.py`` to the main panel's first
painted picture of the model training, in one process started as a user starts it.

    python benchmarks/first_picture.py [--model rbm] [--runs 3]

Each run starts ``python main.py --model MODEL`` (offscreen Qt, a new HOME and runs folder, the
dataset cache already built: a first use's build is timed by the README's build figures, not here)
and reads the studio's startup log (``GENSTUDIO_DEBUG_STARTUP``) for the window shown and the first
picture painted, timed from the moment the process was started; then the studio is closed with
SIGTERM, as a user's Ctrl+C does. The last line printed is one JSON object: the median seconds to
the window (``window_s``) and to the first picture (``first_picture_s``), and each run's.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120


def one_run(model: str) -> tuple[float, float]:
    """(seconds to the window, seconds to the first picture) of one start of the studio."""
    work = Path(tempfile.mkdtemp(prefix="genstudio-first-"))
    (work / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(work / "home"), GENSTUDIO_RUNS=str(work / "runs"), GENSTUDIO_DEBUG_STARTUP="1",
               QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"))
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "main.py", "--model", model], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    window = picture = None
    try:
        for line in app.stderr:
            if "[genstudio]" in line and "window shown" in line and window is None:
                window = time.perf_counter() - started
            if "[genstudio]" in line and "first picture painted" in line:
                picture = time.perf_counter() - started
                break
            if time.perf_counter() - started > TIMEOUT_S:
                break
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(60)
        except subprocess.TimeoutExpired:
            app.kill()
    if picture is None:
        raise SystemExit(f"error: no picture within {TIMEOUT_S} s (exit status {app.returncode})")
    return window, picture


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="rbm")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    subprocess.run([sys.executable, "-m", "engines", "train", args.model, "--steps", "1", "--frame-every", "0",
                    "--run-dir", str(Path(tempfile.mkdtemp(prefix="genstudio-first-")) / "warm")],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # builds the cache
    runs = [one_run(args.model) for _ in range(args.runs)]
    for i, (window, picture) in enumerate(runs, 1):
        print(f"run {i}: window after {window:.2f} s, first picture after {picture:.2f} s")
    print(json.dumps({"model": args.model, "window_s": round(statistics.median(w for w, _ in runs), 2),
                      "first_picture_s": round(statistics.median(p for _, p in runs), 2),
                      "runs": [[round(w, 2), round(p, 2)] for w, p in runs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
