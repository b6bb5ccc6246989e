"""The studio's two child processes, Qt-free: the training process and the display process.

Why processes, and why two. Making the live frames inside the training loop (for the RBM: ten Gibbs
sweeps of 64 chains, ~11 ms) cost a third of the training speed at 30 frames/s, and any second
Python thread beside the training thread (painting in a QThread design, or a thread making the
frames) slowed it through the GIL. So the training process runs only the Runner (plus a thread that
answers messages), and a *display copy* of the engine lives in its own process: when it wants a new
picture it asks, the training thread copies ``engine.state_dict()`` into shared memory between two
steps (~0.3 ms) and the copy draws from it.

Sharing the CPU. Training takes every core, as ``python -m engines train`` does, and its threads
meet at the end of every operation: a core taken from one of them stalls them all. A picture drawn
*beside* training cost training about two and a half times the picture's processor time (measured
with the RBM on 2 cores: a display copy using 2 % of a core cost 5 % of the training speed). So a
picture of the training state is drawn *in a pause*: the training thread shares its state and waits
(at most ``STATE_HOLD_S``) while the display copy draws, then goes on when the copy says
:class:`~studio.protocol.Drawn`. Training loses the picture's time, and no more. The copy draws with
one thread, on the core the waiting training thread leaves free (two threads drew a VAE picture in
7 instead of 10 ms alone, but no faster while training's other thread still spins for its next
operation, and they kept spinning after it). The display copy keeps to a budget: it asks for the
state only when some panel shows a picture of it, at most ``TRAINING_FPS`` a second, and spaces its
pictures so that the pauses take at most ``display_share()`` of training's time. What the user does
(a drag, a stroke, a click) needs no training state: it is drawn beside training, at up to
``DISPLAY_FPS``, at a low priority. The messages are in :mod:`studio.protocol`; the GUI side is
:mod:`studio.worker`.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import asdict
from multiprocessing.connection import wait
from pathlib import Path

from engines.core.commands import CallMethod, SetField
from studio.protocol import (Done, Drawn, Failed, Frames, Pause, Pull, Pulled, Ready, Resume, RunSpec, State,
                             Step, Stop, Want, Wanted, new_run_dir, runs_root)

DISPLAY_FPS = 30             # frames a second at most for what the user does (drag, draw, click)
TRAINING_FPS = 10            # pictures a second at most of the training state (each is a copy of it)
DISPLAY_SHARE = 0.02         # and training pauses for them at most this share of its time
DISPLAY_SHARE_ENV = "GENSTUDIO_DISPLAY_SHARE"   # a different share (e.g. 0.1: smoother, slower training)
STATE_HOLD_S = 1.0           # training waits at most this long for the display copy to draw its state
DISPLAY_NICE = 10            # what the display copy draws beside training yields the CPU to it


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
    """Inverse of :func:`split_state`, with each tensor cloned (the engine owns what it loads)."""
    if isinstance(skeleton, _Slot):
        return tensors[skeleton].clone()
    if isinstance(skeleton, dict):
        return {k: join_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, (list, tuple)):
        return type(skeleton)(join_state(v, tensors) for v in skeleton)
    return skeleton


class StateFeed:
    """Training side of the display copy. When the display process has asked (``wanted``), the
    Runner's ``on_step`` copies the engine's state into shared-memory tensors between two steps,
    tells the display and waits until it has drawn from them (:meth:`release`, at most
    ``STATE_HOLD_S``). The display asks again only after it has read them, so they never change
    under it. The first time (or if shapes change) the shared tensors themselves are sent."""

    def __init__(self, engine, conn):
        self.engine = engine
        self.conn = conn
        self.wanted = False
        self._shared: list | None = None
        self._drawn = threading.Event()

    def offer(self, *_) -> None:
        if not self.wanted or self.conn is None:
            return
        self.wanted = False
        tensors: list = []
        skeleton = split_state(self.engine.state_dict(), tensors)
        sent = None
        if self._shared is None or [(t.shape, t.dtype) for t in tensors] != [(s.shape, s.dtype) for s in self._shared]:
            self._shared = sent = [t.detach().cpu().clone().share_memory_() for t in tensors]
        else:
            for shared, tensor in zip(self._shared, tensors):
                shared.copy_(tensor)
        self._drawn.clear()
        try:
            self.conn.send(State(skeleton, sent))
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
        from engines.runs import new_run, resume_run

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
        self.runner = Runner(self.engine, self.store, self.control, RunnerSettings(interactive=True),
                             on_step=self.feed.offer if self.feed else None)
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
        elif isinstance(message, Stop):
            control.stop()
        else:
            raise ValueError(f"unknown message for the training process: {message!r}")

    def pull(self) -> Pulled:
        """Scalar rows and events since the last pull, the live status, and the summary once the run ended."""
        latest = self.runner.latest
        return Pulled(latest.take_scalars(), latest.take_events(), asdict(latest.status),
                      self.summary if self.ended.is_set() else None)

    def join(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)


def run_training(gui_conn, display_conn, spec: RunSpec) -> None:
    """The training process: build the run, then train in this (the main) thread while a second
    thread answers the GUI and the display's requests for state, until the run ends, a stop, or EOF
    (the GUI went away: the run is stopped and kept)."""
    from engines.core.config import ConfigError
    from engines.data import artefacts
    from engines.data.base import DataError
    from engines.registry import catalog

    sending = threading.Lock()               # the training and message threads both talk to the GUI

    def tell_building(report) -> None:       # a first use building a dataset or the digit classifier
        with sending, contextlib.suppress(OSError):
            gui_conn.send(report)
    artefacts.listen(tell_building)
    models = {}
    try:
        models = catalog()
        session = TrainingSession(spec, display_conn)
    except (ConfigError, DataError, ValueError, OSError, RuntimeError) as exc:  # DeviceError, StoreError too
        with contextlib.suppress(OSError):
            gui_conn.send(Failed(str(exc) or type(exc).__name__, models))
        return
    try:
        gui_conn.send(Ready({**session.info(), "catalog": models}))
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


# ----------------------------------------------------------------------------------- display process
class DisplaySession:
    """A second engine built like the trained one, drawing the live frames from the state the
    training process shares; live edits and the views' calls are applied to it."""

    def __init__(self, spec: RunSpec):
        import torch

        from engines.registry import build_engine

        torch.set_num_threads(1)
        self.engine = build_engine(spec.model, spec.data, spec.device, spec.seed, spec.overrides)
        self.interval = 1 / TRAINING_FPS       # between two pictures of the training state
        self.share = display_share()
        self.pause_cost = 0.0     # seconds training waits for a picture (moving average)
        self.problem = ""
        self.wanted: set[str] | None = None
        self._frames = None
        self._fresh = False
        self._first = True        # one picture before any state arrives: the run may start paused
        self._skeleton = None
        self._state_arrived = 0.0
        self._shared: list = []
        self._commands: list = []
        self._last = 0.0
        self._sent: dict[str, object] = {}     # the last frame of each name handed to the GUI

    @property
    def fresh(self) -> bool:
        return self._fresh

    def receive_state(self, state: State) -> None:
        """Training waits from now until this state is drawn (:meth:`make_frame`)."""
        if state.shared is not None:
            self._shared = state.shared
        self._skeleton = state.skeleton
        self._state_arrived = time.perf_counter()

    def command(self, command) -> None:
        if isinstance(command, Wanted):
            self.wanted = None if command.names is None else set(command.names)
            self._first = True                 # a newly shown panel needs a picture now
        else:
            self._commands.append(command)

    def due_in(self) -> float | None:
        """Seconds until a new frame should be made (0: now), or None if there is nothing new: a
        training state at once (training waits for it), the user's commands at ``DISPLAY_FPS``."""
        if self._skeleton is not None:
            return 0.0
        if self._fresh or self.problem or not (self._first or self._commands):
            return None
        return max(0.0, self._last + 1 / DISPLAY_FPS - time.perf_counter())

    def state_due_in(self) -> float | None:
        """Seconds until the training state should be asked for (0: now), or None: no panel shows
        a frame, or a picture waits to be taken."""
        if self._fresh or self.problem or self.wanted == set() or self._skeleton is not None:
            return None
        return max(0.0, self._last + self.interval - time.perf_counter())

    def make_frame(self) -> bool:
        """Apply the commands, load the training state if one came, draw the wanted frames. True if
        a training state was drawn: training waits to be told."""
        self._last = time.perf_counter()
        drawn, skeleton, self._skeleton = self._skeleton is not None, self._skeleton, None
        try:
            for command in self._commands:
                with contextlib.suppress(ValueError):   # refused: the training process says why
                    self.engine.apply(command)
            self._commands = []
            if skeleton is not None:
                self.engine.load_state_dict(join_state(skeleton, self._shared))
            self._frames = self.engine.frames(self.wanted)
        except Exception as exc:  # noqa: BLE001 - a display error must not stop training
            self.problem = f"live display stopped: {type(exc).__name__}: {exc}"
            return drawn
        self._fresh, self._first = True, False
        if drawn:
            cost = time.perf_counter() - self._state_arrived
            self.pause_cost = cost if not self.pause_cost else 0.8 * self.pause_cost + 0.2 * cost
            self.interval = max(1 / TRAINING_FPS, self.pause_cost / self.share)
        return drawn

    def take(self) -> list | None:
        """The newest frames not taken yet, leaving out those that repeat the last one sent."""
        if not self._fresh:
            return None
        self._fresh = False
        out = []
        for frame in self._frames:
            if not frame.repeats(self._sent.get(frame.name)):
                out.append(frame)
                self._sent[frame.name] = frame
        return out


