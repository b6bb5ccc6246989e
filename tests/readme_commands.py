"""Every command README.md shows, run as a new user runs it: in a new working folder, with a new
HOME and an empty cache, in the order the README gives them (an ``eval runs/rbm1`` finds the run an
earlier ``train`` recorded), each as written except for a shorter ``--steps`` / ``--epochs`` that
still passes every cadence of a default run once (frames every 200 steps, a GAN's sample check every
100, the monitor every 10, a checkpoint at the start and the end). CI runs it after the tests:

    python tests/readme_commands.py [--list] [--only TEXT] [--keep DIR]

Commands are the lines of the README's fenced code blocks, and inline code that is a whole command
(a known program with at least one argument). What each must do:

- ``python -m engines train`` (and ``torchrun ... -m engines train``): exit 0, its JSON summary
  ``finished`` after at least :data:`MIN_STEPS` steps;
- ``python -m engines eval RUN --json``: exit 0, one JSON object whose numbers are all finite;
- ``python -m studio export``: exit 0 and a file that decodes (GIF/MP4 frames, a PNG);
  ``python -m engines export-tb``: exit 0 and event files;
- the studio (``python main.py``, ``genstudio``, with an environment assignment or not): offscreen,
  its first pictures on screen within :data:`GUI_START_S`, no traceback, and a SIGTERM after
  :data:`GUI_SHOW_S` more seconds closes it with status 0 (the run saved);
- ``python benchmarks/...``: the script exists and knows the options shown (``--help`` with them
  exits 0); a benchmark's figures are measured by ``benchmarks/readme_figures.py``, not here;
- anything else: exit 0.

The set-up and test commands themselves (``pip install``, ``python -m pytest``) are what CI runs
around this script. The last line printed is a JSON object: commands run, seconds, and the ones
that failed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MIN_STEPS = 201          # past the default frame cadence (200) and a GAN's sample check (100)
MIN_EPOCHS = 6           # ``--epochs`` shortened to this: 6 epochs of the 4,500 digits at batch 128 are 210 steps
GUI_START_S = 180.0      # the studio's first pictures within this (a first use builds datasets first)
GUI_SHOW_S = 3.0         # then it shows them this long before it is closed
COMMAND_TIMEOUT_S = 900
PROGRAMS = ("python -m engines", "python -m studio", "python main.py", "genstudio", "torchrun")
SETUP = ("pip install", "python -m pip", "python -m pytest", "python tests/readme_commands.py")
BENCHMARKS = ("python benchmarks/",)
ENV_ASSIGNMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*")


@dataclass(frozen=True)
class Command:
    text: str        # as the README shows it
    line: int        # where (1-based)

    @property
    def program(self) -> str:
        return ENV_ASSIGNMENT.sub("", self.text)

    @property
    def kind(self) -> str:
        """setup | benchmark | train | eval | export | gui | other."""
        program = self.program
        if program.startswith(SETUP):
            return "setup"
        if program.startswith(BENCHMARKS):
            return "benchmark"
        words = program.split()
        if "engines" in words and "train" in words:
            return "train"
        if program.startswith("python -m engines eval"):
            return "eval"
        if program.startswith(("python -m studio export", "python -m engines export-tb")):
            return "export"
        if program.startswith(("python main.py", "genstudio")) and not program.startswith("genstudio-train"):
            return "gui"
        return "other"


def readme_commands(text: str) -> list[Command]:
    """The README's commands in order, each once: fenced-block lines (comments after ``#`` dropped)
    and whole commands in inline code."""
    found: list[Command] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and command.split()[0] not in ("#",) and _is_command(command, fenced=True):
                found.append(Command(command, number))
            continue
        for span in re.findall(r"`([^`\n]+)`", line):
            if _is_command(span, fenced=False):
                found.append(Command(span.strip(), number))
    seen, unique = set(), []
    for command in found:
        if command.text not in seen:
            seen.add(command.text)
            unique.append(command)
    return unique


def _is_command(text: str, fenced: bool) -> bool:
    program = ENV_ASSIGNMENT.sub("", text.strip())
    if fenced and program.startswith(SETUP + BENCHMARKS):
        return True
    if not program.startswith(PROGRAMS) or program.startswith("genstudio-train"):
        return False
    words = program.split()
    # "python -m engines train" in a sentence names the command; a whole command has an argument
    # (or an environment assignment before it)
    return fenced or program != text.strip() or len(words) > (3 if program.startswith("python -m") else 1)


def shortened(text: str) -> str:
    """``--steps N`` → at most :data:`MIN_STEPS`, ``--epochs E`` → at most :data:`MIN_EPOCHS`."""
    def steps(match):
        return f"--steps {min(int(match.group(1)), MIN_STEPS)}"

    def epochs(match):
        return f"--epochs {min(float(match.group(1)), MIN_EPOCHS):g}"
    return re.sub(r"--epochs[ =](\d+(?:\.\d*)?)", epochs, re.sub(r"--steps[ =](\d+)", steps, text))


# ----------------------------------------------------------------------------------- running
def environment(home: Path, cache: Path, runs: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GENSTUDIO_"))}
    env.update(HOME=str(home), GENSTUDIO_CACHE=str(cache), GENSTUDIO_RUNS=str(runs), QT_QPA_PLATFORM="offscreen",
               # the README's toy example runs "once GENSTUDIO_ENGINES=toy=tests.toy.spec:TOY_SPEC is set"
               GENSTUDIO_ENGINES="toy=tests.toy.spec:TOY_SPEC",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return env


def argv_of(text: str, env: dict) -> tuple[list[str], dict]:
    """The words to run and the environment, with ``NAME=value`` prefixes applied and ``python``
    and ``main.py`` resolved (this interpreter, the project's file)."""
    words = shlex.split(text)
    env = dict(env)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0] == "python":
        words[0] = sys.executable
    words = [str(ROOT / "main.py") if w == "main.py" else w for w in words]
    return words, env


