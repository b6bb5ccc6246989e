"""How long quitting takes: from Ctrl+C (SIGTERM: the window closes as by File → Quit, the run is
saved and kept) to the studio's process gone, for each model, once while it trains and once while
its run is still starting.

    python benchmarks/quit_time.py [--models rbm,vae] [--train-s 8]

While training: ``python main.py --model MODEL`` is started as a user starts it (offscreen, a new
HOME, the dataset cache built), left to train ``--train-s`` seconds after its first picture, then
sent SIGTERM. While starting: SIGTERM as soon as the window shows (the training processes still
importing torch and building the engine). The last line printed is one JSON object: per model the
seconds to quit in each case, and the longest of all (``max_quit_s``; the goal is 3 s).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from first_picture import TIMEOUT_S, close, seconds_to, start_studio, warm_cache  # noqa: E402

MODELS = "chairs,rbm,dbm,vae,conv-vae,draw,aligndraw,gan,dcgan,lapgan,gan2d"


def quit_training(model: str, train_s: float) -> float:
    app, started = start_studio(model)
    try:
        if "first picture painted" not in seconds_to(app, started, ("first picture painted",)):
            raise SystemExit(f"error: {model} showed no picture within {TIMEOUT_S} s")
        time.sleep(train_s)
    except BaseException:
        close(app)
        raise
    return close(app)


def quit_starting(model: str) -> float:
    app, started = start_studio(model)
    try:
        seconds_to(app, started, ("window shown",))
    except BaseException:
        close(app)
        raise
    return close(app)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=MODELS)
    p.add_argument("--train-s", type=float, default=8.0)
    args = p.parse_args(argv)
    figures = {}
    for model in args.models.split(","):
        warm_cache(model)
        figures[model] = {"training_quit_s": round(quit_training(model, args.train_s), 2),
                          "starting_quit_s": round(quit_starting(model), 2)}
        print(model, figures[model], flush=True)
    longest = max(t for f in figures.values() for t in f.values())
    print(json.dumps({"train_s": args.train_s, "max_quit_s": longest, "models": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
