"""What the Record button costs and what it buys, side by side in one run of the studio.

    python benchmarks/record_cost.py [--model vae] [--seconds 10] [--size 1600x1000] [--panel NAME]

Starts the studio training ``--model`` live in a window of ``--size`` (offscreen unless $DISPLAY is
set), lets it warm up, then measures in turn for ``--seconds`` each: training's steps a second
without a recording, and with the whole window (or ``--panel``) recorded to an MP4 (the encoder, a
child process, shares the CPU with training). Beside them: the GUI's time per grab (grab, convert,
queue; median and 95th percentile of 30 grabs), the pictures a second the recording got, the grabs
skipped while the encoder was behind, and the file's size per second of recording. The last line
is a JSON object of these figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vae")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--panel", default=None, help="record this panel instead of the whole window")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from engines.live.protocol import RunSpec
    from studio.recorder import RECORD_FPS, painted, rgb_bytes
    from studio.window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow()
    window.resize(width, height)
    window.show()
    window.start_run(RunSpec(model=args.model))

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    def steps_per_s(seconds: float) -> float:
        step, start = window.last_status.get("step", 0), time.monotonic()
        spin(seconds)
        return (window.last_status.get("step", 0) - step) / (time.monotonic() - start)

    deadline = time.monotonic() + 180
    while window.state != "running" or not window.last_frames:
        if time.monotonic() > deadline:
            print(f"error: the run did not start: {window.error_text}", file=sys.stderr)
            return 1
        spin(0.2)
    spin(5.0)                                                    # past the first pictures and checks
    widget = window if args.panel is None else window.panels[args.panel]
    first = painted(widget)
    size = (first.width() // 2 * 2, first.height() // 2 * 2)
    grab_ms = []
    for _ in range(30):
        start = time.perf_counter()
        rgb_bytes(painted(widget), *size)
        grab_ms.append(1000 * (time.perf_counter() - start))
        spin(1 / RECORD_FPS)
    without = steps_per_s(args.seconds)
    with tempfile.TemporaryDirectory(prefix="genstudio-record-") as folder:
        out = Path(folder) / "recording.mp4"
        recorder = window.record_control.recorder
        window.record(args.panel, out)
        recording = steps_per_s(args.seconds)
        window.set_recording(False)
        saved = []
        recorder.saved.connect(lambda path, seconds, nbytes: saved.append((seconds, nbytes)))
        deadline = time.monotonic() + 60
        while not saved and time.monotonic() < deadline:
            spin(0.1)
        seconds, nbytes = saved[0] if saved else (float("nan"), 0)
        grabs, dropped = recorder.grabs, recorder.dropped
    window.close()
    print(json.dumps({"model": args.model, "recorded": args.panel or "window", "picture": f"{size[0]}x{size[1]}",
                      "steps_per_s_without": round(without, 1), "steps_per_s_recording": round(recording, 1),
                      "ratio": round(recording / without, 3) if without else None,
                      "grab_ms_median": round(statistics.median(grab_ms), 1),
                      "grab_ms_p95": round(sorted(grab_ms)[int(0.95 * len(grab_ms)) - 1], 1),
                      "pictures_per_s": round(grabs / seconds, 1), "dropped": dropped,
                      "mb_per_minute": round(nbytes / seconds * 60 / 2**20, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
