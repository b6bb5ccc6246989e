"""Every figure README.md gives as measured, measured again: each experiment reruns the commands its
figures come from (``python -m engines train`` / ``eval``, ``benchmarks/live_overhead.py``, a
dataset build on an empty cache) and prints each figure beside the README's.

    python benchmarks/readme_figures.py [--list] [--only NAME[,NAME...]] [--update] [--keep DIR]
    python benchmarks/readme_figures.py --apply OUTPUT      # write an earlier run's figures in

``--only`` runs the named experiments (``--list`` names them, with their commands and cost);
``--update`` writes the measured values into README.md in place, in the README's own number format;
``--apply OUTPUT`` does the same with the figures an earlier run printed (its output saved to a file).
Everything runs as a new user would: a new HOME, an empty cache (so the build times are first
builds), a temp working folder (``--keep DIR`` keeps it). The model figures are deterministic on a
given CPU (every run has its seed); the timings are not: the live-overhead table wants a quiet
machine. The whole set takes about an hour on 2 cores. The last line printed is a JSON object:
``{figure: {"readme": ..., "measured": ...}}``.

Each figure is a placeholder in a template of the README's own words (:data:`FIGURES`); a test
checks that every template matches the README once, so a figure cannot drift out of this script.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NUMBER = r"[−-]?\d[\d,]*(?:\.\d+)?|—"
LIVE_MODELS = ("rbm", "vae", "dcgan", "draw", "dbm", "chairs")
LIVE_ARGS = ["--seconds", "16", "--rounds", "4", "--warmup", "3"]


@dataclass(frozen=True)
class Experiment:
    """Commands run in order in the working folder (``python -m engines`` when they start with a
    subcommand); the last JSON line each prints is kept under its label."""
    name: str
    commands: tuple[tuple[str, tuple[str, ...]], ...]     # (label, argv)
    minutes: float                                        # about how long, on 2 cores


def engines(label: str, *args: str) -> tuple[str, tuple[str, ...]]:
    return label, (sys.executable, "-m", "engines", *args)


def train_and_eval(name: str, minutes: float, *train_args: str) -> Experiment:
    return Experiment(name, (engines("train", "train", *train_args, "--run-dir", f"runs/{name}"),
                             engines("eval", "eval", f"runs/{name}", "--json")), minutes)


BUILD_CODE = ("import json, time; from engines.data import load_dataset; t = time.process_time(); "
              "load_dataset({spec!r}); print(json.dumps({{'cpu_s': time.process_time() - t}}))")

EXPERIMENTS = {e.name: e for e in (
    Experiment("datasets", tuple((spec, (sys.executable, "-c", BUILD_CODE.format(spec=spec)))
                                 for spec in ("toys3d", "chairs3d")), 1),
    Experiment("rbm-store", (engines("train", "train", "rbm", "--steps", "2000", "--run-dir", "runs/rbm-store"),), 0.5),
    train_and_eval("rbm-3000", 2, "rbm", "--steps", "3000"),
    train_and_eval("dbm2", 4, "dbm", "--steps", "3000"),
    train_and_eval("dbm3", 6, "dbm", "--set", "layers=500,500,1000", "--steps", "4000"),
    train_and_eval("dbm-toys", 4, "dbm", "--data", "toys3d", "--steps", "3000"),
    train_and_eval("chairs", 8, "chairs", "--set", "width=64", "--set", "hidden=256", "--set", "batch_size=32",
                   "--steps", "5000"),
    train_and_eval("vae20", 1.5, "vae", "--epochs", "50", "--set", "hidden=400", "--set", "latent_dim=20"),
    train_and_eval("draw", 3, "draw", "--data", "multi-mnist", "--steps", "2000"),
    train_and_eval("draw-noatt", 3, "draw", "--data", "multi-mnist", "--set", "attention=false", "--steps", "2000"),
    train_and_eval("aligndraw", 8, "aligndraw", "--steps", "3000"),
    *(train_and_eval(f"{m}{suffix}", minutes, m, "--steps", steps)
      for m, minutes in (("dcgan", 3), ("gan", 2), ("lapgan", 6))
      for suffix, steps in (("", "2000"), ("-untrained", "1"))),
    train_and_eval("gan2d", 1.5, "gan2d", "--data", "ring", "--steps", "3000"),
    *(Experiment(f"live-{m}", (("live", (sys.executable, "benchmarks/live_overhead.py", "--model", m, *LIVE_ARGS)),),
                 2.5) for m in LIVE_MODELS),
)}


@dataclass(frozen=True)
class Read:
    """A figure read from an experiment's results: ``results[experiment][label][key] × scale``."""
    experiment: str
    label: str
    key: str
    scale: float = 1.0

    def __call__(self, results: dict) -> float:
        return float(results[self.experiment][self.label][self.key]) * self.scale


