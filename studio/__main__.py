"""Command line: ``python -m studio export RUN_DIR --panel NAME --format mp4 --out FILE``, and
``python -m studio export RUN_DIR --scalars FILE.csv`` for the run's scalars.

Bad input prints one line ``error: ...`` on stderr and exits 2 (never a traceback).
"""
from __future__ import annotations

import argparse
import sys

from engines.cli import EXIT_BAD_INPUT, OneLineParser


def _parser() -> argparse.ArgumentParser:
    from engines.records.export import FORMATS

    p = OneLineParser(prog="python -m studio", description="genstudio's studio, headless commands.")
    sub = p.add_subparsers(dest="command")

    e = sub.add_parser("export", help="export a run's recorded frames as MP4, GIF or a PNG sheet, or its scalars as CSV",
                       description="Export recorded frames of a run (panels side by side) as an "
                                   "animation or one PNG sheet of frames, or its scalars as CSV.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--scalars", metavar="FILE.csv",
                   help="write the run's scalars as CSV instead: step, wall_time, then one column per scalar")
    e.add_argument("--panel", dest="panels", action="append", default=[], metavar="NAME",
                   help="a recorded panel (the names of the run's recorded frames, e.g. samples, filters); "
                        "repeat it or separate names by commas to put panels side by side")
    e.add_argument("--format", choices=FORMATS, help="default: from the suffix of --out")
    e.add_argument("--out", metavar="FILE", help="the animation or sheet to write (with --panel)")
    e.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    e.add_argument("--first-step", type=int, default=0)
    e.add_argument("--last-step", type=int, help="default: the last recorded step")
    e.add_argument("--scale", type=int, help="pixels per image pixel, 1 to 16 (default: as large as keeps "
                                             "the picture within a 1280x720 slide)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.scalars:
        return cmd_export_scalars(args)
    if not args.panels or not args.out:
        print("error: export needs --panel NAME and --out FILE, or --scalars FILE.csv", file=sys.stderr)
        return EXIT_BAD_INPUT
    return cmd_export(args)


def cmd_export_scalars(args) -> int:
    from engines.records.export import ExportError
    from engines.records.scalars_csv import write_scalars_csv

    if args.panels or args.out:
        print("error: --scalars writes the scalars only; leave out --panel and --out", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rows = write_scalars_csv(args.run_dir, args.scalars)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {rows} steps of scalars to {args.scalars}")
    return 0


def cmd_export(args) -> int:
    from engines.records.export import ExportError, export_run

    panels = [name for value in args.panels for name in value.split(",")]

    mid_line = False   # a progress line is on stderr without its newline yet

    def report(done: int, total: int) -> None:
        nonlocal mid_line
        mid_line = done < total
        print(f"\rexporting frame {done}/{total}", end="" if mid_line else "\n", file=sys.stderr, flush=True)

    def fail(message: str, status: int) -> int:
        print(f"\nerror: {message}" if mid_line else f"error: {message}", file=sys.stderr)
        return status

    try:
        count = export_run(args.run_dir, panels, args.out, args.format, args.fps, args.first_step,
                           args.last_step, args.scale, progress=report)
    except ExportError as exc:
        return fail(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        return fail("interrupted; nothing was written", 130)
    print(f"wrote {count} frames to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
