"""Helpers for the engines' training tests."""
from pathlib import Path


def bound_before_and_after(engine, steps: int = 50, window: int = 5) -> tuple[list[float], list[float]]:
    """``nll_bound`` of the first and of the last ``window`` of ``steps`` training steps."""
    first = [engine.train_step()["nll_bound"] for _ in range(window)]
    for _ in range(steps - 2 * window):
        engine.train_step()
    last = [engine.train_step()["nll_bound"] for _ in range(window)]
    return first, last


def assert_same(a, b, path="state"):
    """Two nested states (dicts, lists, tensors, numbers) equal bit for bit."""
    import torch

    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def fill_the_disk_when(monkeypatch, full) -> None:
    """Writing a checkpoint file fails as on a full disk (part of it written, then ENOSPC) once
    ``full()`` is true."""
    import engines.core.checkpoints as checkpoints_module

    def open_on_a_full_disk(file, mode="r", *args, **kwargs):
        handle = open(file, mode, *args, **kwargs)
        if Path(file).name.startswith(".step-") and full():     # a checkpoint's temp file
            handle.write(b"partial")
            handle.close()
            raise OSError(28, "No space left on device")
        return handle
    monkeypatch.setattr(checkpoints_module, "open", open_on_a_full_disk, raising=False)
