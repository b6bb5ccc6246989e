"""What watching costs: training speed of the studio's live run against what a user gets without
the studio (``python -m engines train``), in one run.

    python benchmarks/live_overhead.py [--model rbm] [--seconds 24] [--rounds 4] [--set k=v ...]
                                       [--display-share 0.16]

Three sides of the same engine (same config and seed; the engine's ``steady_overrides`` first, so
that runs of different ages train alike, then ``--set``) take turns, the others paused (a turn
starts once the last one's run has finished its step) or not yet started, so that a slow spell of
a noisy machine hits all of them:

- **cli**: ``python -m engines train MODEL --steps N`` in a subprocess, exactly as a user runs it
  (every core, recording as the CLI records), one run that each turn resumes; its speed is read
  from the times its run store recorded for the turn's steps, from the end of their first quarter
  to the last: the training loop as it goes on, as in the studio's warmed-up runs (not the
  process's start-up, the run's first checkpoint or the convolutions' first, slower steps, which in
  a short turn made a large model's CLI look slower than the studio). N is sized so that a turn
  lasts about as long as the others';
- **headless**: the studio's training process with no display (what the studio costs without
  pictures: the message thread, the live scalars);
- **live**: the studio window training it offscreen, every panel drawing every frame it gets;
- with ``--parameter-stats``, **live_unwatched**: a second studio window, the same but with the
  weights-and-gradients view off (``RunSpec.watch_parameters``): ``parameter_stats_ratio`` is the
  median of live/live_unwatched, what that view costs training, as noisy as any ratio of two turns.
  ``parameter_stats_share`` (always) is exact: the share of the live turns' time that the training
  loop spent making the weights-and-gradients frames (its status reports the seconds).

Before anything is timed, a short CLI run builds what a first use builds (datasets, the digit
classifier), so a cold cache is not timed as training. During the live turns a 10 ms QTimer in the GUI thread records its intervals (how smooth the UI
stays), and the processor time of the display process and of the GUI process is read from /proc.
``ratio_vs_cli`` is the median over rounds of live/cli, ``ratio`` of live/headless. The last line
printed is one JSON object with the figures. If a side fails (its run fails, or stops answering), the
benchmark says which and why on stderr, stops the others and exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the runs it records go to a temp folder, not among the user's own (GENSTUDIO_RUNS overrides)
os.environ.setdefault("GENSTUDIO_RUNS", tempfile.mkdtemp(prefix="genstudio-bench-"))

UI_TIMER_MS = 10
CLI_WARMUP_SHARE = 4        # the first 1/4 of a CLI turn's steps is its warm-up, not timed
ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="default: the studio's default model")
    p.add_argument("--data", default=None, help="default: the model's own")
    p.add_argument("--seconds", type=float, default=24.0, help="measured seconds of each side")
    p.add_argument("--rounds", type=int, default=4, help="turns each side takes (ratios are their medians)")
    p.add_argument("--warmup", type=float, default=4.0, help="seconds of training before measuring")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--parameter-stats", action="store_true",
                   help="also time a live run without the weights-and-gradients view")
    p.add_argument("--display-share", type=float, default=None, metavar="SHARE",
                   help="the live side's GENSTUDIO_DISPLAY_SHARE (default: the studio's, or the environment's)")
    return p.parse_args(argv)


def run_for(seconds: float) -> None:
    """Let the Qt event loop run for ``seconds``."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


class SideFailed(RuntimeError):
    """A side of the benchmark failed: its message ends the run (status 1), the others stopped."""


PROBLEMS: list = []      # functions that return what has gone wrong with a side so far ("" if nothing)


def check_sides() -> None:
    for problem in PROBLEMS:
        if message := problem():
            raise SideFailed(message)


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        check_sides()
        if time.monotonic() > deadline:
            raise SideFailed(f"timed out waiting for {what}")
        run_for(0.02)


