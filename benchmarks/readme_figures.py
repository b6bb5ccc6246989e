"""Every figure README.md gives as measured, measured again: the models' held-out metrics
(``fidelity.py``'s experiments) and the rest, each experiment rerunning the commands its figures
come from (``benchmarks/live_overhead.py``, a dataset build on an empty cache, a recorded run's
store) and printing each figure beside the README's.

    python benchmarks/readme_figures.py [--list] [--only NAME[,NAME...]] [--update] [--keep DIR]
    python benchmarks/readme_figures.py --apply OUTPUT      # write an earlier run's figures in

``--only`` runs the named experiments (``--list`` names them, with their commands and cost);
``--update`` writes the measured values into README.md in place, in the README's own number format;
``--apply OUTPUT`` does the same with the figures an earlier run printed (its output saved to a file).
Everything runs as a new user would: a new HOME, an empty cache (so the build times are first
builds), a temp working folder (``--keep DIR`` keeps it). The model figures are deterministic on a
given CPU (every run has its seed); the timings are not: the live-overhead table wants a quiet
machine. The whole set takes about two hours on 2 cores. The last line printed is a JSON object:
``{"figures": {figure: {"readme": ..., "measured": ...}}, "checks": ..., ...}``.

Each figure is a placeholder in a template of the README's own words (:mod:`figures`); a test
checks that every template matches the README once, so a figure cannot drift out of this script.
"""

from __future__ import annotations

import sys
from typing import Callable

import fidelity
from figures import Experiment, Figures, Read, main

LIVE_MODELS = ("rbm", "dbm", "chairs", "vae", "conv-vae", "draw", "aligndraw", "gan", "dcgan", "lapgan", "gan2d")
LIVE_ARGS = ["--seconds", "16", "--rounds", "4", "--warmup", "3"]
WATCH_MODELS = ("rbm", "dcgan")    # the weights-and-gradients view's cost, on and off side by side
WATCH_ARGS = ["--parameter-stats", "--seconds", "96", "--rounds", "8"]
SHARES = ("0.04", "0.16")           # the display share's trade-off, beside the default's (the live-vae row)
BUILD_CODE = ("import json, time; from engines.data import load_dataset; t = time.process_time(); "
              "load_dataset({spec!r}); print(json.dumps({{'cpu_s': time.process_time() - t}}))")

EXPERIMENTS = {e.name: e for e in (
    Experiment("datasets", tuple((spec, (sys.executable, "-c", BUILD_CODE.format(spec=spec)))
                                 for spec in ("toys3d", "chairs3d")), 1),
    Experiment("rbm-store", (("train", (sys.executable, "-m", "engines", "train", "rbm", "--steps", "2000",
                                        "--run-dir", "runs/rbm-store")),), 0.5, store_size_of="runs/rbm-store"),
    Experiment("rbm-store-cadence", (("train", (sys.executable, "-m", "engines", "train", "rbm", "--steps", "2000",
                                                "--no-early-frames", "--run-dir", "runs/rbm-cadence")),), 0.5,
               store_size_of="runs/rbm-cadence"),
    Experiment("frame-schedule", (("schedule", (sys.executable, "benchmarks/frame_schedule.py")),), 25),
    *fidelity.EXPERIMENTS.values(),
    *(Experiment(f"live-{m}", (("live", (sys.executable, "benchmarks/live_overhead.py", "--model", m, *LIVE_ARGS)),),
                 2.5) for m in LIVE_MODELS),
    *(Experiment(f"watch-{m}", (("live", (sys.executable, "benchmarks/live_overhead.py", "--model", m, *WATCH_ARGS)),),
                 8) for m in WATCH_MODELS),
    *(Experiment(f"share-{share}", (("live", (sys.executable, "benchmarks/live_overhead.py", "--model", "vae",
                                                  "--display-share", share, *LIVE_ARGS)),), 2.5) for share in SHARES),
    Experiment("picture-cost", (("cost", (sys.executable, "benchmarks/picture_cost.py")),), 2),
    Experiment("distributed", (("scaling", (sys.executable, "benchmarks/distributed.py")),), 0.2),
    Experiment("first-picture", (("first", (sys.executable, "benchmarks/first_picture.py", "--runs", "5")),), 1),
)}


def live_row(model: str) -> dict[str, Callable[[dict], float]]:
    keys = {"cli": "cli_steps_per_s", "live": "live_steps_per_s", "ratio_vs_cli": "ratio_vs_cli", "ratio": "ratio",
            "display": "display_cpu_share", "gui": "gui_cpu_share", "fps": "main_pictures_per_s", "p99": "ui_p99_ms",
            "max": "ui_max_ms"}
    scale = {"display": 100, "gui": 100}
    return {f"live_{model.replace('-', '_')}_{k}": Read(f"live-{model}", "live", key, scale.get(k, 1))
            for k, key in keys.items()}


def live_template(model: str) -> str:
    p = f"live_{model.replace('-', '_')}_"
    return (f"| {model} | {{{p}cli}} | {{{p}live}} | {{{p}ratio_vs_cli}} | {{{p}ratio}} | {{{p}display}} % | "
            f"{{{p}gui}} % | {{{p}fps}} | {{{p}p99}} / {{{p}max}} ms |")


