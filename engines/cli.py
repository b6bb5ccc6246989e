"""Command line: ``python -m engines train|eval|animate|list|export-tb|serve|mirror`` (also installed as
``genstudio-train``); ``serve`` and ``mirror`` follow a run from another machine (:mod:`engines.records.serving`).

Bad input (unknown model, dataset or key, a value of the wrong type, a missing image folder, an
unwritable run directory, a corrupt or hostile checkpoint) prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_STEPS = 2000
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class UsageError(ValueError):
    pass


class OneLineParser(argparse.ArgumentParser):
    """argparse whose mistakes print one ``error:`` line and exit 2, like every other bad input
    (the studio's command lines use it too)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see `{self.prog} --help`)\n")


def port_number(text: str) -> int:
    """A TCP port on the command line: 0 (any free one) to 65535."""
    if not (text.isascii() and text.isdigit() and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"a port is a whole number from 0 to 65535, not {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    from engines.records.serving import DEFAULT_PORT, RETRY_S

    p = OneLineParser(prog="python -m engines", description="Train and evaluate genstudio's engines headless.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and record the run (or --resume one)")
    t.add_argument("model", nargs="?", help="the model to train (not needed with --resume)")
    t.add_argument("--resume", metavar="RUN_DIR",
                   help="continue a stopped or crashed run from its last checkpoint, in the same directory")
    t.add_argument("--data", help="mnist | digits | folder:PATH | torchvision:NAME | ... (`list`); "
                                  "default: the model's own")
    length = t.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimisation steps (default 2000)")
    length.add_argument("--epochs", type=float, help="passes over the training set")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    t.add_argument("--run-dir", help="where to record the run (default runs/MODEL-TIME)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a config field (repeatable); see `list`")
    t.add_argument("--frame-every", type=int, default=200,
                   help="steps between recorded frames, and at least one every 30 s (default 200; 0: none)")
    t.add_argument("--early-frames", action=argparse.BooleanOptionalAction, default=True,
                   help="also record frames at steps 1, 2, 3, ... ever further apart until they are --frame-every "
                        "apart, where training changes fastest (default: on)")
    t.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    t.add_argument("--max-store-mb", type=float, default=1024,
                   help="past this size the run's older frames are thinned (default 1024; 0: never)")
    t.add_argument("--eval", action="store_true", help="evaluate on the test split at the end")
    t.add_argument("--serve", type=port_number, metavar="PORT",
                   help="serve the run read-only on 127.0.0.1:PORT while it trains (rank 0), for `mirror` "
                        "through an SSH tunnel (see `serve`)")

    e = sub.add_parser("eval", help="held-out metrics of a recorded run")
    e.add_argument("run_dir")
    e.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    e.add_argument("--device", default="auto")
    e.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change an evaluation setting for this evaluation only (e.g. "
                        "ais_max_temperatures=232000); the recorded run is not changed")

    a = sub.add_parser("animate", help="an animation of a model's own dynamics from a run's checkpoint (Gibbs "
                                       "chains mixing a sweep a frame, a walk through a VAE's latent plane, "
                                       "a GAN's latent loop, a chair turning, DRAW's glimpses)")
    a.add_argument("run_dir")
    a.add_argument("--view", default=None, help="the view to animate (default: the first that animates)")
    a.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="the checkpoint to animate (default: the run's newest; its checkpoints/step-*.pt "
                        "keep the last few)")
    a.add_argument("--frames", type=int, default=300,
                   help="pictures (a loop: one round; a sampling view: one per sweep; default 300)")
    a.add_argument("--out", required=True, help="the file: .mp4, .gif or .png (a sheet of the pictures)")
    a.add_argument("--fps", type=float, default=15.0)
    a.add_argument("--scale", type=int, default=None, help="screen pixels per image pixel (default: fit a 1280x720 slide)")
    a.add_argument("--device", default="auto")
    a.add_argument("--progress", action="store_true",
                   help="print 'progress DONE TOTAL' after each picture written (the studio's progress bar)")

    tb = sub.add_parser("export-tb", help="write a recorded run as TensorBoard event files")
    tb.add_argument("run_dir")
    tb.add_argument("out_dir")

    sv = sub.add_parser("serve", help="serve a run read-only on 127.0.0.1 (reached through an SSH tunnel) "
                                      "for `mirror` on another machine; the token is written to RUN_DIR/serve-token")
    sv.add_argument("run_dir")
    sv.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                    help=f"the port (default {DEFAULT_PORT}; 0: any free one)")
    sv.add_argument("--with-parent", action="store_true",
                    help="stop once the process that started it has ended (as train --serve starts it)")

    m = sub.add_parser("mirror", help="copy a run that `serve` serves into a local run, as it is written "
                                      "(the studio follows it: python main.py --open DIR)")
    m.add_argument("url", help="the server, e.g. http://localhost:8765 through "
                               "`ssh -N -L 8765:localhost:8765 NODE`")
    token = m.add_mutually_exclusive_group(required=True)
    token.add_argument("--token-file", metavar="FILE", help="a copy of the run's serve-token")
    token.add_argument("--token-env", metavar="VAR", help="the environment variable that holds the token")
    m.add_argument("--into", required=True, metavar="DIR", help="the new local run directory")
    m.add_argument("--retry-s", type=float, default=RETRY_S,
                   help=f"how long a lost connection is tried again before the mirror gives up (default {RETRY_S:g})")

    ls = sub.add_parser("list", help="models, datasets and config fields")
    ls.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from engines.core.config import ConfigError
    from engines.core.device import DeviceError
    from engines.core.store import StoreError
    from engines.data import artefacts
    from engines.data.base import DataError

    stop_reporting = artefacts.listen(BuildReport().update)
    try:
        commands = {"train": cmd_train, "eval": cmd_eval, "animate": cmd_animate, "list": cmd_list,
                    "export-tb": cmd_export_tb, "serve": cmd_serve, "mirror": cmd_mirror}
        return commands[args.command](args)
    except (ConfigError, DataError, DeviceError, StoreError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:             # a folder it may not read or write (training's own are recorded)
        print(f"error: {exc.strerror or exc}: {exc.filename}" if exc.filename else f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:          # Ctrl+C outside a training loop (loading, evaluating)
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        stop_reporting()


def _threads() -> None:
    import torch

    from engines.core.device import default_threads
    torch.set_num_threads(default_threads())


def check_train_options(args) -> None:
    """The numbers on the train command line, before anything is loaded."""
    from engines.core.config import check_seed

    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be a whole number >= 1, got {args.steps}")
    if args.epochs is not None and not (math.isfinite(args.epochs) and args.epochs > 0):
        raise UsageError(f"--epochs must be a positive number, got {args.epochs}")
    if not (math.isfinite(args.max_store_mb) and args.max_store_mb >= 0):
        raise UsageError(f"--max-store-mb must be >= 0 (0: never thin), got {args.max_store_mb}")
    for option in ("frame_every", "checkpoint_every"):
        if getattr(args, option) < 0:
            raise UsageError(f"--{option.replace('_', '-')} must be >= 0 (0: never), got {getattr(args, option)}")
    if args.run_dir is not None and not args.run_dir.strip():
        raise UsageError("--run-dir must name a folder, got ''")
    check_seed(args.seed)


def cmd_train(args) -> int:
    """Train a new run (or ``--resume`` one). Under ``torchrun`` every process trains on its shard
    with its own noise, the processes kept one model (:mod:`engines.core.distributed`), and rank 0
    alone records the run, evaluates it (with the others where they share the work) and reports;
    with ``--serve`` it also serves the run to another machine (:mod:`engines.records.serving`)."""
    from engines.core import distributed
    from engines.core.runner import Control, Runner, RunnerSettings
    from engines.records.serving import start_serving, stop_serving

    check_train_options(args)
    rank, world_size = distributed.world()
    if world_size > 1:
        from engines.core.device import resolve_device
        distributed.start(resolve_device(args.device))
    server, ended_together = None, False
    try:
        if args.resume:
            store, engine = resume_store(args, (rank, world_size))
            planned = _read_meta(args.resume).get("planned_steps")
            default = planned - engine.step if isinstance(planned, int) and planned > engine.step else DEFAULT_STEPS
            steps = args.steps or default
        else:
            store, engine, steps = new_store(args, (rank, world_size))
        steps = _agreed(steps)
        if store is not None:
            store.set_meta(planned_steps=engine.step + steps, world_size=world_size)
            if args.serve is not None:
                server = start_serving(store.path, args.serve)
        control = Control()
        previous = {sig: signal.signal(sig, lambda *_: control.stop()) for sig in STOP_SIGNALS}
        progress = Progress(steps, engine.step, enabled=rank == 0)
        settings = RunnerSettings(max_steps=engine.step + steps, record_frames_every=args.frame_every,
                                  record_frames_early=args.early_frames, checkpoint_every=args.checkpoint_every,
                                  max_store_bytes=int(args.max_store_mb * 2**20))
        try:
            summary = Runner(engine, store, control, settings, on_step=progress.update).run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            progress.close()
        ended_together = summary["status"] != "failed"     # a failed rank's peers may be inside a step
        evaluating = args.eval and summary["status"] == "finished"
        if store is None:               # another rank of a torchrun job: rank 0 reports, this one its own error
            if evaluating and engine.evaluates_across_ranks:
                engine.evaluate()
            if summary["status"] in ("failed", "diverged"):
                print(f"error: rank {rank}: {summary['message']}", file=sys.stderr)
                return 1
            return 0
        if evaluating:
            summary["eval"] = engine.evaluate()
            store.set_meta(eval=summary["eval"])
        store.close()
    finally:
        distributed.stop(ended_together)
        if server is not None:
            stop_serving(server)          # after the store is closed: a mirror copies the run's end
    summary["run_dir"] = str(store.path)
    if world_size > 1:
        summary["world_size"] = world_size
    print(json.dumps(summary))
    if summary["status"] in ("failed", "diverged") or summary.get("message"):   # stopped by a full disk too
        print(f"error: {summary['message']}", file=sys.stderr)
        return 1
    return 0


def _agreed(steps: int) -> int:
    """Under torchrun every process must take the same number of steps: rank 0's."""
    from engines.core import distributed

    if not distributed.active():
        return steps
    import torch.distributed as dist
    box = [steps]
    dist.broadcast_object_list(box, src=0)
    return int(box[0])


def _read_meta(run_dir) -> dict:
    from engines.core.store import RunStore

    store = RunStore.open(run_dir)
    try:
        return store.meta()
    finally:
        store.close()


def new_store(args, shard=(0, 1)):
    """A new run: the engine built from the command line, its run directory created (by rank 0
    only, under torchrun: the store is None elsewhere)."""
    from engines.core.config import parse_assignments
    from engines.registry import build_engine, engine_class
    from engines.runs import new_run, new_run_dir

    if not args.model:
        raise UsageError("name a model to train, or --resume RUN_DIR")
    overrides = parse_assignments(args.overrides)
    engine_class(args.model)  # unknown model: fail before loading anything
    _threads()
    engine = build_engine(args.model, args.data, args.device, args.seed, overrides, shard)
    steps = args.steps or (round(args.epochs * engine.steps_per_epoch) if args.epochs else DEFAULT_STEPS)
    if steps < 1:
        raise UsageError(f"--epochs {args.epochs:g} is less than one step ({engine.steps_per_epoch} steps per epoch)")
    if shard[0] != 0:
        return None, engine, steps
    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir(Path("runs"), args.model)   # as the studio names one
    return new_run(engine, args.data, run_dir), engine, steps


def resume_store(args, shard=(0, 1)):
    """A recorded run reopened for writing, its engine at the last checkpoint (under torchrun, the
    other ranks load the checkpoint read-only and record nothing: their store is None)."""
    from engines.core.store import RunStore
    from engines.runs import restore_engine, resume_run

    if args.overrides or args.data or args.run_dir or args.epochs:
        raise UsageError("--resume continues a run as it was recorded: only --steps, --device and the "
                         "cadence options apply")
    if args.model:
        store = RunStore.open(args.resume)
        recorded = store.meta().get("model")
        store.close()
        if args.model != recorded:
            raise UsageError(f"{args.resume} is a run of {recorded}, not {args.model}")
    _threads()
    if shard[0] == 0:
        return resume_run(args.resume, args.device, shard)
    store = RunStore.open(args.resume)
    try:
        return None, restore_engine(store, args.device, shard)
    finally:
        store.close()


def cmd_eval(args) -> int:
    """Held-out metrics of a run's last checkpoint. Under torchrun an engine whose evaluation
    shares its work among the ranks (AIS runs) evaluates on every rank; rank 0 prints."""
    import math

    from engines.core import distributed
    from engines.core.config import parse_assignments
    from engines.core.device import resolve_device
    from engines.core.store import RunStore
    from engines.runs import restore_engine

    rank, world_size = distributed.world()
    store = RunStore.open(args.run_dir)
    try:
        _threads()
        distributed.start(resolve_device(args.device))
        engine = restore_engine(store, args.device, overrides=parse_assignments(args.overrides))
        meta = store.meta()
    finally:
        store.close()
    evaluated = False
    try:
        if rank and not engine.evaluates_across_ranks:
            evaluated = True
            return 0
        results = engine.evaluate()
        evaluated = True
    finally:
        distributed.stop(evaluated)
    if rank:
        return 0
    metrics = {"run_dir": str(args.run_dir), "model": meta["model"], "step": engine.step, **results}
    if world_size > 1:
        metrics["world_size"] = world_size
    if args.json:
        print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in metrics.items()}))
    else:
        width = max(map(len, metrics))
        for key, value in metrics.items():
            print(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
        for line in engine.metric_notes(metrics):
            print(line)
    return 0


def raise_keyboard_interrupt(signum, frame):
    """A signal handler: SIGTERM ends a command as Ctrl+C does (no file, no temp folder left)."""
    raise KeyboardInterrupt


def cmd_animate(args) -> int:
    from engines.animation import animatable_views, animate
    from engines.core.store import RunStore
    from engines.records.export import ExportError
    from engines.runs import restore_engine

    store = RunStore.open(args.run_dir)
    try:
        _threads()
        engine = restore_engine(store, args.device, checkpoint=args.checkpoint)
    finally:
        store.close()
    view = args.view or next(iter(animatable_views(engine.views)), None)
    if view is None:
        raise UsageError(f"no view of {engine.name} animates on its own (its pictures change only with training)")
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)   # as Ctrl+C: no file, no temp folder left
    try:
        count = animate(engine, view, args.frames, args.out, fps=args.fps, scale=args.scale,
                        progress=_print_progress if args.progress else None)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"wrote {count} pictures of {engine.name}'s {view} from step {engine.step} to {args.out}")
    return 0