def cpu_seconds(pid: int) -> float:
    """User + system processor time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class IntervalRecorder:
    """A precise 10 ms timer in the GUI thread; its measured intervals show how often the event
    loop was kept from running (by painting, by receiving frames, by the GIL). It ticks through
    every side's turns, so that its own cost (a hundred wake-ups a second of the benchmark's
    process, each taking a core from training for a moment) falls on all three alike, and keeps
    the intervals of the live turns."""

    def __init__(self):
        from PySide6 import QtCore

        self.intervals: list[float] = []
        self._last = None
        self.recording = False
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(UI_TIMER_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.recording and self._last is not None:
            self.intervals.append((now - self._last) * 1000)
        self._last = now

    def record(self, on: bool) -> None:
        self.recording = on
        self._last = None


class StepClock:
    """A run's step counter as its status messages bring it (a few a second), each with the time it
    arrived: a rate measured between two arrivals is not off by the age of a stale reading."""

    def __init__(self, worker):
        self.step, self.at, self.paused, self.watch_seconds = None, 0.0, False, 0.0
        worker.statusChanged.connect(self._status)

    def _status(self, status: dict) -> None:
        self.step, self.at, self.paused = status["step"], time.perf_counter(), status["paused"]
        self.watch_seconds = status.get("watch_seconds", 0.0)

    def wait_paused(self) -> None:
        """Until a status sent after now says the run is paused: its last step has ended. (Two
        runs training at once on the same cores slow each other down many times over: torch's
        threads of each spin waiting for their partner, which the other run's threads hold off.)"""
        asked = time.perf_counter()
        wait_until(lambda: self.at > asked and self.paused, 30, "the run to pause")

    def next_reading(self) -> tuple[int, float]:
        """(step, arrival time) of the first status that arrives from now on."""
        asked = time.perf_counter()
        wait_until(lambda: self.at > asked, 30, "a status message")
        return self.step, self.at


def measure_steps(clock: StepClock, seconds: float) -> tuple[float, float]:
    """(steps, seconds) over about ``seconds`` of event-loop time, from the run's own step counter."""
    s0, t0 = clock.next_reading()
    run_for(seconds)
    s1, t1 = clock.next_reading()
    return s1 - s0, t1 - t0


def cli_turn(args, steps: int, run_dir: Path) -> float:
    """``steps`` more steps of one ``python -m engines train`` run, started by the first turn and
    resumed (``--resume``) by the next, so that it ages as the studio's runs do and meets an
    engine's periodic work as often as they do (a GAN checks its samples every 100 steps: fresh
    turns of 90 steps never did, and timed the CLI 4-6 % fast); its steps/s after the turn's first
    quarter of steps."""
    resume = run_dir.exists()
    before = recorded_steps(run_dir)[0][-1] if resume else 0
    if resume:
        command = [sys.executable, "-m", "engines", "train", "--resume", str(run_dir), "--steps", str(steps)]
    else:
        command = [sys.executable, "-m", "engines", "train", args.model, "--steps", str(steps),
                   "--seed", str(args.seed), "--run-dir", str(run_dir)]
        command += ["--data", args.data] if args.data else []
        for item in args.overrides:
            command += ["--set", item]
    with tempfile.TemporaryFile("w+") as errors:
        cli = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, text=True, cwd=ROOT)
        while cli.poll() is None:
            run_for(0.05)               # the event loop (and the UI timer) runs on, as in the studio's turns
        if cli.returncode != 0:
            errors.seek(0)
            last = (errors.read().strip().splitlines() or ["(no message)"])[-1]
            raise SideFailed(f"the CLI side failed (exit status {cli.returncode}): {last}")
    recorded, walls = recorded_steps(run_dir)
    recorded, walls = recorded[recorded > before], walls[recorded > before]
    first = len(recorded) // CLI_WARMUP_SHARE
    return float(recorded[-1] - recorded[first]) / float(walls[-1] - walls[first])


def recorded_steps(run_dir: Path):
    """(steps, wall times) of the run's most often recorded scalar, as arrays."""
    import numpy as np

    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        steps, walls = max((store.scalars(name)[:2] for name in store.scalar_names()), key=lambda sw: len(sw[0]))
    finally:
        store.close()
    return np.asarray(steps), np.asarray(walls)


class Outcome:
    """What a studio side's worker said went wrong: a failure to start, or a run that ended."""

    def __init__(self, name: str, worker):
        self.name, self.message = name, ""
        worker.failed.connect(self.failed)
        worker.finished.connect(self.finished)

    def failed(self, message: str) -> None:
        self.message = f"the {self.name} side could not start: {message}"

    def finished(self, summary: dict) -> None:
        self.message = (f"the {self.name} side's run ended ({summary.get('status')} at step {summary.get('steps')}): "
                        f"{summary.get('message', '')}")


