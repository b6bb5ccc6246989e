"""Artefacts built once per machine and kept in the cache folder: the MNIST ``.npz``, the rendered
``toys3d`` / ``chairs3d`` views, the digit classifier.

:func:`cached` is the one way to get one. It reads ``cache_dir()/FILENAME``; when that is missing,
unreadable or stale, it builds the artefact and writes it (a temp file in the same folder, then
``os.replace``: a reader never sees half a file; an unwritable cache only costs the build time).
Two promises make a build the same whoever asks first:

- **Same context.** The build runs with autograd on, outside inference mode and autocast, with
  float32 and the CPU as torch's defaults and torch's random state forked, whatever the caller was
  in (a GAN's first sample check runs under ``torch.no_grad()``: a classifier trained there had
  no gradients). The caller's random streams are left as they were, so a run trains the same
  whether the cache was warm or cold.
- **One builder.** An exclusive lock (``cache_dir()/.locks/FILENAME.lock``) lets one process build
  while another that asks for the same artefact waits for it and then reads it.

While an artefact is built (or awaited), every function registered with :func:`listen` is told
what is happening, as :class:`Building` reports: the CLI draws a progress bar, the studio puts
the text in its status bar. Nothing here imports torch unless the caller already has.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, TypeVar

from engines.core.files import replaced_atomically

T = TypeVar("T")
REPORT_INTERVAL_S = 0.2     # a build reports its progress at most this often (and at its start and end)


@dataclass(frozen=True)
class Building:
    """A report on an artefact being built: ``done`` of ``total`` ``unit`` so far; ``state`` is
    ``"waiting"`` (another process builds it), ``"building"``, ``"built"`` (then ``seconds``) or
    ``"failed"`` (the build raised)."""
    what: str
    done: int
    total: int
    unit: str
    state: str = "building"
    seconds: float = 0.0

    def text(self) -> str:
        """One line for a person: ``building the digit classifier: 3/12 epochs (first use;
        cached for next time)``, the count first so that a narrow status bar still shows it."""
        if self.state == "waiting":
            return f"waiting for another process building {self.what}"
        if self.state == "built":
            return f"built {self.what} in {self.seconds:.0f} s (cached for next time)"
        if self.state == "failed":
            return f"building {self.what} failed"
        return f"building {self.what}: {self.done}/{self.total} {self.unit} (first use; cached for next time)"


_listeners: list[Callable[[Building], None]] = []


def listen(listener: Callable[[Building], None]) -> Callable[[], None]:
    """Call ``listener(report)`` for every :class:`Building` report from now on; returns the
    function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _tell(report: Building) -> None:
    for listener in list(_listeners):
        listener(report)


class Progress:
    """Handed to a build function: ``advance()`` after each of its ``total`` units of work."""

    def __init__(self, what: str, total: int, unit: str):
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self.started = time.perf_counter()
        self._told = 0.0
        _tell(Building(what, 0, total, unit))

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        now = time.perf_counter()
        if now - self._told >= REPORT_INTERVAL_S or self.done == self.total:
            self._told = now
            _tell(Building(self.what, self.done, self.total, self.unit))

    def end(self, state: str) -> None:
        """Tell the listeners the build is over: ``"built"`` or ``"failed"``."""
        _tell(Building(self.what, self.done, self.total, self.unit, state, time.perf_counter() - self.started))


@contextlib.contextmanager
def neutral_torch():
    """Autograd on, no inference mode, no autocast, float32 and the CPU as defaults, torch's random
    state restored afterwards: a build's context, whatever its caller's (a no-op without torch)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    dtype = torch.get_default_dtype()
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.inference_mode(False))
        stack.enter_context(torch.enable_grad())
        stack.enter_context(torch.autocast("cpu", enabled=False))
        if torch.cuda.is_available():
            stack.enter_context(torch.autocast("cuda", enabled=False))
        stack.enter_context(torch.device("cpu"))
        stack.enter_context(torch.random.fork_rng(devices=[]))
        torch.set_default_dtype(torch.float32)
        try:
            yield
        finally:
            torch.set_default_dtype(dtype)


@contextlib.contextmanager
def _exclusive(path: Path, what: str):
    """Hold ``cache_dir()/.locks/NAME.lock`` (waiting, and saying so, while another process holds
    it). Without a writable cache or file locks, no lock: two builders then only both pay."""
    try:
        import fcntl
    except ImportError:             # not POSIX
        yield
        return
    try:
        locks = path.parent / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        handle = open(locks / f"{path.name}.lock", "a+b")
    except OSError:
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _tell(Building(what, 0, 0, "", "waiting"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:             # a file system without locks
            pass
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> bool:
    """``write(file)`` into a temp file beside ``path``, then ``os.replace`` it there; False (and
    nothing left behind) if the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(path) as temp, open(temp, "wb") as f:
            write(f)
        return True
    except OSError:
        return False


def cached(filename: str, what: str, total: int, unit: str, build: Callable[[Progress], T],
           read: Callable[[Path], T | None], write: Callable[[T, BinaryIO], None]) -> T:
    """The artefact in ``cache_dir()/filename``: ``read(path)`` (None when missing, corrupt or
    stale), else ``build(progress)`` — by one process at a time, reported as ``what``, ``total``
    ``unit`` — then ``write(artefact, file)`` there atomically. Reading and building both run in
    :func:`neutral_torch`, so a warm and a cold cache leave the caller's random streams alike."""
    from engines.data import cache_dir

    path = cache_dir() / filename
    with neutral_torch():
        artefact = read(path)
        if artefact is not None:
            return artefact
        with _exclusive(path, what):
            artefact = read(path)                  # built by the process we waited for
            if artefact is not None:
                return artefact
            progress = Progress(what, total, unit)
            try:
                artefact = build(progress)
            except BaseException:
                progress.end("failed")
                raise
            write_atomically(path, lambda f: write(artefact, f))
            progress.end("built")
    return artefact
