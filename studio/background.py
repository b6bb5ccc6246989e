"""Reading off the GUI thread without touching Qt from another thread.

A plain Python thread runs the work (reading a run store, scanning the runs folder) and leaves its
result in a box; a timer of the GUI thread collects it and calls back there. The thread never
emits a signal or touches a QObject, so a window closed (and its objects deleted) while the thread
still reads cannot race with it: :meth:`BackgroundCall.cancel` drops the result, and the thread
finishes on its own with nobody listening.

Garbage collection. Python's cyclic collector runs in whichever thread happens to allocate; run
in a worker thread, it can destroy a Qt object there. ``~QObject`` then holds Qt's connection lock
while it waits for the GIL, and the GUI thread, holding the GIL, waits for that lock: both hang
for good (seen in the test suite: the run browser's scan thread collected a closed window's
widgets). So once the GUI process runs Python threads (these, and the export's QThreads), the
automatic collector is switched off and a timer of the GUI thread collects instead
(:func:`collect_garbage_in_gui_thread`, pyqtgraph's ``GarbageCollector``).
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6 import QtCore

POLL_MS = 30                 # the GUI thread looks for the result this often
GC_INTERVAL_S = 1.0          # the GUI thread collects garbage this often (each generation past its threshold)

_collector = None


def collect_garbage_in_gui_thread() -> None:
    """From now on, collect garbage only in the GUI thread, on a timer (once per process; call it
    from the GUI thread before starting a thread that runs Python)."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=GC_INTERVAL_S)


class _Box:
    """Where the thread leaves its result (or the exception it raised)."""

    def __init__(self):
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class BackgroundCall(QtCore.QObject):
    """``work()`` in a daemon thread; then ``on_result(value)`` or ``on_error(exception)`` in the
    GUI thread (an exception with no ``on_error`` is raised there)."""

    def __init__(self, work: Callable[[], Any], on_result: Callable[[Any], None],
                 on_error: Callable[[BaseException], None] | None = None, name: str = "genstudio-background",
                 parent: QtCore.QObject | None = None):
        super().__init__(parent)
        collect_garbage_in_gui_thread()
        self._box = box = _Box()
        self._on_result = on_result
        self._on_error = on_error
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._collect)

        def run() -> None:
            try:
                box.result = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread as it is
                box.error = exc
            box.done.set()
        threading.Thread(target=run, name=name, daemon=True).start()
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def cancel(self) -> None:
        """Nobody wants the result any more: it is dropped when the thread ends."""
        self._timer.stop()

    def _collect(self) -> None:
        if not self._box.done.is_set():
            return
        self._timer.stop()
        if self._box.error is None:
            self._on_result(self._box.result)
        elif self._on_error is not None:
            self._on_error(self._box.error)
        else:
            raise self._box.error
