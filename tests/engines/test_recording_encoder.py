"""The Record button's encoder (``python -m engines.records.recording``), driven as the studio drives
it: numbered pictures on its stdin, the file complete at the end of stdin, or one line and no file."""
import struct
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def encode(out, numbers, width=32, height=16, fps=10):
    pictures = b"".join(struct.pack("<Q", n) + np.full((height, width, 3), 8 * n % 256, np.uint8).tobytes()
                        for n in numbers)
    return subprocess.run([sys.executable, "-m", "engines.records.recording", str(out), "--width", str(width),
                           "--height", str(height), "--fps", str(fps)], input=pictures, capture_output=True,
                          cwd=ROOT, timeout=60)


def test_pictures_keep_their_time_late_ones_fill_the_gap_and_repeats_are_dropped(tmp_path):
    done = encode(tmp_path / "r.mp4", [0, 1, 2, 2, 6, 7])
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1].startswith("done 8 ")
    with av.open(str(tmp_path / "r.mp4")) as container:
        greys = [int(frame.to_ndarray(format="rgb24").mean()) for frame in container.decode(video=0)]
    assert len(greys) == 8                                  # pictures 0-7: 3, 4, 5 repeat picture 2
    assert abs(greys[5] - greys[2]) <= 2 and abs(greys[6] - 48) <= 2


def test_bad_requests_say_why_in_one_line_and_leave_no_file(tmp_path):
    for out, args in ((tmp_path / "missing" / "r.mp4", {}), (tmp_path / "r.avi", {}), (tmp_path / "r.mp4", {"width": 31}),
                      (tmp_path / "e.mp4", {"numbers": []})):
        done = encode(out, args.pop("numbers", [0, 1]), **args)
        assert done.returncode == 2 and done.stderr.decode().count("\n") == 1, done.stderr
        assert done.stderr.startswith(b"error: ") and not out.exists()
    assert not list(tmp_path.glob(".*.part"))
