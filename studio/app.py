"""``python main.py`` / ``genstudio``: parse the command line, start training, show the window.

The window appears before torch is imported: training (and torch) live in child processes, started
before the window is built so that their imports overlap with it. Command-line mistakes that can be seen without torch (unknown
model, device or dataset, a malformed ``--set``, a missing ``--open`` directory) print one line on
stderr and exit 2; an unknown config key or a bad value shows in the window.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from engines.cli import EXIT_BAD_INPUT, OneLineParser
from engines.registry import DEFAULT_MODEL

STARTED = time.perf_counter()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = OneLineParser(prog="genstudio", description="Train classic image generative models and watch them learn.")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"engine to train (default {DEFAULT_MODEL})")
    p.add_argument("--data", help="mnist | digits | folder:PATH | torchvision:NAME | ... (default: the model's own)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a config field (repeatable); `python -m engines list` shows them")
    p.add_argument("--paused", action="store_true", help="start paused (Space resumes)")
    p.add_argument("--open", metavar="RUN_DIR", help="view a recorded run instead of training")
    return p.parse_args(argv)


def check_args(args: argparse.Namespace) -> str | None:
    """The first mistake on the command line that needs no torch to see, or None."""
    from engines.core.config import ConfigError, check_seed, parse_assignments
    from engines.data import dataset_problem
    from engines.registry import models
    from studio.controls import DEVICE_CHOICES

    if args.open:
        from engines.core.store import is_run_dir

        path = Path(args.open).expanduser()
        try:
            if not path.is_dir():
                return f"no run directory at {path}"
            return None if is_run_dir(path) else f"{path} is not a run directory (no run.sqlite in it)"
        except OSError as exc:                      # a parent that cannot be searched
            return f"{path} cannot be read ({exc.strerror})"
    try:
        check_seed(args.seed)
    except ConfigError as exc:
        return str(exc)
    if args.model not in models():
        return f"unknown model '{args.model}' (known: {', '.join(sorted(models()))})"
    if args.device not in DEVICE_CHOICES and not args.device.startswith("cuda:"):
        return f"unknown device '{args.device}' (choose from {', '.join(DEVICE_CHOICES)})"
    if args.data is not None and dataset_problem(args.data):
        return dataset_problem(args.data)
    try:
        parse_assignments(args.overrides)
    except ConfigError as exc:
        return str(exc)
    return None


def _debug(what: str) -> None:
    """With GENSTUDIO_DEBUG_STARTUP=1, print when each startup stage happened."""
    if os.environ.get("GENSTUDIO_DEBUG_STARTUP"):
        print(f"[genstudio] {time.perf_counter() - STARTED:6.2f}s {what} (torch imported: {'torch' in sys.modules})",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = check_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT

    from engines.core.config import parse_assignments
    from studio.worker import RunSpec, start_children

    spec = children = None
    if not args.open:      # the run's processes import torch while the window is built
        spec = RunSpec(model=args.model, data=args.data, device=args.device, seed=args.seed,
                       overrides=parse_assignments(args.overrides), paused=args.paused)
        children = start_children(spec)
        _debug("run started")

    from PySide6 import QtCore, QtWidgets

    from studio.theme import apply_theme
    from studio.window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setOrganizationName("genstudio")
    app.setApplicationName("studio")
    apply_theme(app)
    window = MainWindow()
    _close_on_signals(window)
    window.show()
    _debug("window shown")
    if args.open:
        QtCore.QTimer.singleShot(0, lambda: window.open_run(args.open))
    else:
        QtCore.QTimer.singleShot(0, lambda: window.start_run(spec, children))
    if os.environ.get("GENSTUDIO_DEBUG_STARTUP"):
        _watch_first_frames(window)
    return app.exec()


def _close_on_signals(window) -> None:
    """Ctrl+C or a SIGTERM closes the window as the Quit menu does (the run is saved and kept).

    Python runs a signal handler between any two bytecodes, also inside a paint event; closing the
    window there ends a paint under way (a segmentation fault). The handler only notes the request;
    a light timer, between events, closes the window."""
    from PySide6 import QtCore

    requested = []
    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: requested.append(True))

    def close_if_requested():
        if requested:
            timer.stop()
            window.close()
    timer = QtCore.QTimer(window)
    timer.timeout.connect(close_if_requested)
    timer.start(100)


def _watch_first_frames(window) -> None:
    from PySide6 import QtCore

    timer = QtCore.QTimer(window)

    def check():
        if window.main_pictures_painted:
            _debug("first picture painted")
            timer.stop()
    timer.timeout.connect(check)
    timer.start(20)
