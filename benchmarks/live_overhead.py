"""What watching costs: training speed headless vs. with the studio showing its panels, in one run.

    python benchmarks/live_overhead.py [--model rbm] [--seconds 20] [--data mnist] [--set k=v ...]

Two runs of the same engine (same config and seed) take turns, the other one paused: a headless run
(the Runner recording to a RunStore in the same kind of child process the studio uses, no display)
and the studio window training it offscreen, panels drawing every frame they get. Several short
turns each, so that a slow spell of a noisy machine hits both sides; the ratio is the median of the
rounds' live/headless ratios. During the live turns a 10 ms QTimer in the GUI thread records its
intervals: how smooth the UI stays. The last line printed is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the two runs it records go to a temp folder, not among the user's own (GENSTUDIO_RUNS overrides)
os.environ.setdefault("GENSTUDIO_RUNS", tempfile.mkdtemp(prefix="genstudio-bench-"))

UI_TIMER_MS = 10


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="rbm")
    p.add_argument("--data", default="mnist")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds of each side, headless and live")
    p.add_argument("--rounds", type=int, default=4, help="turns each side takes (the ratio is their median)")
    p.add_argument("--warmup", type=float, default=4.0, help="seconds of training before measuring")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return p.parse_args(argv)


def run_for(seconds: float) -> None:
    """Let the Qt event loop run for ``seconds``."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"error: timed out waiting for {what}")
        run_for(0.02)


class IntervalRecorder:
    """A precise 10 ms timer in the GUI thread; its measured intervals show how often the event
    loop was kept from running (by painting, by receiving frames, by the GIL)."""

    def __init__(self):
        from PySide6 import QtCore

        self.intervals: list[float] = []
        self._last = None
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(UI_TIMER_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.intervals.append((now - self._last) * 1000)
        self._last = now

    def resume(self) -> None:
        self._last = None
        self.timer.start()

    def pause(self) -> None:
        self.timer.stop()


class PaintCounter:
    """Counts paint events of a widget: frames actually drawn, not just handed over."""

    def __init__(self, widget):
        from PySide6 import QtCore

        class Filter(QtCore.QObject):
            def eventFilter(inner, obj, event):  # noqa: N805 - Qt's signature
                if event.type() == QtCore.QEvent.Type.Paint:
                    self.count += 1
                return False
        self.count = 0
        self._filter = Filter()
        widget.installEventFilter(self._filter)


def measure_steps(read_step, seconds: float) -> tuple[float, float]:
    """(steps, seconds) over ``seconds`` of event-loop time, from the run's own step counter."""
    t0, s0 = time.perf_counter(), read_step()
    run_for(seconds)
    return read_step() - s0, time.perf_counter() - t0


def start_both(spec):
    """The headless run (a training process, no display, no window) and the studio window training
    the same spec; both start paused, so they can take turns."""
    from dataclasses import replace

    from studio.window import MainWindow
    from studio.worker import TrainingWorker

    headless = TrainingWorker(replace(spec, live=False, paused=True))
    headless_status = {}
    headless.statusChanged.connect(headless_status.update)
    headless.failed.connect(lambda message, _: sys.exit(f"error: {message}"))
    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    window.start_run(replace(spec, paused=True))
    wait_until(lambda: "step" in headless_status and window.frames_shown > 0 or window.error_text,
               120, "both runs to start")
    if window.error_text:
        sys.exit(f"error: {window.error_text}")
    return headless, headless_status, window


def interleaved(spec, args) -> dict:
    """``rounds`` turns of (headless, live), each ``seconds / rounds`` long, the other run paused:
    a slow spell of the machine hits both sides alike. Returns the per-round rates and the UI
    timer intervals and frames of the live turns."""
    headless, headless_status, window = start_both(spec)
    turns = {"headless": (lambda p: headless.send("pause" if p else "resume"), lambda: headless_status["step"]),
             "live": (window.set_paused, lambda: window.last_status["step"])}
    paints = PaintCounter(window.panels["chains"].grid_view.viewport())
    recorder = IntervalRecorder()
    rates = {"headless": [], "live": []}
    live_seconds = frames = painted = 0.0
    for name, (pause, _) in turns.items():          # warm-up: each run trains a while first
        pause(False)
        run_for(args.warmup / 2)
        pause(True)
    turn = args.seconds / args.rounds
    for _ in range(args.rounds):
        for name, (pause, read_step) in turns.items():
            pause(False)
            run_for(0.3)                          # the run picks up speed (and frames) again
            if name == "live":
                recorder.resume()
                frames0, paints0 = window.frames_shown, paints.count
            steps, seconds = measure_steps(read_step, turn)
            if name == "live":
                recorder.pause()
                live_seconds += seconds
                frames += window.frames_shown - frames0
                painted += paints.count - paints0
            pause(True)
            rates[name].append(steps / seconds)
    run_dir, headless_dir = window.run_dir, headless.info["run_dir"]
    headless.stop()
    window.close()
    print(f"runs kept in {headless_dir} (headless) and {run_dir} (live)")
    return {"rates": rates, "intervals": recorder.intervals,
            "frames_per_s": min(frames, painted) / live_seconds}


def percentile(values, q: float) -> float:
    import numpy as np
    return float(np.percentile(np.asarray(values), q))


def main(argv=None) -> int:
    args = parse_args(argv)
    from PySide6 import QtWidgets

    from engines.core.config import parse_assignments
    from studio.theme import apply_theme
    from studio.worker import RunSpec

    from PySide6 import QtCore

    def quiet_offscreen(mode, context, message):   # the offscreen platform's notice on every dock move
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)
    QtCore.qInstallMessageHandler(quiet_offscreen)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    spec = RunSpec(model=args.model, data=args.data, seed=args.seed, overrides=parse_assignments(args.overrides))
    print(f"{args.model} on {args.data}, {args.rounds} rounds of {args.seconds / args.rounds:g} s per side "
          f"after {args.warmup:g} s of warm-up, "
          f"{os.cpu_count()} CPU cores; overrides {spec.overrides or 'none'}")
    shown = interleaved(spec, args)
    rates, intervals = shown["rates"], shown["intervals"]
    for i, (h, l) in enumerate(zip(rates["headless"], rates["live"]), 1):
        print(f"round {i}: headless {h:8.1f} steps/s   live {l:8.1f} steps/s   ratio {l / h:.3f}")
    headless_rate, live_rate = statistics.median(rates["headless"]), statistics.median(rates["live"])
    result = {
        "headless_steps_per_s": round(headless_rate, 2),
        "live_steps_per_s": round(live_rate, 2),
        "ratio": round(statistics.median(l / h for h, l in zip(rates["headless"], rates["live"])), 4),
        "ui_p50_ms": round(percentile(intervals, 50), 2),
        "ui_p95_ms": round(percentile(intervals, 95), 2),
        "ui_p99_ms": round(percentile(intervals, 99), 2),
        "ui_max_ms": round(max(intervals), 2),
        "frames_per_s": round(shown["frames_per_s"], 2),
    }
    print(f"ratio {result['ratio']:.3f}; {UI_TIMER_MS} ms UI timer intervals: p50 {result['ui_p50_ms']} ms, "
          f"p95 {result['ui_p95_ms']} ms, p99 {result['ui_p99_ms']} ms, max {result['ui_max_ms']} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