def start_studio_sides(spec, sides: list):
    """The headless run (a training process, no display) and the studio window training the same
    spec; both start paused, so they can take turns. Each is added to ``sides`` (to be stopped
    however the benchmark ends) and watched for failure."""
    from dataclasses import replace

    from studio.window import MainWindow
    from studio.worker import TrainingWorker

    headless = TrainingWorker(replace(spec, live=False, paused=True))
    sides.append(headless.stop)
    outcome = Outcome("headless", headless)
    PROBLEMS.append(lambda: outcome.message)
    headless_status = {}
    headless.statusChanged.connect(headless_status.update)
    window = MainWindow()
    sides.append(window.close)
    PROBLEMS.append(lambda: f"the live side failed: {window.error_text}" if window.error_text else "")
    window.resize(1400, 860)
    window.show()
    window.start_run(replace(spec, paused=True))
    wait_until(lambda: "step" in headless_status and window.frames_shown > 0, 180, "both runs to start")
    return headless, window


def start_unwatched_window(spec, sides: list):
    """A second studio window training ``spec`` paused, with the weights-and-gradients view off."""
    from dataclasses import replace

    from studio.window import MainWindow

    window = MainWindow()
    sides.append(window.close)
    PROBLEMS.append(lambda: f"the unwatched live side failed: {window.error_text}" if window.error_text else "")
    window.resize(1400, 860)
    window.show()
    window.start_run(replace(spec, paused=True, watch_parameters=False))
    wait_until(lambda: window.frames_shown > 0, 180, "the unwatched run to start")
    return window


def build_first_use(args) -> None:
    """What a first use builds (datasets, the digit classifier at a GAN's first sample check), built
    before anything is timed: a CLI run long enough to pass each of the engine's ``*_every``
    cadences once, thrown away. Otherwise a cold cache times a build as training (one side's
    turn made no step while the classifier trained)."""
    from engines.core.config import fields_of
    from engines.registry import engine_class

    config = engine_class(args.model).Config()
    steps = 1 + max([getattr(config, f.name) for f in fields_of(type(config)) if f.name.endswith("_every")] or [0])
    command = [sys.executable, "-m", "engines", "train", args.model, "--steps", str(steps), "--frame-every", "0",
               "--seed", str(args.seed), "--run-dir", str(Path(tempfile.mkdtemp(prefix="genstudio-bench-")) / "first")]
    command += ["--data", args.data] if args.data else []
    for item in args.overrides:
        command += ["--set", item]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SideFailed(f"the first-use run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")


def interleaved(spec, args, sides: list) -> dict:
    """``rounds`` turns of (cli, headless, live[, live_unwatched]), each about ``seconds / rounds`` long."""
    from engines.live.protocol import Pause, Resume

    headless, window = start_studio_sides(spec, sides)
    turns = {"headless": (lambda p: headless.send(Pause() if p else Resume()), StepClock(headless)),
             "live": (window.set_paused, StepClock(window.worker))}
    if args.parameter_stats:
        unwatched = start_unwatched_window(spec, sides)
        turns["live_unwatched"] = (unwatched.set_paused, StepClock(unwatched.worker))
    display_pid = window.worker._processes[1].pid
    recorder = IntervalRecorder()
    rates = {"cli": [], **{name: [] for name in turns}}
    live_seconds = frames = display_cpu = gui_cpu = watch_seconds = 0.0
    for name, (pause, clock) in turns.items():      # warm-up: each run trains a while first
        pause(False)
        run_for(args.warmup / 2)
        pause(True)
        clock.wait_paused()
    turn = args.seconds / args.rounds
    cli_steps = None
    cli_run = Path(tempfile.mkdtemp(prefix="genstudio-bench-cli-")) / "run"
    for _ in range(args.rounds):
        for name, (pause, clock) in turns.items():
            pause(False)
            run_for(0.3)                          # the run picks up speed (and frames) again
            if name == "live":
                recorder.record(True)
                frames0, display0, gui0 = window.main_pictures_painted, cpu_seconds(display_pid), time.process_time()
                watch0 = clock.watch_seconds
            steps, seconds = measure_steps(clock, turn)
            check_sides()
            if name == "live":
                recorder.record(False)
                live_seconds += seconds
                frames += window.main_pictures_painted - frames0
                display_cpu += cpu_seconds(display_pid) - display0
                gui_cpu += time.process_time() - gui0
                watch_seconds += clock.watch_seconds - watch0
            pause(True)
            clock.wait_paused()
            if steps <= 0:
                raise SideFailed(f"the {name} side made no step in a {seconds:.1f}-second turn")
            rates[name].append(steps / seconds)
        cli_steps = cli_steps or max(50, int(turn * rates["headless"][0]))
        rates["cli"].append(cli_turn(args, cli_steps, cli_run))
    run_dir, headless_dir = window.run_dir, headless.info["run_dir"]
    PROBLEMS.clear()                      # stopping the sides ends their runs: no failure now
    print(f"runs kept in {headless_dir} (headless), {run_dir} (live) and {cli_run} (cli)")
    return {"rates": rates, "intervals": recorder.intervals, "frames_per_s": frames / live_seconds,
            "display_cpu_share": display_cpu / live_seconds, "gui_cpu_share": gui_cpu / live_seconds,
            "watch_share": watch_seconds / live_seconds}