def _print_progress(done: int, total: int) -> None:
    print(f"progress {done} {total}", flush=True)


def cmd_export_tb(args) -> int:
    from engines.records.tensorboard import TensorBoardMissing, export_tensorboard

    try:
        counts = export_tensorboard(args.run_dir, args.out_dir)
    except TensorBoardMissing as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.out_dir}: {exc.strerror or exc}") from None
    print(f"wrote {counts['scalars']} scalars, {counts['images']} images and {counts['events']} events "
          f"to {args.out_dir} (tensorboard --logdir {args.out_dir})")
    return 0


def cmd_serve(args) -> int:
    from engines.records.serving import serve

    return serve(args.run_dir, args.port, args.with_parent)


def cmd_mirror(args) -> int:
    """One line on stderr and status 1 when the mirror cannot go on (2: bad input)."""
    from engines.records.serving import EXIT_LOST, MirrorError, mirror, parse_url, read_token

    try:
        parse_url(args.url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 0 <= args.retry_s <= 3600:
        raise UsageError(f"--retry-s must be from 0 to 3600 seconds, got {args.retry_s}")
    token = read_token(args.token_file, args.token_env)
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)   # as Ctrl+C: the copy is closed, kept
    try:
        return mirror(args.url, token, args.into, retry_s=args.retry_s)
    except MirrorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOST
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_list(args) -> int:
    from engines.core.config import FieldInfo
    from engines.data import DATASETS
    from engines.registry import catalog

    models = catalog()
    if args.json:
        print(json.dumps({"models": models, "datasets": DATASETS}))
        return 0
    print("Models (fields marked * can change during a run):")
    for name, info in models.items():
        print(f"  {name}: {info['summary']} (default data: {info['default_data']})")
        for f in map(FieldInfo.from_dict, info["fields"]):
            mark = "*" if f.live else " "
            allowed = f"one of {', '.join(map(str, f.choices))}" if f.choices else f.range_text()
            default = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            print(f"    {mark} {f.name:<16} {f.to_dict()['type']:<6} = {default!s:<8} {f.help}"
                  + (f" [{allowed}]" if allowed else ""))
    print("Datasets:")
    for name, text in DATASETS.items():
        print(f"  {name:<18} {text}")
    return 0


