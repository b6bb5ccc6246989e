"""Training off the GUI thread: a training process runs the core's Runner, a display process makes
the live frames, and the GUI pulls from both at display rate.

Why processes, and why two. Making the live frames inside the training loop (for the RBM: ten Gibbs
sweeps of 64 chains, ~11 ms) cost a third of the training speed at 30 frames/s, and any second
Python thread beside the training thread (painting in a QThread design, or a thread making the
frames) slowed it through the GIL. So the training process runs only the Runner (plus a thread that
answers messages), and a *display copy* of the engine lives in its own process: when it wants a new
picture it asks, the training thread copies ``engine.state_dict()`` into shared memory between two
steps (~0.3 ms) and the copy draws from it, on the core the training leaves free.

Messages are tuples. GUI -> training: ``("pull",)``, ``("pause",)``, ``("resume",)``,
``("step", n)``, ``("stop",)``, ``("set", name, value)``, ``("call", method, args)``;
training -> GUI: ``("ready", info)``, ``("error", message, catalog)``, ``("pull", data)``,
``("done", summary)``. GUI -> display: ``("pull",)`` (send the next new frame when there is one),
``("set", ...)``, ``("call", ...)``, ``("stop",)``; display -> GUI: ``("frames", frames or None,
problem)``. Display -> training: ``("want",)``; training -> display: ``("state", skeleton, shared
tensors or None)``. Frames are pickled frame dataclasses; one is in flight at a time.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

PULL_INTERVAL_MS = 15        # the GUI looks for new frames this often (a poll: no message, no wake-up)
STATUS_INTERVAL_S = 0.03     # and asks the training process for its status and scalars this often
DISPLAY_FPS = 30             # the display copy makes at most this many frames a second
DISPLAY_NICE = 10            # the display process yields the CPU to training and to the GUI
STOP_TIMEOUT_S = 30.0        # a stop saves a checkpoint first; after this long the processes are killed


@dataclass
class RunSpec:
    """What to train: everything the child processes need to build the engine and record the run."""
    model: str = "rbm"
    data: str = "mnist"
    device: str = "auto"
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    paused: bool = False
    live: bool = True            # False: no display process and no live data (the benchmark's headless run)
    runs_root: str | None = None


def runs_root() -> Path:
    """Where new runs are recorded: ``$GENSTUDIO_RUNS``, else ``~/genstudio/runs``."""
    return Path(os.environ.get("GENSTUDIO_RUNS") or Path.home() / "genstudio" / "runs").expanduser()


def new_run_dir(root: Path, model: str) -> Path:
    """``root/MODEL-YYYYmmdd-HHMMSS``, with ``-2``, ``-3``... if that name is taken."""
    base = root / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def model_catalog() -> dict:
    """Every registered model: its summary and config fields (imports the engines, hence torch)."""
    from engines.core.config import fields_of
    from engines.registry import MODELS, engine_class

    catalog = {}
    for name in MODELS:
        cls = engine_class(name)
        catalog[name] = {"summary": cls.summary, "fields": fields_of(cls.Config)}
    return catalog


def split_cores() -> tuple[set[int], set[int]] | None:
    """(training cores, display core) when this process may use two cores or more: the display
    copy (and, the scheduler willing, the GUI) gets the last one, training keeps the others to
    itself, so neither preempts the other. None where threads cannot be pinned."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return (set(cores[:-1]), {cores[-1]}) if len(cores) >= 2 else None


