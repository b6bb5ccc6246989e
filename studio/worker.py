"""The GUI side of a training run: starts the training and display processes
(:mod:`engines.live.training`) and talks to them with the messages of :mod:`engines.live.protocol`.

Everything here runs in the GUI thread, so any slot of its signals may touch widgets. A socket
notifier per pipe wakes it when bytes have arrived (nothing arrives, nothing runs), and a
:class:`MessageReader` takes them without ever waiting for the rest of a message; a timer asks the
training process for its status and scalars ``1 / STATUS_INTERVAL_S`` times a second and notices a
process that died. The display copy is asked for frames again as soon as the last ones came, and
answers when it has new ones.
"""
from __future__ import annotations

import multiprocessing
import os
import socket
import struct
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from engines.core.commands import CallMethod, SetField
from engines.core.config import fields_of
from engines.data.artefacts import Building
from engines.live.training import training_process
from engines.live.display import display_process
from engines.live.protocol import Done, Failed, Frames, Pull, Pulled, Ready, RunSpec, Stop, Wanted
from engines.registry import model_spec
from studio.shown_run import ShownRun

STATUS_INTERVAL_S = 0.5      # the GUI asks the training process for its status and scalars this often
STOP_TIMEOUT_S = 30.0        # a stop saves a checkpoint first; after this long the processes are killed
STARTING_STOP_S = 2.0        # ... and after this long while the run is still starting (nothing to save yet)


