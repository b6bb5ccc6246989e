"""Helpers for the engines' training tests."""


def bound_before_and_after(engine, steps: int = 50, window: int = 5) -> tuple[list[float], list[float]]:
    """``nll_bound`` of the first and of the last ``window`` of ``steps`` training steps."""
    first = [engine.train_step()["nll_bound"] for _ in range(window)]
    for _ in range(steps - 2 * window):
        engine.train_step()
    last = [engine.train_step()["nll_bound"] for _ in range(window)]
    return first, last