def watch_row(model: str) -> Figures:
    """A row of the README's weights-and-gradients cost table (live_overhead.py --parameter-stats)."""
    p = f"watch_{model}_"
    reads = {"share": ("parameter_stats_share", 100), "live": ("live_steps_per_s", 1),
             "unwatched": ("live_unwatched_steps_per_s", 1), "ratio": ("parameter_stats_ratio", 1)}
    return Figures(f"| {model} | {{{p}share}} % | {{{p}live}} | {{{p}unwatched}} | {{{p}ratio}} |",
                   {p + key: Read(f"watch-{model}", "live", path, scale) for key, (path, scale) in reads.items()})


def scaling_row(model: str) -> Figures:
    """A row of the README's torchrun table: 1 and 2 processes (benchmarks/distributed.py)."""
    p = f"ddp_{model.replace('-', '_')}_"
    reads = {"steps_1": "1.steps_per_s", "steps_2": "2.steps_per_s", "images_1": "1.images_per_s",
             "images_2": "2.images_per_s", "speedup": "speedup", "comm_ms": "2.comm_ms_per_step",
             "comm_mb": "2.comm_mb_per_step"}
    return Figures(f"| {model} | {{{p}steps_1}} | {{{p}steps_2}} | {{{p}images_1}} | {{{p}images_2}} | "
                   f"{{{p}speedup}}× | {{{p}comm_ms}} ms, {{{p}comm_mb}} MB |",
                   {p + key: Read("distributed", "scaling", f"{model}.{path}") for key, path in reads.items()})


def cost_row(model: str) -> Figures:
    p = f"cost_{model.replace('-', '_')}_"
    keys = ("pause_ms", "share_ms", "load_ms", "draw_ms", "wire_kb", "gui_ms")
    return Figures(f"| {model} | " + " | ".join(f"{{{p}{k}}}" for k in keys) + " |",
                   {f"{p}{k}": Read("picture-cost", "cost", f"{model}.{k}") for k in keys})


FIGURES = (
    *fidelity.FIGURES,
    Figures("built on first use (about {toys3d_cpu_s} s of CPU for `toys3d`, {chairs3d_cpu_s} s for `chairs3d`)",
            {"toys3d_cpu_s": Read("datasets", "toys3d", "cpu_s"),
             "chairs3d_cpu_s": Read("datasets", "chairs3d", "cpu_s")}),
    Figures("At the regular cadence the default RBM run grows by {rbm_mb_per_1000} MB per 1,000 steps (measured: "
            "`python -m engines train rbm --steps 2000 --no-early-frames`, {rbm_cadence_mb} MB); with its early frames "
            "the same run is {rbm_mb} MB",
            {"rbm_mb_per_1000": Read("rbm-store-cadence", "store", "bytes", 1 / 2 / 2**20),
             "rbm_cadence_mb": Read("rbm-store-cadence", "store", "bytes", 1 / 2**20),
             "rbm_mb": Read("rbm-store", "store", "bytes", 1 / 2**20)}),
    Figures("A default run of 2,000 steps records {rbm_frames} frames of its main panel (rbm; vae {vae_frames}, "
            "dcgan {dcgan_frames}), and over 100,000 steps the default RBM run's store grows by {long_mb_per_1000} MB "
            "per 1,000 steps ({long_store_mb} MB in all, {long_frames} frames of each panel; its three kept "
            "checkpoints, {long_checkpoints_mb} MB, beside it)",
            {"rbm_frames": Read("frame-schedule", "schedule", "rbm.frames"),
             "vae_frames": Read("frame-schedule", "schedule", "vae.frames"),
             "dcgan_frames": Read("frame-schedule", "schedule", "dcgan.frames"),
             "long_mb_per_1000": Read("frame-schedule", "schedule", "rbm_long.mb_per_1000"),
             "long_store_mb": Read("frame-schedule", "schedule", "rbm_long.store_mb"),
             "long_frames": Read("frame-schedule", "schedule", "rbm_long.frames"),
             "long_checkpoints_mb": Read("frame-schedule", "schedule", "rbm_long.checkpoints_mb")}),
    *(Figures(live_template(m), live_row(m)) for m in LIVE_MODELS),
    *(cost_row(m) for m in LIVE_MODELS),
    *(watch_row(m) for m in WATCH_MODELS),
    *(scaling_row(m) for m in LIVE_MODELS),
    *(Figures(f"| {share} | {{{key}_ratio}} | {{{key}_fps}} | {{{key}_display}} % |",
              {f"{key}_ratio": Read(f"share-{share}", "live", "ratio_vs_cli"),
               f"{key}_fps": Read(f"share-{share}", "live", "main_pictures_per_s"),
               f"{key}_display": Read(f"share-{share}", "live", "display_cpu_share", 100)})
      for share, key in ((share, "share_" + share.replace(".", "_")) for share in SHARES)),
    Figures("from `python main.py` to the main panel's first picture takes {first_picture_s} s (the window shows "
            "after {window_s} s)", {"first_picture_s": Read("first-picture", "first", "first_picture_s"),
                                   "window_s": Read("first-picture", "first", "window_s")}),
)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], __doc__, EXPERIMENTS, FIGURES, fidelity.CHECKS))