def run_cli(argv, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


def last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line on stdout")


def check_train(out: subprocess.CompletedProcess) -> str:
    summary = last_json(out.stdout)
    if summary.get("status") != "finished":
        return f"ended {summary.get('status')}: {summary.get('message', '')}"
    if summary.get("steps_this_run", 0) < MIN_STEPS and "--resume" not in out.args:
        return f"trained {summary.get('steps_this_run')} steps, fewer than the {MIN_STEPS} that pass every cadence"
    return ""


def check_eval(out: subprocess.CompletedProcess) -> str:
    if "--json" not in out.args:
        return "" if out.stdout.strip() else "printed nothing"
    metrics = json.loads(out.stdout)
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v) or v is None]
    return f"non-finite metrics: {', '.join(bad)}" if bad else ""


def check_export(out: subprocess.CompletedProcess, cwd: Path) -> str:
    args = list(out.args)
    if "export-tb" in args:
        folder = cwd / args[args.index("export-tb") + 2]
        events = list(folder.rglob("events.out.tfevents.*"))
        return "" if events else f"no event files in {folder}"
    if "--scalars" in args:                           # a CSV: its header, and a row per step
        target = cwd / args[args.index("--scalars") + 1]
        lines = target.read_text().splitlines() if target.is_file() else []
        return "" if len(lines) > 1 and lines[0].startswith("step,wall_time,") else f"no scalars in {target}"
    target = cwd / args[args.index("--out") + 1]
    if not target.is_file() or target.stat().st_size == 0:
        return f"no file {target}"
    if target.suffix == ".mp4":
        import av

        with av.open(str(target)) as container:
            frames = sum(1 for _ in container.decode(video=0))
    else:
        from PIL import Image

        with Image.open(target) as image:
            frames = getattr(image, "n_frames", 1)
    return "" if frames >= 1 else f"{target} holds no frames"


