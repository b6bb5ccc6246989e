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
sys.path.insert(0, str(ROOT))
from engines.data import cache_dir  # noqa: E402  (the cache warm_cache builds, the studio reads)
TIMEOUT_S = 120


def start_studio(model: str) -> tuple[subprocess.Popen, float]:
    """``python main.py --model MODEL`` started as a user starts it (offscreen Qt, a new HOME and
    runs folder, this machine's dataset cache, the startup log on its stderr); returns it and its
    start time."""
    work = Path(tempfile.mkdtemp(prefix="genstudio-first-"))
    (work / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(work / "home"), GENSTUDIO_RUNS=str(work / "runs"), GENSTUDIO_DEBUG_STARTUP="1",
               GENSTUDIO_CACHE=str(cache_dir()), QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"))
    started = time.perf_counter()
    return subprocess.Popen([sys.executable, "main.py", "--model", model], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), started


def seconds_to(app: subprocess.Popen, started: float, events: tuple[str, ...]) -> dict[str, float]:
    """Seconds from ``started`` to each startup-log event, read until the last is seen (or the
    process ends, or :data:`TIMEOUT_S` passes)."""
    seen: dict[str, float] = {}
    for line in app.stderr:
        for event in events:
            if "[genstudio]" in line and event in line and event not in seen:
                seen[event] = time.perf_counter() - started
        if events[-1] in seen or time.perf_counter() - started > TIMEOUT_S:
            break
    return seen


def close(app: subprocess.Popen) -> float:
    """SIGTERM, as a user's Ctrl+C (the window closes as by File → Quit); seconds until the process
    is gone. A process that does not end within 60 s, or ends with an error, is an error."""
    sent = time.perf_counter()
    app.send_signal(signal.SIGTERM)
    try:
        status = app.wait(60)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()
        raise SystemExit("error: the studio did not end within 60 s of SIGTERM") from None
    if status != 0:
        raise SystemExit(f"error: the studio ended with status {status} after SIGTERM")
    return time.perf_counter() - sent


def one_run(model: str) -> tuple[float, float]:
    """(seconds to the window, seconds to the first picture) of one start of the studio."""
    app, started = start_studio(model)
    try:
        seen = seconds_to(app, started, ("window shown", "first picture painted"))
    finally:
        close(app)
    if "first picture painted" not in seen:
        raise SystemExit(f"error: no picture within {TIMEOUT_S} s (exit status {app.returncode})")
    return seen["window shown"], seen["first picture painted"]


def warm_cache(model: str) -> None:
    """Build the model's dataset cache (a first use's build is not what these figures time)."""
    subprocess.run([sys.executable, "-m", "engines", "train", model, "--steps", "1", "--frame-every", "0",
                    "--run-dir", str(Path(tempfile.mkdtemp(prefix="genstudio-first-")) / "warm")],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="rbm")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    warm_cache(args.model)
    runs = [one_run(args.model) for _ in range(args.runs)]
    for i, (window, picture) in enumerate(runs, 1):
        print(f"run {i}: window after {window:.2f} s, first picture after {picture:.2f} s")
    print(json.dumps({"model": args.model, "window_s": round(statistics.median(w for w, _ in runs), 2),
                      "first_picture_s": round(statistics.median(p for _, p in runs), 2),
                      "runs": [[round(w, 2), round(p, 2)] for w, p in runs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