def pin_this_thread(cores: set[int] | None) -> None:
    """Keep the calling thread (on Linux, 0 means the calling thread) and the threads it starts
    later, such as torch's, on ``cores``."""
    if cores:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cores)


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
    Runner's ``on_step`` copies the engine's state into shared-memory tensors between two steps and
    tells the display; the display asks again only after it has read them, so they never change
    under it. The first time (or if shapes change) the shared tensors themselves are sent."""

    def __init__(self, engine, conn):
        self.engine = engine
        self.conn = conn
        self.wanted = False
        self._shared: list | None = None

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
        try:
            self.conn.send(("state", skeleton, sent))
        except OSError:        # the display process is gone: training goes on without it
            self.conn = None


# ----------------------------------------------------------------------------------- training process
class TrainingSession:
    """One recorded training run: the Runner in a thread of this process."""

    def __init__(self, spec: RunSpec, display_conn=None):
        import torch

        from engines.core.device import default_threads
        from engines.core.runner import Control, Runner
        from engines.core.store import RunStore
        from engines.registry import build_engine, describe

        self.cores = split_cores()[0] if display_conn is not None and split_cores() else None
        torch.set_num_threads(len(self.cores) if self.cores else default_threads(leave_free=1))
        self.engine = build_engine(spec.model, spec.data, spec.device, spec.seed, spec.overrides)
        self.feed = StateFeed(self.engine, display_conn) if display_conn is not None else None
        root = Path(spec.runs_root) if spec.runs_root else runs_root()
        self.run_dir = new_run_dir(root, spec.model)
        self.store = RunStore.create(self.run_dir, describe(self.engine, spec.data))
        self.control = Control(paused=spec.paused)
        self.runner = Runner(self.engine, self.store, self.control, on_step=self.feed.offer if self.feed else None)
        # Live scalars go through the Runner's slot. Its frames are never taken (the display process
        # makes the live ones), so after the first it makes frames only when a command forces them.
        self.runner.latest.consumer = spec.live
        self.summary: dict | None = None
        self._thread = threading.Thread(target=self._train, name="genstudio-train", daemon=True)

    def info(self) -> dict:
        from engines.core.config import to_dict
        return {"run_dir": str(self.run_dir), "device": str(self.engine.device),
                "config": to_dict(self.engine.config), "model": self.engine.name}

    def start(self) -> None:
        self._thread.start()

    def _train(self) -> None:
        pin_this_thread(self.cores)
        try:
            self.summary = self.runner.run()
        except Exception as exc:  # noqa: BLE001 - the Runner keeps training errors; this is saving failing
            self.summary = {"status": "failed", "steps": self.engine.step,
                            "message": f"could not save the run: {type(exc).__name__}: {exc}"}
        finally:
            self.store.close()

    def command(self, command: tuple) -> None:
        kind, args = command[0], command[1:]
        if kind in ("set", "call"):
            self.control.submit(command)
        elif kind in ("pause", "resume", "step", "stop"):
            getattr(self.control, kind)(*args)
        else:
            raise ValueError(f"unknown worker command {command!r}")

    def pull(self) -> dict:
        """Scalar rows since the last pull, the live status, and the summary once the run ended."""
        latest = self.runner.latest
        return {"rows": latest.take_scalars(), "status": asdict(latest.status),
                "summary": None if self._thread.is_alive() else self.summary}

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def run_training(gui_conn, display_conn, spec: RunSpec) -> None:
    """The training process's message loop: build the run, then answer the GUI (and the display's
    requests for state) until a stop or EOF (the GUI went away: the run is stopped and kept)."""
    from engines.core.config import ConfigError
    from engines.data.base import DataError

    catalog = {}
    try:
        catalog = model_catalog()
        session = TrainingSession(spec, display_conn)
    except (ConfigError, DataError, ValueError, OSError, RuntimeError) as exc:  # DeviceError, StoreError too
        with contextlib.suppress(OSError):
            gui_conn.send(("error", str(exc) or type(exc).__name__, catalog))
        return
    session.start()
    sources = [gui_conn] + ([display_conn] if display_conn is not None else [])
    stopping = False
    try:
        gui_conn.send(("ready", {**session.info(), "catalog": catalog}))
        while not stopping:
            for conn in wait(sources):
                if conn is display_conn:
                    try:
                        display_conn.recv()             # ("want",)
                        session.feed.wanted = True
                    except (EOFError, OSError):         # no display: train on
                        sources.remove(display_conn)
                        session.feed.conn = None
                    continue
                message = gui_conn.recv()
                if message[0] == "pull":
                    gui_conn.send(("pull", session.pull()))
                else:
                    session.command(message)
                    stopping = stopping or message[0] == "stop"
    except (EOFError, OSError):   # the GUI went away
        pass
    session.command(("stop",))
    session.join()
    with contextlib.suppress(OSError):
        gui_conn.send(("done", session.summary))


def leave_signals_to_the_gui() -> None:
    """Ctrl+C in a terminal (or ``timeout``, or ``kill -- -PGID``) signals the whole process group.
    The children ignore SIGINT and SIGTERM: the GUI closes on them and stops training through the
    pipe, so the run is saved; if the GUI dies instead, its pipe's EOF stops training the same way."""
    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def _training_process(gui_conn, display_conn, spec: RunSpec) -> None:
    leave_signals_to_the_gui()
    run_training(gui_conn, display_conn, spec)