def run_gui(argv, env, cwd) -> tuple[int, str]:
    """(status, problem): the studio offscreen until its first pictures show, a few seconds more,
    then SIGTERM (as a user's Ctrl+C or a session's end)."""
    env = {**env, "GENSTUDIO_DEBUG_STARTUP": "1"}
    with tempfile.TemporaryFile("w+") as errors:
        app = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        deadline, shown = time.monotonic() + GUI_START_S, None
        while app.poll() is None and time.monotonic() < deadline:
            errors.seek(0)
            if "first picture painted" in errors.read():
                shown = time.monotonic()
                break
            time.sleep(0.2)
        if shown is not None:
            time.sleep(GUI_SHOW_S)
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
        try:
            status = app.wait(60)
        except subprocess.TimeoutExpired:
            app.kill()
            status = app.wait()
            return status, "did not close within 60 s of SIGTERM"
        errors.seek(0)
        log = errors.read()
    if "Traceback" in log:
        return status, "traceback: " + log[log.index("Traceback"):].strip().splitlines()[-1]
    if shown is None:
        return status, f"showed no picture within {GUI_START_S:g} s: {(log.strip().splitlines() or [''])[-1]}"
    return status, "" if status == 0 else f"exit status {status} after SIGTERM"


def run_one(command: Command, env: dict, cwd: Path) -> str:
    """'' if the command did what it must, else what went wrong."""
    argv, env = argv_of(shortened(command.text), env)
    if command.kind == "benchmark":
        help_ = run_cli([*argv[:2], "--help"], env, ROOT)
        unknown = [w for w in re.findall(r"--[\w-]+", command.text) if w not in help_.stdout]
        if help_.returncode != 0 or unknown:
            return f"--help: exit status {help_.returncode}, options it does not know: {unknown}"
        return ""
    if command.kind == "gui":
        _, problem = run_gui(argv, env, cwd)
        return problem
    out = run_cli(argv, env, cwd)
    if out.returncode != 0:
        return f"exit status {out.returncode}: {(out.stderr.strip().splitlines() or [''])[-1]}"
    try:
        if command.kind == "train":
            return check_train(out)
        if command.kind == "eval":
            return check_eval(out)
        if command.kind == "export":
            return check_export(out, cwd)
    except (ValueError, KeyError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="list the commands (and what is not run) and exit")
    p.add_argument("--only", help="run only the commands containing this text (and the ones before them "
                                  "that record the runs they use)")
    p.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temp folder")
    args = p.parse_args(argv)
    commands = readme_commands(README.read_text(encoding="utf-8"))
    runnable = [c for c in commands if c.kind != "setup"]
    if args.list:
        for c in commands:
            shown = shortened(c.text) if c in runnable else c.text
            print(f"{c.line:4d}  {c.kind:<9}  {shown}")
        return 0
    if args.only:
        last = max(i for i, c in enumerate(runnable) if args.only in c.text)
        runnable = [c for i, c in enumerate(runnable) if i <= last and (args.only in c.text or c.kind == "train")]
    work = Path(args.keep or tempfile.mkdtemp(prefix="genstudio-readme-"))
    for name in ("home", "cache", "runs", "cwd"):
        (work / name).mkdir(parents=True, exist_ok=True)
    env = environment(work / "home", work / "cache", work / "runs")
    failed, start = [], time.perf_counter()
    for command in runnable:
        t0 = time.perf_counter()
        try:
            problem = run_one(command, env, work / "cwd")
        except subprocess.TimeoutExpired:
            problem = f"still running after {COMMAND_TIMEOUT_S} s"
        mark = "ok  " if not problem else "FAIL"
        print(f"{mark} {time.perf_counter() - t0:6.1f} s  README:{command.line}  {shortened(command.text)}"
              + (f"\n       {problem}" if problem else ""), flush=True)
        if problem:
            failed.append({"line": command.line, "command": command.text, "problem": problem})
    print(json.dumps({"commands": len(runnable), "failed": failed, "seconds": round(time.perf_counter() - start, 1),
                      "workdir": str(work)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
