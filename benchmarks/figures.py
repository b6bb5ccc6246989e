"""What the figure scripts share (``readme_figures.py``, ``fidelity.py``): an experiment is
commands run as a new user would (a new HOME, an empty cache, a temp working folder), a figure is
read from the JSON those commands print, and each figure stands in a template of README.md's own
words so that it is printed beside the README's and ``--update`` can write it in."""
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


@dataclass(frozen=True)
class Experiment:
    """Commands run in order in the working folder (``python -m engines`` when they start with a
    subcommand); the last JSON line each prints is kept under its label."""
    name: str
    commands: tuple[tuple[str, tuple[str, ...]], ...]     # (label, argv)
    minutes: float                                        # about how long, on 2 cores
    store_size_of: str | None = None                      # a run dir whose run.sqlite size is kept as "store"


def engines(label: str, *args: str) -> tuple[str, tuple[str, ...]]:
    return label, (sys.executable, "-m", "engines", *args)


def train_and_eval(name: str, minutes: float, *train_args: str, then=()) -> Experiment:
    """Train ``runs/NAME``, evaluate it (label ``eval``), then run the commands ``then``."""
    return Experiment(name, (engines("train", "train", *train_args, "--run-dir", f"runs/{name}"),
                             engines("eval", "eval", f"runs/{name}", "--json"), *then), minutes)


@dataclass(frozen=True)
class Read:
    """A figure read from an experiment's results: ``results[experiment][label][key] × scale``."""
    experiment: str
    label: str
    key: str
    scale: float = 1.0

    def __call__(self, results: dict) -> float:
        """The value; a dotted ``key`` reads into nested objects (``model.figure``)."""
        value = results[self.experiment][self.label]
        for part in self.key.split("."):
            value = value[part]
        return float(value) * self.scale


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
        cwd = ROOT if argv[1].startswith("benchmarks/") else work      # the scripts that time the studio
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise RuntimeError(f"{experiment.name}: `{' '.join(argv[1:])}` failed ({done.returncode}): {last}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        out[label] = json.loads(lines[-1]) if lines else {}
        print(f"  {experiment.name}/{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if experiment.store_size_of:
        out["store"] = {"bytes": (work / experiment.store_size_of / "run.sqlite").stat().st_size}
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


def matches(text: str, figures) -> list[tuple[Figures, re.Match]]:
    out = []
    for group in figures:
        found = list(group.pattern().finditer(text))
        if len(found) != 1:
            raise SystemExit(f"error: README.md has {len(found)} places matching {group.template!r} (expected one)")
        out.append((group, found[0]))
    return out


@dataclass(frozen=True)
class Check:
    """An ordering the figures must keep (``holds(results)``), printed and in the JSON line."""
    name: str
    experiments: tuple[str, ...]
    holds: Callable[[dict], bool]


def main(argv, doc: str, experiments: dict, figures, checks=()) -> int:
    """The command line of a figure script (``doc``: its module docstring)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="the experiments, their commands and figures")
    p.add_argument("--only", help="comma-separated experiment names (default: all)")
    p.add_argument("--update", action="store_true", help="write the measured figures into README.md")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temp folder")
    p.add_argument("--apply", metavar="OUTPUT", help="write the figures an earlier run printed into README.md")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    found = matches(text, figures)
    wanted = list(experiments) if not args.only else args.only.split(",")
    unknown = [name for name in wanted if name not in experiments]
    if unknown:
        p.error(f"unknown experiment {', '.join(unknown)} (see --list)")
    if args.list:
        for name in wanted:
            e = experiments[name]
            keys = [key for group in figures for key, read in group.values.items() if read.experiment == name]
            print(f"{name} (~{e.minutes:g} min): {', '.join(keys)}")
            for _, command in e.commands:
                print("    " + " ".join(a if a != sys.executable else "python" for a in command))
        return 0
    if args.apply:
        last = [line for line in Path(args.apply).read_text().splitlines() if line.startswith("{")][-1]
        measured = {key: f["measured"] for key, f in json.loads(last)["figures"].items()}
        return report(text, found, measured, update=True, failures=[], work=None, checks={})
    work = Path(args.keep or tempfile.mkdtemp(prefix="genstudio-figures-"))
    env = environment(work)
    results, failures = {}, []
    for name in wanted:
        print(f"{name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = run_experiment(experiments[name], work, env)
        except RuntimeError as exc:
            failures.append(str(exc))
            print(f"error: {exc}", file=sys.stderr)
        (work / "results.json").write_text(json.dumps(results, indent=1))     # every JSON the commands printed
    measured = {key: read(results) for group in figures for key, read in group.values.items()
                if read.experiment in results}
    held = {c.name: bool(c.holds(results)) for c in checks if set(c.experiments) <= set(results)}
    for name, ok in held.items():
        print(f"{name:<40} {'holds' if ok else 'DOES NOT HOLD'}")
    return report(text, found, measured, args.update, failures, work, held)


def report(text: str, found, measured: dict, update: bool, failures: list, work, checks: dict) -> int:
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
    print(json.dumps({"figures": figures, "checks": checks, "failed": failures,
                      "workdir": str(work) if work else None}))
    return 1 if failures or not all(checks.values()) else 0