@dataclass(frozen=True)
class Figures:
    """Figures of one README passage: ``template`` is the README's words with ``{name}`` where a
    figure stands; ``values`` says where each is read from."""
    template: str
    values: dict[str, Read]

    def pattern(self) -> re.Pattern:
        regex = ""
        for part in re.split(r"(\{\w+\})", self.template):
            if re.fullmatch(r"\{\w+\}", part):
                regex += f"(?P<{part[1:-1]}>{NUMBER})"
            else:
                regex += r"\s+".join(re.escape(word) for word in part.split(" "))
        return re.compile(regex)


def live_row(model: str) -> dict[str, Callable[[dict], float]]:
    keys = {"cli": "cli_steps_per_s", "live": "live_steps_per_s", "ratio_vs_cli": "ratio_vs_cli", "ratio": "ratio",
            "display": "display_cpu_share", "gui": "gui_cpu_share", "fps": "frames_per_s", "p99": "ui_p99_ms"}
    scale = {"display": 100, "gui": 100}
    return {f"live_{model}_{k}": Read(f"live-{model}", "live", key, scale.get(k, 1)) for k, key in keys.items()}


def live_template(model: str) -> str:
    p = f"live_{model}_"
    return (f"| {model} | {{{p}cli}} | {{{p}live}} | {{{p}ratio_vs_cli}} | {{{p}ratio}} | {{{p}display}} % | "
            f"{{{p}gui}} % | {{{p}fps}} | {{{p}p99}} ms |")


FIGURES = (
    Figures("500-1000 on MNIST, bound {dbm2_bound} nats against the same budget's RBM (500 hidden) at "
            "{rbm_3000_ll} by AIS; 500-500-1000: {dbm3_bound}",
            {"dbm2_bound": Read("dbm2", "eval", "log_likelihood_lower_bound"),
             "rbm_3000_ll": Read("rbm-3000", "eval", "ais_log_likelihood"),
             "dbm3_bound": Read("dbm3", "eval", "log_likelihood_lower_bound")}),
    Figures("on `toys3d` {dbm_toys_bound} (a Gaussian density",
            {"dbm_toys_bound": Read("dbm-toys", "eval", "log_likelihood_lower_bound")}),
    Figures("`heldout_mse` {chairs_mse} against the nearest-view baseline's {chairs_baseline_mse}, `mask_iou` "
            "{chairs_iou} against {chairs_baseline_iou}.",
            {"chairs_mse": Read("chairs", "eval", "heldout_mse"),
             "chairs_baseline_mse": Read("chairs", "eval", "baseline_mse"),
             "chairs_iou": Read("chairs", "eval", "mask_iou"),
             "chairs_baseline_iou": Read("chairs", "eval", "baseline_mask_iou")}),
    Figures("test ELBO {vae_elbo} nats, IWAE (k = 5,000) {vae_iwae} nats",
            {"vae_elbo": Read("vae20", "eval", "elbo"), "vae_iwae": Read("vae20", "eval", "iwae_nll")}),
    Figures("`nll_bound` {draw_bound} nats with attention against {draw_noatt_bound} without; `aligndraw` after "
            "3,000 steps: {align_bound} on held-out captions, {align_novel_bound} on novel compositions",
            {"draw_bound": Read("draw", "eval", "nll_bound"),
             "draw_noatt_bound": Read("draw-noatt", "eval", "nll_bound"),
             "align_bound": Read("aligndraw", "eval", "nll_bound"),
             "align_novel_bound": Read("aligndraw", "eval", "nll_bound_novel")}),
    Figures("digit classifier, {classifier_pct} % test accuracy",
            {"classifier_pct": Read("dcgan", "eval", "classifier_accuracy", 100)}),
    Figures("Fréchet distance `dcgan` {dcgan_fid} (after one step {dcgan_fid_0}), class coverage {dcgan_coverage}; "
            "`gan` {gan_fid} ({gan_fid_0}); `lapgan` {lapgan_fid} ({lapgan_fid_0}); `gan2d` on the ring finds "
            "{gan2d_modes} of 8 modes.",
            {"dcgan_fid": Read("dcgan", "eval", "frechet_distance"),
             "dcgan_fid_0": Read("dcgan-untrained", "eval", "frechet_distance"),
             "dcgan_coverage": Read("dcgan", "eval", "class_coverage"),
             "gan_fid": Read("gan", "eval", "frechet_distance"),
             "gan_fid_0": Read("gan-untrained", "eval", "frechet_distance"),
             "lapgan_fid": Read("lapgan", "eval", "frechet_distance"),
             "lapgan_fid_0": Read("lapgan-untrained", "eval", "frechet_distance"),
             "gan2d_modes": Read("gan2d", "eval", "modes_covered")}),
    Figures("built on first use (about {toys3d_cpu_s} s of CPU for `toys3d`, {chairs3d_cpu_s} s for `chairs3d`)",
            {"toys3d_cpu_s": Read("datasets", "toys3d", "cpu_s"),
             "chairs3d_cpu_s": Read("datasets", "chairs3d", "cpu_s")}),
    Figures("The default RBM run grows by {rbm_mb_per_1000} MB per 1,000 steps (measured: `python -m engines train "
            "rbm --steps 2000`, {rbm_mb} MB)",
            {"rbm_mb_per_1000": Read("rbm-store", "store", "bytes", 1 / 2 / 2**20),
             "rbm_mb": Read("rbm-store", "store", "bytes", 1 / 2**20)}),
    *(Figures(live_template(m), live_row(m)) for m in LIVE_MODELS),
)