def display_share() -> float:
    """``$GENSTUDIO_DISPLAY_SHARE`` when it is a number in (0, 1], else ``DISPLAY_SHARE``."""
    try:
        share = float(os.environ.get(DISPLAY_SHARE_ENV, ""))
    except ValueError:
        return DISPLAY_SHARE
    return share if 0 < share <= 1 else DISPLAY_SHARE


def run_display(gui_conn, training_conn, spec: RunSpec) -> None:
    """The display process's loop: ask the training process for its state when a picture of it is
    due, draw it as soon as it comes and say so (training waits for it), draw what the user does at
    most ``DISPLAY_FPS`` a second, hand the frames to the GUI when it pulls. It builds its engine
    at normal priority (the first picture comes as soon as training's), then yields."""
    from engines.data import artefacts

    def tell_building(report) -> None:     # the copy may be the one that builds a first-used dataset
        with contextlib.suppress(OSError):
            gui_conn.send(report)
    stop_telling = artefacts.listen(tell_building)
    try:
        session = DisplaySession(spec)
    except Exception as exc:  # noqa: BLE001 - the training process reports config errors; this is for the rest
        with contextlib.suppress(OSError):
            gui_conn.send(Frames(None, f"no live display: {type(exc).__name__}: {exc}"))
        return
    stop_telling()
    yield_the_cpu()
    asked = False          # a state is on its way from the training process
    pulled = False         # the GUI is waiting for the next frames (it asks again after each)
    told = ""              # the last problem the GUI was told about
    sources = [gui_conn, training_conn]
    while True:
        state_due = session.state_due_in() if not asked and training_conn in sources else None
        if state_due == 0.0:
            with contextlib.suppress(OSError):
                training_conn.send(Want())
                asked = True
            state_due = None
        waits = [t for t in (session.due_in(), state_due) if t is not None]
        for conn in wait(sources, timeout=min(waits) if waits else 0.1):
            try:
                message = conn.recv()
            except (EOFError, OSError):
                if conn is gui_conn:
                    return                       # the GUI went away
                sources.remove(training_conn)    # training ended: keep showing the last frames
                continue
            if isinstance(message, State):
                session.receive_state(message)
                asked = False
            elif isinstance(message, Pull):
                pulled = True
            elif isinstance(message, Stop):
                return
            else:
                session.command(message)
        if session.due_in() == 0.0 and session.make_frame() and training_conn in sources:
            with contextlib.suppress(OSError):
                training_conn.send(Drawn())      # training waited for this picture: it goes on
        if pulled and (session.fresh or session.problem != told):
            told = session.problem
            try:
                gui_conn.send(Frames(session.take(), told))
            except OSError:
                return
            pulled = False


def yield_the_cpu() -> None:
    """Lower this process's priority: training (and the GUI) win any core they want. Besides nice,
    Linux's batch policy: a waking display copy does not preempt a training thread in the middle of
    its time slice (the other threads of its operation would wait for it)."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(DISPLAY_NICE)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def display_process(gui_conn, training_conn, spec: RunSpec) -> None:
    leave_signals_to_the_gui()
    run_display(gui_conn, training_conn, spec)