def percentile(values, q: float) -> float:
    import numpy as np
    return float(np.percentile(np.asarray(values), q))


def main(argv=None) -> int:
    args = parse_args(argv)
    from PySide6 import QtCore, QtWidgets

    from engines.core.config import parse_assignments
    from engines.registry import DEFAULT_MODEL, engine_class
    from engines.live.display import DISPLAY_SHARE_ENV, display_share
    from engines.live.protocol import RunSpec
    from studio.theme import apply_theme

    def quiet_offscreen(mode, context, message):   # the offscreen platform's notice on every dock move
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)
    QtCore.qInstallMessageHandler(quiet_offscreen)
    if args.display_share is not None:
        os.environ[DISPLAY_SHARE_ENV] = str(args.display_share)    # the studio's processes inherit it
    args.model = args.model or DEFAULT_MODEL
    args.overrides = [f"{k}={v}" for k, v in engine_class(args.model).steady_overrides.items()] + args.overrides
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    spec = RunSpec(model=args.model, data=args.data, seed=args.seed, overrides=parse_assignments(args.overrides))
    print(f"{args.model} on {args.data or 'its default data'}, {args.rounds} rounds of "
          f"{args.seconds / args.rounds:g} s per side after {args.warmup:g} s of warm-up, "
          f"{os.cpu_count()} CPU cores; overrides {spec.overrides or 'none'}; display share {display_share():g}")
    sides: list = []
    try:
        build_first_use(args)
        shown = interleaved(spec, args, sides)
    except SideFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        PROBLEMS.clear()
        for stop in reversed(sides):
            stop()
    rates, intervals = shown["rates"], shown["intervals"]
    for i, (c, h, l) in enumerate(zip(rates["cli"], rates["headless"], rates["live"]), 1):
        unwatched = rates.get("live_unwatched", [])
        print(f"round {i}: cli {c:8.1f}   headless {h:8.1f}   live {l:8.1f} steps/s   "
              f"live/cli {l / c:.3f}   live/headless {l / h:.3f}"
              + (f"   live_unwatched {unwatched[i - 1]:8.1f}   live/live_unwatched {l / unwatched[i - 1]:.3f}"
                 if unwatched else ""))
    result = {
        "cli_steps_per_s": round(statistics.median(rates["cli"]), 2),
        "headless_steps_per_s": round(statistics.median(rates["headless"]), 2),
        "live_steps_per_s": round(statistics.median(rates["live"]), 2),
        "ratio_vs_cli": round(statistics.median(l / c for c, l in zip(rates["cli"], rates["live"])), 4),
        "ratio": round(statistics.median(l / h for h, l in zip(rates["headless"], rates["live"])), 4),
        "display_cpu_share": round(shown["display_cpu_share"], 3),
        "gui_cpu_share": round(shown["gui_cpu_share"], 3),
        "main_pictures_per_s": round(shown["frames_per_s"], 2),
        "ui_p50_ms": round(percentile(intervals, 50), 2),
        "ui_p95_ms": round(percentile(intervals, 95), 2),
        "ui_p99_ms": round(percentile(intervals, 99), 2),
        "ui_max_ms": round(max(intervals), 2),
        "display_share": display_share(),
        "parameter_stats_share": round(shown["watch_share"], 5),
        **({"live_unwatched_steps_per_s": round(statistics.median(rates["live_unwatched"]), 2),
            "parameter_stats_ratio": round(statistics.median(
                l / u for l, u in zip(rates["live"], rates["live_unwatched"])), 4)} if args.parameter_stats else {}),
        "cores": os.cpu_count(),
    }
    print(f"ratio_vs_cli {result['ratio_vs_cli']:.3f}, ratio {result['ratio']:.3f}; display process "
          f"{result['display_cpu_share']:.0%} of a core, GUI {result['gui_cpu_share']:.0%}; "
          f"{UI_TIMER_MS} ms UI timer: p50 {result['ui_p50_ms']} ms, p99 {result['ui_p99_ms']} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