# ----------------------------------------------------------------------------------- running
def environment(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GENSTUDIO_"))}
    for name in ("home", "cache", "gui-runs"):
        (work / name).mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(work / "home"), GENSTUDIO_CACHE=str(work / "cache"), GENSTUDIO_RUNS=str(work / "gui-runs"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return env


def run_experiment(experiment: Experiment, work: Path, env: dict) -> dict:
    """{label: the last JSON object the command printed} (plus the RBM store's size)."""
    out = {}
    for label, argv in experiment.commands:
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=work if argv[1] == "-m" else ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise RuntimeError(f"{experiment.name}: `{' '.join(argv[1:])}` failed ({done.returncode}): {last}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        out[label] = json.loads(lines[-1]) if lines else {}
        print(f"  {experiment.name}/{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if experiment.name == "rbm-store":
        out["store"] = {"bytes": (work / "runs" / "rbm-store" / "run.sqlite").stat().st_size}
    return out


def readme_value(text: str) -> float | None:
    if text == "—":
        return None
    return float(text.replace("−", "-").replace(",", ""))


def formatted(value: float, like: str) -> str:
    """``value`` written as the README writes ``like``: as many decimals, a thousands comma and a
    Unicode minus where it has them; "—" where it has one and nothing was measured."""
    if like == "—" and not value:
        return "—"
    decimals = len(like.split(".")[1]) if "." in like else 0
    text = f"{abs(value):,.{decimals}f}" if "," in like or abs(value) >= 10_000 else f"{abs(value):.{decimals}f}"
    return ("−" if "−" in like else "-") + text if value < 0 else text


def matches(text: str) -> list[tuple[Figures, re.Match]]:
    out = []
    for group in FIGURES:
        found = list(group.pattern().finditer(text))
        if len(found) != 1:
            raise SystemExit(f"error: README.md has {len(found)} places matching {group.template!r} (expected one)")
        out.append((group, found[0]))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="the experiments, their commands and figures")
    p.add_argument("--only", help="comma-separated experiment names (default: all)")
    p.add_argument("--update", action="store_true", help="write the measured figures into README.md")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temp folder")
    p.add_argument("--apply", metavar="OUTPUT", help="write the figures an earlier run printed into README.md")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    found = matches(text)
    wanted = list(EXPERIMENTS) if not args.only else args.only.split(",")
    unknown = [name for name in wanted if name not in EXPERIMENTS]
    if unknown:
        p.error(f"unknown experiment {', '.join(unknown)} (see --list)")
    if args.list:
        for name in wanted:
            e = EXPERIMENTS[name]
            figures = [key for group in FIGURES for key, read in group.values.items() if read.experiment == name]
            print(f"{name} (~{e.minutes:g} min): {', '.join(figures)}")
            for _, argv in e.commands:
                print("    " + " ".join(a if a != sys.executable else "python" for a in argv))
        return 0
    if args.apply:
        last = [line for line in Path(args.apply).read_text().splitlines() if line.startswith("{")][-1]
        measured = {key: f["measured"] for key, f in json.loads(last)["figures"].items()}
        return report(text, found, measured, update=True, failures=[], work=None)
    work = Path(args.keep or tempfile.mkdtemp(prefix="genstudio-figures-"))
    env = environment(work)
    results, failures = {}, []
    for name in wanted:
        print(f"{name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = run_experiment(EXPERIMENTS[name], work, env)
        except RuntimeError as exc:
            failures.append(str(exc))
            print(f"error: {exc}", file=sys.stderr)
    measured = {key: read(results) for group in FIGURES for key, read in group.values.items()
                if read.experiment in results}
    return report(text, found, measured, args.update, failures, work)


def report(text: str, found, measured: dict, update: bool, failures: list, work) -> int:
    """Each measured figure beside the README's (written in when ``update``), then the JSON line."""
    figures, edits = {}, []
    for group, match in found:
        for key in group.values:
            if key not in measured:
                continue
            value, shown = measured[key], match.group(key)
            figures[key] = {"readme": readme_value(shown), "measured": round(value, 6)}
            print(f"{key:<26} README {shown:>10}   measured {formatted(value, shown):>10}")
            edits.append((match.start(key), match.end(key), formatted(value, shown)))
    if update and edits:
        for start, end, new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        README.write_text(text, encoding="utf-8")
        print(f"README.md updated ({len(edits)} figures)", file=sys.stderr)
    print(json.dumps({"figures": figures, "failed": failures, "workdir": str(work) if work else None}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