class Progress:
    """A one-line progress bar on stderr: steps, steps/s, latest scalars; at most 10 redraws a second."""

    def __init__(self, total: int, start: int, stream=None, enabled: bool = True):
        stream = stream or sys.stderr          # the stream of the moment (a caller may have replaced it)
        self.total, self.start, self.stream, self.enabled = total, start, stream, enabled
        self.t0 = self.last = time.perf_counter()
        self.latest: dict[str, float] = {}
        self.tty = stream.isatty()

    def update(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.latest.update(values)
        now = time.perf_counter()
        done = step - self.start
        if now - self.last < (0.1 if self.tty else 5.0) and done < self.total:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        bar = "#" * int(30 * done / self.total)
        shown = "  ".join(f"{k} {v:.4g}" for k, v in list(self.latest.items())[:3])
        line = f"[{bar:<30}] {done}/{self.total}  {rate:.1f} steps/s  {shown}"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class BuildReport:
    """What a first use builds (the MNIST cache, rendered datasets, the digit classifier), on
    stderr: a bar redrawn in place on a terminal, a line every 5 s otherwise, and a last line
    when it is built. Under torchrun only rank 0 speaks."""

    def __init__(self, stream=None):
        stream = stream or sys.stderr
        self.stream, self.tty = stream, stream.isatty()
        self.enabled = os.environ.get("RANK", "0") == "0"     # torchrun's rank (engines.core.distributed)
        self.last = 0.0

    def update(self, report) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        ongoing = report.state == "building" and 0 < report.done < report.total
        if ongoing and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        line = report.text()
        if report.state == "building" and report.total:
            line = f"[{'#' * int(30 * report.done / report.total):<30}] {line}"
        if self.tty:
            end = "\n" if report.state != "building" else ""
            self.stream.write(f"\r\x1b[K{line}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


if __name__ == "__main__":
    sys.exit(main())
