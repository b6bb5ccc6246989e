"""The encoder of the studio's Record button: a child process of the GUI, so the GUI never encodes
(``python -m engines.records.recording OUT --width W --height H --fps F``).

It reads pictures from stdin, each an 8-byte little-endian picture number n (the picture's time:
n/F seconds from the start of the recording) followed by W·H·3 bytes of RGB, and writes them to OUT
(MP4: H.264, yuv420p; or a looping GIF; by OUT's suffix) with the exporter's writers. A number that
skips ahead repeats the previous picture over the gap, so the file plays in the time the GUI saw;
one that does not advance is dropped. About twice a second it prints ``PICTURES BYTES`` (pictures
written, the file's size so far) on stdout, and ``done PICTURES BYTES`` at the end. The end of stdin
finishes the file; it is written beside OUT and renamed when complete, and SIGTERM (a cancelled
recording) or a failure leaves none.
"""
from __future__ import annotations

import argparse
import signal
import struct
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from engines.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, raise_keyboard_interrupt
from engines.core.files import replaced_atomically
from engines.records.export import MAX_SIDE, WRITERS, Canvas, ExportError

HEADER = struct.Struct("<Q")
FORMATS = ("mp4", "gif")
REPORT_EVERY_S = 0.5
RECORD_X264 = {"crf": "20", "preset": "ultrafast"}   # keeps up with the screen on a busy CPU; larger files


class Progress:
    """Counts the pictures written and prints ``PICTURES BYTES`` at most every REPORT_EVERY_S."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._reported = 0.0

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def add(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._reported >= REPORT_EVERY_S:
            self._reported = now
            print(f"{self.count} {self.size()}", flush=True)


def pictures(stream, width: int, height: int, progress: Progress):
    """The pictures of ``stream`` in time order, gaps filled with the picture before them."""
    size = width * height * 3
    last, previous = -1, None
    while True:
        header = stream.read(HEADER.size)
        data = stream.read(size) if len(header) == HEADER.size else b""
        if len(data) < size:
            return
        (number,) = HEADER.unpack(header)
        if number <= last:
            continue
        picture = np.frombuffer(data, np.uint8).reshape(height, width, 3)
        for _ in range(number - last - 1 if previous is not None else 0):
            yield previous
            progress.add()
        yield picture
        progress.add()
        previous, last = picture, number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engines.records.recording",
                                     description="Encode the studio's recorded pictures read from stdin.")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        print(f"error: a recording is written as {' or '.join(FORMATS)}, not '{out.suffix}'", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not (2 <= args.width <= MAX_SIDE and 2 <= args.height <= MAX_SIDE and args.width % 2 == 0
            and args.height % 2 == 0 and 1 <= args.fps <= 60):
        print(f"error: a recording needs an even size from 2 to {MAX_SIDE} pixels a side and 1 to 60 pictures a "
              f"second, got {args.width}x{args.height} at {args.fps}", file=sys.stderr)
        return EXIT_BAD_INPUT
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        with replaced_atomically(out) as temp:
            progress = Progress(temp)
            write = partial(WRITERS["mp4"], x264=RECORD_X264) if fmt == "mp4" else WRITERS[fmt]
            write(pictures(sys.stdin.buffer, args.width, args.height, progress), temp, args.fps, 0,
                  Canvas(args.width, args.height, True))
            if progress.count == 0:
                raise ValueError("nothing was recorded")
            size = progress.size()
    except KeyboardInterrupt:
        print("error: recording cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, ExportError) as exc:         # nothing recorded; the video encoder failed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"done {progress.count} {size}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
