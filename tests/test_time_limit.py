"""A test that runs past its time limit fails alone, with every thread's stack, and the run goes on."""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_test_past_its_time_limit_fails_alone_with_its_stacks(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "import threading, time\n"
        "def test_hangs():\n"
        "    threading.Thread(target=time.sleep, args=(60,), name='helper', daemon=True).start()\n"
        "    time.sleep(60)\n"
        "def test_after_it():\n"
        "    assert True\n")
    env = {**os.environ, "GENSTUDIO_TEST_TIME_LIMIT_S": "2", "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.time_limit", "-p", "no:cacheprovider",
                          "test_inner.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert time.monotonic() - start < 55              # the hung test was ended, not waited out (60 s)
    assert "1 failed, 1 passed" in out.stdout, out.stdout + out.stderr
    assert "call of test_inner.py::test_hangs ran past 2 s" in out.stdout
    dump = out.stdout + out.stderr
    assert "most recent call first" in dump and dump.count("hread 0x") >= 2     # the helper thread and the test's