class MessageReader:
    """The messages a child sends on its end of a ``multiprocessing.Pipe``, read in the GUI thread
    without ever blocking it: the bytes that have arrived are taken (``recv`` with ``MSG_DONTWAIT``
    on a duplicate of the pipe's socket) and a message is unpickled once all of it has, in the
    pipe's own framing (a 4-byte big-endian length; -1 and an 8-byte one beyond 2 GB).
    ``Connection.recv`` waits for a whole message: a display copy descheduled halfway through
    writing a long one (it runs at a low priority beside training) kept the GUI blocked in it for
    15 ms on average, 48 ms at worst. Where the pipe is not a socket, it falls back to that."""

    def __init__(self, conn):
        self.conn = conn
        self.closed = False            # the other end closed (the complete messages were returned)
        self._buffer = bytearray()
        try:
            self._socket = socket.socket(fileno=os.dup(conn.fileno()))
        except OSError:
            self._socket = None

    def messages(self) -> list:
        """Every message that has arrived whole since the last call (OSError if the pipe broke)."""
        if self._socket is None:
            out = []
            while not self.closed and self.conn.poll():
                try:
                    out.append(self.conn.recv())
                except EOFError:
                    self.closed = True
            return out
        while True:
            try:
                chunk = self._socket.recv(1 << 20, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                self.closed = True
                break
            self._buffer += chunk
        return self._complete()

    def _complete(self) -> list:
        out, buffer, at = [], self._buffer, 0
        while len(buffer) - at >= 4:
            (size,), head = struct.unpack_from("!i", buffer, at), 4
            if size == -1:
                if len(buffer) - at < 12:
                    break
                (size,), head = struct.unpack_from("!Q", buffer, at + 4), 12
            if len(buffer) - at - head < size:
                break
            out.append(ForkingPickler.loads(bytes(buffer[at + head:at + head + size])))
            at += head + size
        del buffer[:at]
        return out

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()


@dataclass
class Children:
    """The training and display processes of one run, started, with the GUI's ends of their pipes."""
    spec: RunSpec
    conn: object                  # to and from the training process
    display_conn: object | None   # to and from the display process (None: no live display)
    processes: list


def start_children(spec: RunSpec) -> Children:
    """Start the run's processes (no Qt needed: the studio starts them before it builds its window,
    so that importing torch in them overlaps with that)."""
    context = multiprocessing.get_context("spawn")
    conn, training_end = context.Pipe()
    feed_training = feed_display = display_end = display_conn = None
    if spec.live:
        display_conn, display_end = context.Pipe()
        feed_training, feed_display = context.Pipe()
    processes = [context.Process(target=training_process, args=(training_end, feed_training, spec),
                                 name="genstudio-train")]
    if spec.live:
        processes.append(context.Process(target=display_process, args=(display_end, feed_display, spec),
                                         name="genstudio-display"))
    for process in processes:
        process.start()
    for end in (training_end, feed_training, feed_display, display_end):
        if end is not None:
            end.close()        # the children hold these ends now
    return Children(spec, conn, display_conn, processes)


class TrainingWorker(QObject):
    """GUI-thread handle on the training and display processes of one run (started here, or
    already by :func:`start_children`)."""

    opened = Signal(object)       # the run, once built and recording (a ShownRun)
    framesArrived = Signal(list)   # the display copy's newest frames, to show at once
    trainingFramesArrived = Signal(list)   # frames the training loop made (weights and gradients)
    runArrived = Signal(list, float, float)   # sampling pictures to play: (pictures, spacing s, state time)
    rowsArrived = Signal(list)    # (step, wall, {name: value})
    eventsArrived = Signal(list)  # (step, kind, text): applied edits, refusals, actions
    statusChanged = Signal(dict)  # step, steps_per_s, paused, state, message
    failed = Signal(str)          # why the run could not start
    finished = Signal(dict)       # the Runner's summary
    building = Signal(str, bool)  # what a first use builds (a dataset, the digit classifier); True once done

    def __init__(self, spec: RunSpec, parent=None, children: Children | None = None):
        super().__init__(parent)
        self.spec = spec
        self.info: dict = {}
        self.summary: dict | None = None
        self.display_problem = ""
        self.state_wall = 0.0          # when the training state of the last frames was taken (time.time())
        self.actions: set[str] = set()     # methods that run in the training process (the views' actions)
        children = children or start_children(spec)
        self._conn, self._display_conn, self._processes = children.conn, children.display_conn, children.processes
        self._waiting = {self._conn: False, self._display_conn: False}
        self._closed = False
        self._readers = {conn: MessageReader(conn) for conn in (self._conn, self._display_conn) if conn is not None}
        self._notifiers = {}
        for conn in (self._conn, self._display_conn):
            if conn is not None:
                notifier = QSocketNotifier(conn.fileno(), QSocketNotifier.Type.Read, self)
                notifier.activated.connect(self._drain)
                self._notifiers[conn] = notifier
        self._timer = QTimer(self)
        self._timer.setInterval(int(STATUS_INTERVAL_S * 1000))
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        self._poll()

    def is_alive(self) -> bool:
        """Whether a training or display process is still running."""
        return any(p.is_alive() for p in self._processes)

    # ------------------------------------------------------------------------------ commands
    def send(self, message) -> None:
        """A run control (Pause, Resume, Step, SaveCheckpoint, Stop) for the training process; a Stop
        goes to the display copy too. Ignored once the run has ended."""
        self._send(message, to_training=True, to_display=isinstance(message, Stop))

    def set_field(self, name: str, value) -> None:
        """A live config edit: the training run and the display copy both take it."""
        self._send(SetField(name, value), to_training=True, to_display=True)

    def call(self, method: str, args: tuple = ()) -> None:
        """A view's method: its actions run in the training process, its calls on the display copy."""
        training = method in self.actions
        self._send(CallMethod(method, tuple(args)), to_training=training, to_display=not training)

    def set_wanted(self, names: set[str] | None) -> None:
        """Tell the display copy which frames the visible panels show (None: all)."""
        self._send(Wanted(None if names is None else frozenset(names)), to_training=False, to_display=True)

    def _send(self, message, to_training: bool, to_display: bool) -> None:
        if self._closed:
            return
        targets = ([self._conn] if to_training else []) + (
            [self._display_conn] if to_display and self._display_conn is not None else [])
        for conn in targets:
            try:
                conn.send(message)
            except OSError:
                self._lost(conn)
                if self._closed:
                    return

    # ------------------------------------------------------------------------------ receiving
    def _poll(self) -> None:
        self._drain()
        if self._closed:
            return
        if not self._processes[0].is_alive():
            self._close()
            self._join(0)
            if self.summary is None:
                self.failed.emit(f"the training process ended unexpectedly "
                                 f"(exit code {self._processes[0].exitcode})", {})
            return
        if self.info:
            self._pull(self._conn)
        self._pull(self._display_conn)

    def _pull(self, conn) -> None:
        """Ask for the next status (training) or frames (display), unless an answer is awaited."""
        if conn is None or self._closed or self._waiting[conn]:
            return
        self._waiting[conn] = True
        try:
            conn.send(Pull())
        except OSError:
            self._lost(conn)

    def _drain(self, *_) -> None:
        """Handle every message that has arrived whole on either pipe (a handler may close them:
        checked each time)."""
        for conn in (self._conn, self._display_conn):
            if conn is None or self._closed or conn not in (self._conn, self._display_conn):
                continue
            reader = self._readers[conn]
            try:
                messages = reader.messages()
            except OSError:
                messages, reader.closed = [], True
            for message in messages:
                if self._closed or conn not in (self._conn, self._display_conn):
                    break
                self._handle(conn, message)
            if reader.closed and conn in (self._conn, self._display_conn) and not self._closed:
                self._lost(conn)

    def _lost(self, conn) -> None:
        """A pipe broke: without training the run is over; without the display, training goes on."""
        if conn is self._conn:
            self._close()
        else:
            self._display_conn = None
            self._forget(conn)
            conn.close()

    def _handle(self, conn, message) -> None:
        if isinstance(message, Frames):
            self._waiting[conn] = False
            self.display_problem = message.problem or self.display_problem
            self.state_wall = message.state_wall
            if message.frames:
                self.framesArrived.emit(message.frames)
            if message.run:
                self.runArrived.emit(message.run, message.spacing, message.state_wall)
            self._pull(self._display_conn)          # the display answers when it has new frames
        elif isinstance(message, Ready):
            self.info = info = message.info
            spec = model_spec(info["model"])
            self.actions = {name for view in spec.views for name in view.actions}
            self.opened.emit(ShownRun(Path(info["run_dir"]), spec.name, info["data"], info["device"], self.spec.device,
                                      self.spec.seed, info["config"], spec.views, tuple(fields_of(spec.Config)),
                                      live=True))
        elif isinstance(message, Failed):
            self._close()
            for process in self._processes[1:]:
                process.kill()                   # the display copy has nothing to save
            self._join(STOP_TIMEOUT_S)           # training exits right after saying why
            self.failed.emit(message.message)
        elif isinstance(message, Pulled):
            self._waiting[conn] = False
            if message.rows:
                self.rowsArrived.emit(message.rows)
            if message.events:
                self.eventsArrived.emit(message.events)
            if message.frames:
                self.trainingFramesArrived.emit(message.frames)
            status = message.status
            if self.display_problem and not status["message"]:
                status["message"] = self.display_problem
            self.statusChanged.emit(status)
            if message.summary is not None:
                self._finish(message.summary)
        elif isinstance(message, Building):
            self.building.emit(message.text(), message.state not in ("building", "waiting"))
        elif isinstance(message, Done):
            self._finish(message.summary or {"status": "failed", "message": "the run ended without a summary"})

    def _finish(self, summary: dict) -> None:
        if self.summary is None:
            self.summary = summary
            self.stop()              # the loop has ended (e.g. failed): let the processes exit now
            self.finished.emit(summary)

    # ------------------------------------------------------------------------------ ending
    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop training, wait for the run to be saved and both processes to exit (killed after
        ``timeout``; after ``STARTING_STOP_S`` while the run has not said it is ready: it is still
        importing torch or building its data, with nothing recorded to save, and a first use's
        build cannot be interrupted otherwise)."""
        self.send(Stop())
        started = time.monotonic()
        while self.is_alive() and time.monotonic() - started < (timeout if self.info else min(timeout, STARTING_STOP_S)):
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

    def _forget(self, conn) -> None:
        """No more wake-ups for this pipe (before it is closed: Qt must not watch a closed fd)."""
        notifier = self._notifiers.pop(conn, None)
        if notifier is not None:
            notifier.setEnabled(False)
            notifier.deleteLater()
        reader = self._readers.pop(conn, None)
        if reader is not None:
            reader.close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._timer.stop()
            for conn in (self._conn, self._display_conn):
                if conn is not None:
                    self._forget(conn)
                    conn.close()