# ----------------------------------------------------------------------------------- display process
class DisplaySession:
    """A second engine built like the trained one, drawing the live frames from the state the
    training process shares; commands (live edits, chain restarts) are applied to it too."""

    def __init__(self, spec: RunSpec):
        import torch

        from engines.registry import build_engine

        torch.set_num_threads(1)
        self.engine = build_engine(spec.model, spec.data, spec.device, spec.seed, spec.overrides)
        self.interval = 1 / DISPLAY_FPS
        self.problem = ""
        self._frames = None
        self._fresh = False
        self._first = True        # one picture before any state arrives: the run may start paused
        self._skeleton = None
        self._shared: list = []
        self._commands: list = []
        self._last = 0.0
        self._sent_history = None

    @property
    def fresh(self) -> bool:
        return self._fresh

    def receive_state(self, skeleton, shared) -> None:
        if shared is not None:
            self._shared = shared
        self._skeleton = skeleton

    def command(self, command: tuple) -> None:
        self._commands.append(command)

    def due_in(self) -> float | None:
        """Seconds until a new frame should be made (0: now), or None if there is nothing new."""
        if self._fresh or self.problem or not (self._first or self._skeleton is not None or self._commands):
            return None
        return max(0.0, self._last + self.interval - time.perf_counter())

    def make_frame(self) -> None:
        self._last = time.perf_counter()
        try:
            for command in self._commands:
                with contextlib.suppress(ValueError):   # the Runner refuses the same and says why
                    self.engine.apply(command)
            self._commands = []
            if self._skeleton is not None:
                self.engine.load_state_dict(join_state(self._skeleton, self._shared))
                self._skeleton = None
            self._frames = self.engine.frames()
        except Exception as exc:  # noqa: BLE001 - a display error must not stop training
            self.problem = f"live display stopped: {type(exc).__name__}: {exc}"
            return
        self._fresh, self._first = True, False

    def take(self) -> list | None:
        """The newest frames if not taken yet (a chain history only when it changed), else None."""
        if not self._fresh:
            return None
        self._fresh = False
        return [f for f in self._frames if not self._history_unchanged(f)]

    def _history_unchanged(self, frame) -> bool:
        rows = getattr(frame, "row_steps", None)
        if rows is None:
            return False
        key = (frame.every, tuple(rows.tolist()))
        if key == self._sent_history:
            return True
        self._sent_history = key
        return False


def run_display(gui_conn, training_conn, spec: RunSpec) -> None:
    """The display process's loop: ask the training process for state when a frame is wanted,
    make frames at most ``DISPLAY_FPS`` a second, hand them to the GUI when it pulls."""
    try:
        session = DisplaySession(spec)
    except Exception as exc:  # noqa: BLE001 - the training process reports config errors; this is for the rest
        with contextlib.suppress(OSError):
            gui_conn.send(("frames", None, f"no live display: {type(exc).__name__}: {exc}"))
        return
    asked = False          # a state is on its way from the training process
    wanted = False         # the GUI is waiting for the next frame (it asks again after each one)
    told = ""              # the last problem the GUI was told about
    sources = [gui_conn, training_conn]
    while True:
        if not asked and not session.fresh and training_conn in sources:
            with contextlib.suppress(OSError):
                training_conn.send(("want",))
                asked = True
        due = session.due_in()
        for conn in wait(sources, timeout=0.1 if due is None else due):
            try:
                message = conn.recv()
            except (EOFError, OSError):
                if conn is gui_conn:
                    return                       # the GUI went away
                sources.remove(training_conn)    # training ended: keep showing the last frames
                continue
            if message[0] == "state":
                session.receive_state(*message[1:])
                asked = False
            elif message[0] == "pull":
                wanted = True
            elif message[0] == "stop":
                return
            else:
                session.command(message)
        if session.due_in() == 0.0:
            session.make_frame()
        if wanted and (session.fresh or session.problem != told):
            told = session.problem
            try:
                gui_conn.send(("frames", session.take(), told))
            except OSError:
                return
            wanted = False


def _display_process(gui_conn, training_conn, spec: RunSpec) -> None:
    leave_signals_to_the_gui()
    with contextlib.suppress(AttributeError, OSError):
        os.nice(DISPLAY_NICE)
    cores = split_cores()
    pin_this_thread(cores and cores[1])
    run_display(gui_conn, training_conn, spec)


