"""Cached artefacts (engines.data.artefacts): built the same whoever asks first and in whatever
torch context, by one process at a time, reported while they are built, never half written."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from engines.data import artefacts
from engines.data.artefacts import Building, cached

ROOT = Path(__file__).resolve().parents[2]


def trained_weight(progress) -> torch.Tensor:
    """A build that needs autograd: a few gradient steps of a 1-parameter fit (w → 3)."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5)
    for _ in range(progress.total):
        loss = (w - 3).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch.rand(1)                       # draws from torch's global stream, as model init does
        progress.advance()
    return w.detach().clone()


def read_tensor(path: Path):
    try:
        return torch.load(path, weights_only=True)
    except Exception:
        return None


def write_tensor(value, f) -> None:
    torch.save(value, f)


def get(name="w.pt", build=trained_weight):
    return cached(name, "a test weight", 20, "steps", build, read_tensor, write_tensor)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENSTUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("context", ["no_grad", "inference_mode", "autocast", "default_device", "float64"])
def test_a_build_is_the_same_whatever_context_asks_first(cache, context):
    reference = trained_weight(artefacts.Progress("reference", 20, "steps"))
    contexts = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode,
                "autocast": lambda: torch.autocast("cpu", dtype=torch.bfloat16),
                "default_device": lambda: torch.device("meta")}
    state = torch.get_rng_state()
    if context == "float64":
        torch.set_default_dtype(torch.float64)
        try:
            built = get()
        finally:
            torch.set_default_dtype(torch.float32)
    else:
        with contexts[context]():
            built = get()
    assert torch.equal(torch.get_rng_state(), state), "the build moved the caller's random stream"
    assert built.dtype == torch.float32 and built.device.type == "cpu"
    assert torch.equal(built, reference)
    assert torch.equal(get(), reference)                       # and read back from the cache
    assert not [p for p in cache.iterdir() if p.suffix == ".tmp"]


def test_it_is_reported_while_built_and_once_built(cache):
    reports: list[Building] = []
    stop = artefacts.listen(reports.append)
    try:
        get()
        get()                                                  # cached: nothing to report
    finally:
        stop()
    assert reports[0].state == "building" and reports[0].done == 0 and reports[0].total == 20
    assert reports[-2].done == 20 and reports[-1].state == "built"
    assert [r.state for r in reports].count("built") == 1
    assert reports[0].text() == "building a test weight: 0/20 steps (first use; cached for next time)"
    assert reports[-1].text().startswith("built a test weight in ")


def test_a_failed_build_says_so_and_leaves_no_file(cache):
    reports = []

    def broken(progress):
        raise RuntimeError("out of memory")
    stop = artefacts.listen(reports.append)
    try:
        with pytest.raises(RuntimeError, match="out of memory"):
            get(build=broken)
    finally:
        stop()
    assert reports[-1].state == "failed" and reports[-1].text() == "building a test weight failed"
    assert not (cache / "w.pt").exists()


def test_a_corrupt_file_is_rebuilt_and_an_unwritable_cache_only_costs_time(cache, tmp_path, monkeypatch):
    cache.mkdir()
    (cache / "w.pt").write_bytes(b"PK\x03\x04 truncated")
    assert torch.allclose(get(), torch.tensor([3.0]), atol=1e-3)
    assert read_tensor(cache / "w.pt") is not None
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("GENSTUDIO_CACHE", str(blocked / "cache"))
    assert torch.allclose(get(), torch.tensor([3.0]), atol=1e-3)


def test_two_processes_asking_at_once_build_it_once(cache):
    """The second process waits for the first one's build (and says so), then reads it. The build
    lasts until the second process is about to ask, and 1 s more, however slow its start."""
    asking = cache.parent / "asking.txt"
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from engines.data import artefacts
        from test_artefacts import get, trained_weight

        def slow(progress):
            with open({str(cache.parent / 'builds.txt')!r}, "a") as f:
                f.write("built\\n")
            began = time.monotonic()
            while not os.path.exists({str(asking)!r}) and time.monotonic() - began < 60:
                time.sleep(0.05)
            time.sleep(1.0)
            return trained_weight(progress)
        artefacts.listen(lambda r: print(r.state, flush=True))
        if sys.argv[1:] == ["second"]:
            open({str(asking)!r}, "w").close()
        print("value", float(get(build=slow)[0]))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    while not (cache.parent / "builds.txt").exists():
        assert first.poll() is None, "the first process ended before building"
    second = subprocess.run([sys.executable, "-c", code, "second"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120)
    out_first = first.communicate(timeout=120)[0]
    assert (cache.parent / "builds.txt").read_text() == "built\n"
    assert "waiting" in second.stdout.split() and "building" not in second.stdout.split(), second.stderr
    assert out_first.split()[-1] == second.stdout.split()[-1]
