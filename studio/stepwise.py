"""Long reads (an opened run's curves, the runs folder) done in small steps in the GUI thread.

A generator does the work, one item per step; :class:`Stepwise` takes one step per pass of the
event loop (a zero-interval timer), so the window never waits more than one step (one curve, one
run summary), and hands the list of items to a callback. No thread: a Python thread
beside the GUI thread can run the cyclic garbage collector and destroy a Qt object there, and
``~QObject`` holding Qt's connection lock while it waits for the GIL deadlocked the GUI thread
(it hung the test suite once); switching the collector off instead made Qt crash at teardown.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from PySide6 import QtCore


class Stepwise(QtCore.QObject):
    """Takes ``steps`` one item per event-loop pass; then ``on_result(items)``, or
    ``on_error(exception)`` if a step raised (with no ``on_error`` it is raised)."""

    def __init__(self, steps: Iterator[Any], on_result: Callable[[list], None],
                 on_error: Callable[[Exception], None] | None = None, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._steps = steps
        self._items: list = []
        self._on_result = on_result
        self._on_error = on_error
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def cancel(self) -> None:
        """Stop; the callbacks are not called."""
        self._timer.stop()
        close = getattr(self._steps, "close", None)
        if close is not None:
            close()

    def _step(self) -> None:
        try:
            self._items.append(next(self._steps))
        except StopIteration:
            self._timer.stop()
            self._on_result(self._items)
        except Exception as exc:  # noqa: BLE001 - handed to on_error, or raised as it is
            self._timer.stop()
            if self._on_error is None:
                raise
            self._on_error(exc)