# ----------------------------------------------------------------------------------- GUI side
class TrainingWorker(QObject):
    """GUI-thread handle on the training and display processes. Every signal is emitted in the GUI
    thread (from a QTimer), so any slot may touch widgets."""

    ready = Signal(dict)          # run_dir, device, config, model, catalog
    framesArrived = Signal(list)
    rowsArrived = Signal(list)
    statusChanged = Signal(dict)  # step, steps_per_s, paused, state, message
    failed = Signal(str, dict)    # message, catalog (may be empty)
    finished = Signal(dict)       # the Runner's summary

    def __init__(self, spec: RunSpec, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.info: dict = {}
        self.summary: dict | None = None
        self.display_problem = ""
        context = multiprocessing.get_context("spawn")
        self._conn, training_end = context.Pipe()
        feed_training = feed_display = None
        self._display_conn = None
        if spec.live:
            self._display_conn, display_end = context.Pipe()
            feed_training, feed_display = context.Pipe()
        self._processes = [context.Process(target=_training_process, args=(training_end, feed_training, spec),
                                           name="genstudio-train")]
        if spec.live:
            self._processes.append(context.Process(target=_display_process, args=(display_end, feed_display, spec),
                                                   name="genstudio-display"))
        for process in self._processes:
            process.start()
        # The GUI thread joins the display copy on the core training leaves free (where it wins over
        # the niced display process) until the run ends; later children must not inherit that.
        self._gui_affinity = None
        cores = split_cores() if spec.live else None
        if cores:
            self._gui_affinity = os.sched_getaffinity(0)
            pin_this_thread(cores[1])
        for end in (training_end, feed_training, feed_display, spec.live and display_end):
            if end:
                end.close()        # the children hold these ends now
        self._waiting = {self._conn: False, self._display_conn: False}
        self._last_status_pull = 0.0
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(PULL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def is_alive(self) -> bool:
        """Whether a training or display process is still running."""
        return any(p.is_alive() for p in self._processes)

    def send(self, *message) -> None:
        """Pass a command to the run (ignored once it has ended); live edits and method calls go to
        the display copy too. Commands sent before the run is ready apply once it is built."""
        if self._closed:
            return
        targets = [self._conn]
        if message[0] in ("set", "call", "stop") and self._display_conn is not None:
            targets.append(self._display_conn)
        for conn in targets:
            try:
                conn.send(message)
            except OSError:
                self._lost(conn)
                if self._closed:
                    return

    def _poll(self) -> None:
        self._drain()
        if self._closed:
            return
        if not self._processes[0].is_alive() and not self._conn.poll():
            self._close()
            self._join(0)
            if self.summary is None:
                self.failed.emit(f"the training process ended unexpectedly "
                                 f"(exit code {self._processes[0].exitcode})", {})
            return
        now = time.monotonic()
        pull_training = self.info and now - self._last_status_pull >= STATUS_INTERVAL_S
        for conn in (self._conn, self._display_conn):
            if conn is not None and not self._waiting[conn] and (conn is not self._conn or pull_training):
                self._waiting[conn] = True
                if conn is self._conn:
                    self._last_status_pull = now
                try:
                    conn.send(("pull",))
                except OSError:
                    self._lost(conn)

    def _drain(self) -> None:
        """Handle every message waiting on either pipe (a handler may close them: checked each time)."""
        for conn in (self._conn, self._display_conn):
            while conn is not None and not self._closed and conn in (self._conn, self._display_conn):
                try:
                    if not conn.poll():
                        break
                    message = conn.recv()
                except (EOFError, OSError):
                    self._lost(conn)
                    break
                self._handle(conn, message)

    def _lost(self, conn) -> None:
        """A pipe broke: without training the run is over; without the display, training goes on."""
        if conn is self._conn:
            self._close()
        else:
            self._display_conn = None
            conn.close()

    def _handle(self, conn, message: tuple) -> None:
        kind = message[0]
        if kind == "frames":
            self._waiting[conn] = False
            frames, problem = message[1], message[2]
            self.display_problem = problem or self.display_problem
            if frames:
                self.framesArrived.emit(frames)
        elif kind == "ready":
            self.info = message[1]
            self.ready.emit(self.info)
        elif kind == "error":
            self._close()
            for process in self._processes[1:]:
                process.kill()                   # the display copy has nothing to save
            self._join(STOP_TIMEOUT_S)           # training exits right after saying why
            self.failed.emit(message[1], message[2])
        elif kind == "pull":
            self._waiting[conn] = False
            data = message[1]
            if data["rows"]:
                self.rowsArrived.emit(data["rows"])
            status = data["status"]
            if self.display_problem and not status["message"]:
                status["message"] = self.display_problem
            self.statusChanged.emit(status)
            if data["summary"] is not None:
                self._finish(data["summary"])
        elif kind == "done":
            self._finish(message[1])

    def _finish(self, summary: dict) -> None:
        if self.summary is None:
            self.summary = summary
            self.stop()              # the loop has ended (e.g. failed): let the processes exit now
            self.finished.emit(summary)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop training, wait for the run to be saved and both processes to exit (killed after ``timeout``)."""
        self.send("stop")
        deadline = time.monotonic() + timeout
        while self.is_alive() and time.monotonic() < deadline:
            # Keep reading: a child blocked writing a large reply into a full pipe would never exit.
            conns = [c for c in (self._conn, self._display_conn) if c is not None and not self._closed]
            if conns and wait(conns, timeout=0.05):
                self._drain()
            elif not conns:
                self._join(0.05)
        self._close()
        for process in self._processes:
            if process.is_alive():
                process.kill()
        self._join(None)

    def _join(self, timeout: float | None) -> None:
        for process in self._processes:
            process.join(timeout)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._timer.stop()
            if self._gui_affinity:
                pin_this_thread(self._gui_affinity)
            for conn in (self._conn, self._display_conn):
                if conn is not None:
                    conn.close()
