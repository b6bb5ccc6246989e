"""Helpers for the engines' training tests."""


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
