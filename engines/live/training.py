"""The studio's training process, Qt-free, and how it shares its state with the display process.

Why processes, and why two. Making the live pictures inside the training loop (for the RBM: ten
Gibbs sweeps of 64 chains, ~11 ms) cost a third of the training speed at 30 pictures a second, and
any second Python thread beside the training thread (painting in a QThread design, or a thread
making the pictures) slowed it through the GIL. So the training process runs only the Runner (plus
a thread that answers messages), and a *display copy* of the engine lives in its own process
(:mod:`engines.live.display`): when it wants a picture of the training state it asks, the training thread
copies ``engine.picture_state()`` into shared memory between two steps (a fraction of a
millisecond: the weights, not the optimiser's moments) and waits while the copy draws from it, at
most ``STATE_HOLD_S``. The messages are in :mod:`engines.live.protocol`; the GUI side is
:mod:`studio.worker`.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import asdict
from multiprocessing.connection import wait
from pathlib import Path

from engines.core.commands import CallMethod, SetField
from engines.live.protocol import (Done, Drawn, Failed, Pause, Pull, Pulled, Ready, Resume, RunSpec, SaveCheckpoint,
                                   State, Step, Stop)

STATE_HOLD_S = 1.0           # training waits at most this long for the display copy to draw its state


# ----------------------------------------------------------------------------------- state sharing
class _Slot(int):
    """Where a tensor stood in a state dict (its index in the shared list)."""


def split_state(obj, tensors: list):
    """Replace every tensor in a nested state (dicts, lists, tuples) by a :class:`_Slot`; the
    tensors are appended to ``tensors``. What is left is small plain data, cheap to pickle."""
    import torch

    if isinstance(obj, torch.Tensor):
        tensors.append(obj)
        return _Slot(len(tensors) - 1)
    if isinstance(obj, dict):
        return {k: split_state(v, tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(split_state(v, tensors) for v in obj)
    return obj


def join_state(skeleton, tensors: list):
    """Inverse of :func:`split_state`: the shared tensors themselves, not copies (an engine's
    ``load_picture_state`` copies what it keeps, most into its parameters in place)."""
    if isinstance(skeleton, _Slot):
        return tensors[skeleton]
    if isinstance(skeleton, dict):
        return {k: join_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, (list, tuple)):
        return type(skeleton)(join_state(v, tensors) for v in skeleton)
    return skeleton


class StateFeed:
    """Training side of the display copy. When the display process has asked (``wanted``), the
    Runner's ``on_step`` copies the engine's picture state into shared-memory tensors between two steps,
    tells the display and waits until it has drawn from them (:meth:`release`, at most
    ``STATE_HOLD_S``). The display asks again only after it has read them, so they never change
    under it. The first time (or if shapes change) the shared tensors themselves are sent."""

    def __init__(self, engine, conn):
        self.engine = engine
        self.conn = conn
        self.wanted = False
        self.changed = False      # a command changed the state since it was last sent
        self.stale = False        # a step's state was not sent (the display was busy)
        self._shared: list | None = None
        self._drawn = threading.Event()

    def change(self) -> None:
        """A command changed the engine between steps (the Runner's ``on_change``): offer it now,
        or when the display next asks (see :func:`serve_messages`), even while paused."""
        self.changed = True
        self.offer()

    def offer(self, *_) -> None:
        if not self.wanted or self.conn is None:
            self.stale = True
            return
        self.wanted = False
        changed, self.changed, self.stale = self.changed, False, False
        tensors: list = []
        skeleton = split_state(self.engine.picture_state(), tensors)
        sent = None
        if self._shared is None or [(t.shape, t.dtype) for t in tensors] != [(s.shape, s.dtype) for s in self._shared]:
            self._shared = sent = [t.detach().cpu().clone().share_memory_() for t in tensors]
        else:
            for shared, tensor in zip(self._shared, tensors):
                shared.copy_(tensor)
        self._drawn.clear()
        try:
            self.conn.send(State(skeleton, sent, changed))
        except OSError:        # the display process is gone: training goes on without it
            self.conn = None
            return
        self._drawn.wait(STATE_HOLD_S)

    def release(self) -> None:
        """The display copy has drawn from the state (or is gone): the waiting training goes on."""
        self._drawn.set()


# ----------------------------------------------------------------------------------- training process
class TrainingSession:
    """One recorded training run: the Runner in a thread of this process."""

    def __init__(self, spec: RunSpec, display_conn=None):
        import torch

        from engines.core.device import default_threads
        from engines.core.runner import Control, Runner, RunnerSettings
        from engines.registry import build_engine
        from engines.runs import new_run, new_run_dir, resume_run, runs_root

        torch.set_num_threads(default_threads())
        if spec.resume:
            self.store, self.engine = resume_run(spec.resume, spec.device)
            self.run_dir = Path(spec.resume)
        else:
            self.engine = build_engine(spec.model, spec.data, spec.device, spec.seed, spec.overrides)
            self.run_dir = new_run_dir(Path(spec.runs_root) if spec.runs_root else runs_root(), spec.model)
            try:
                self.store = new_run(self.engine, spec.data, self.run_dir)
            except Exception:
                with contextlib.suppress(OSError):
                    self.run_dir.rmdir()          # the claimed name, still empty: no run left behind
                raise
        self.data = spec.data or self.engine.default_data
        self.feed = StateFeed(self.engine, display_conn) if display_conn is not None else None
        self.control = Control(paused=spec.paused)
        settings = RunnerSettings(interactive=True, record_frames_early=True,
                                  watch_parameters=spec.watch_parameters)
        self.runner = Runner(self.engine, self.store, self.control, settings,
                             on_step=self.feed.offer if self.feed else None,
                             on_change=self.feed.change if self.feed else None)
        # Live scalars go through the Runner's slot (the live pictures come from the display process).
        self.runner.latest.consumer = spec.live
        self.summary: dict | None = None
        self.ended = threading.Event()

    def info(self) -> dict:
        from engines.core.config import to_dict
        return {"run_dir": str(self.run_dir), "device": str(self.engine.device), "data": self.data,
                "config": to_dict(self.engine.config), "model": self.engine.name}

    def train(self) -> None:
        """Run the Runner in the calling thread until the run ends (the training process calls it
        from its main thread: torch's CPU kernels run about 1.6 times faster from the main thread
        than from another one, measured with the RBM on 2 cores)."""
        try:
            self.summary = self.runner.run()
        except Exception as exc:  # noqa: BLE001 - the Runner keeps training errors; this is saving failing
            self.summary = {"status": "failed", "steps": self.engine.step,
                            "message": f"could not save the run: {type(exc).__name__}: {exc}"}
        finally:
            self.store.close()
            self.ended.set()

    def start(self) -> None:
        """Train in a thread of this process (for a session driven from the same process)."""
        threading.Thread(target=self.train, name="genstudio-train", daemon=True).start()

    def command(self, message) -> None:
        control = self.control
        if isinstance(message, (SetField, CallMethod)):
            control.submit(message)
        elif isinstance(message, Pause):
            control.pause()
        elif isinstance(message, Resume):
            control.resume()
        elif isinstance(message, Step):
            control.step(message.n)
        elif isinstance(message, SaveCheckpoint):
            control.submit(lambda engine: self.runner.checkpoint_now())
        elif isinstance(message, Stop):
            control.stop()
        else:
            raise ValueError(f"unknown message for the training process: {message!r}")

    def pull(self) -> Pulled:
        """Scalar rows, events and the loop's own frames since the last pull, the live status, and
        the summary once the run ended."""
        latest = self.runner.latest
        return Pulled(latest.take_scalars(), latest.take_events(), asdict(latest.status),
                      self.summary if self.ended.is_set() else None, latest.take_frames())

    def join(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)


def run_training(gui_conn, display_conn, spec: RunSpec) -> None:
    """The training process: build the run, then train in this (the main) thread while a second
    thread answers the GUI and the display's requests for state, until the run ends, a stop, or EOF
    (the GUI went away: the run is stopped and kept)."""
    from engines.core.config import ConfigError
    from engines.data import artefacts
    from engines.data.base import DataError

    sending = threading.Lock()               # the training and message threads both talk to the GUI

    def tell_building(report) -> None:       # a first use building a dataset or the digit classifier
        with sending, contextlib.suppress(OSError):
            gui_conn.send(report)
    artefacts.listen(tell_building)
    try:
        session = TrainingSession(spec, display_conn)
    except (ConfigError, DataError, ValueError, OSError, RuntimeError) as exc:  # DeviceError, StoreError too
        with contextlib.suppress(OSError):
            gui_conn.send(Failed(str(exc) or type(exc).__name__))
        return
    try:
        gui_conn.send(Ready(session.info()))
    except OSError:
        session.control.stop()
    listener = threading.Thread(target=serve_messages, args=(session, gui_conn, display_conn, sending),
                                name="genstudio-messages", daemon=True)
    listener.start()
    session.train()
    listener.join()
    with sending, contextlib.suppress(OSError):
        gui_conn.send(Done(session.summary))


def serve_messages(session: TrainingSession, gui_conn, display_conn, sending: threading.Lock) -> None:
    """Answer the GUI (pulls, controls) and the display copy (requests for state) until the run
    has ended; the GUI going away stops the run."""
    sources = [gui_conn] + ([display_conn] if display_conn is not None else [])
    while not session.ended.is_set():
        for conn in wait(sources, timeout=0.1):
            if conn is display_conn:
                try:
                    message = display_conn.recv()
                except (EOFError, OSError):         # no display: train on
                    sources.remove(display_conn)
                    session.feed.conn = None
                    session.feed.release()
                    continue
                if isinstance(message, Drawn):
                    session.feed.release()
                else:                               # Want()
                    session.feed.wanted = True
                    if session.control.paused and (session.feed.changed or session.feed.stale):
                        session.control.submit(lambda _engine: session.feed.offer())   # no step will
                continue
            try:
                message = gui_conn.recv()
            except (EOFError, OSError):             # the GUI went away
                session.control.stop()
                return
            if isinstance(message, Pull):
                with sending, contextlib.suppress(OSError):
                    gui_conn.send(session.pull())
            else:
                session.command(message)


def leave_signals_to_the_gui() -> None:
    """Ctrl+C in a terminal (or ``timeout``, or ``kill -- -PGID``) signals the whole process group.
    The children ignore SIGINT and SIGTERM: the GUI closes on them and stops training through the
    pipe, so the run is saved; if the GUI dies instead, its pipe's EOF stops training the same way."""
    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def training_process(gui_conn, display_conn, spec: RunSpec) -> None:
    leave_signals_to_the_gui()
    run_training(gui_conn, display_conn, spec)
