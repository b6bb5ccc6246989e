"""The benchmarks as a user runs them: a side that fails ends the run with its message, status 1."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_live_overhead_says_which_side_failed_and_exits_1():
    out = subprocess.run([sys.executable, "benchmarks/live_overhead.py", "--model", "toy", "--data", "digits",
                          "--set", "fail_at=200", "--seconds", "2", "--rounds", "1", "--warmup", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1, out.stdout + out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert error and "side" in error[-1] and "toy failure at step 200" in error[-1], out.stderr
    assert "Traceback" not in out.stderr
