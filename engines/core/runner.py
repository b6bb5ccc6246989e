"""The Runner: the training loop that every front end (CLI, studio, torchrun) shares.

Between two steps it obeys a :class:`Control` (pause, resume, single step, stop, live config
changes and other commands), leaves its status and scalars in a :class:`LatestSlot` that a front
end pulls from at its own rate, and records scalars, frames and checkpoints in a :class:`RunStore`.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass

from engines.core import distributed
from engines.core.commands import CallMethod, SetField
from engines.core.config import to_dict
from engines.core.engine import Engine
from engines.core.parameters import FRAME_NAME as WATCHED, LIVE_EVERY_S, ParameterWatch
from engines.core.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from engines.core.store import RunStore, StoreError, StoreWriteError


class Control:
    """Thread-safe commands from a front end to the loop; the loop reads them between steps."""

    def __init__(self, paused: bool = False):
        self._cond = threading.Condition()
        self._paused = paused
        self._stop = False
        self._step_budget = 0
        self._commands: deque = deque()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._step_budget = 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """While paused, let exactly ``n`` more steps run."""
        with self._cond:
            self._step_budget += n
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def set(self, name: str, value) -> None:
        """Change a live-editable config field before the next step."""
        self.submit(SetField(name, value))

    def call(self, method: str, *args) -> None:
        """Call ``engine.method(*args)`` between two steps (e.g. ``call("restart_chain", 3)``)."""
        self.submit(CallMethod(method, args))

    def submit(self, command) -> None:
        """Queue a command: a :class:`SetField`, a :class:`CallMethod` or a callable ``fn(engine)``,
        run in the loop's thread between steps (so nothing touches the engine while it trains).
        The named commands can cross a process boundary; callables cannot."""
        with self._cond:
            self._commands.append(command)
            self._cond.notify_all()

    def take_commands(self) -> list:
        with self._cond:
            out = list(self._commands)
            self._commands.clear()
            return out

    def rest(self, seconds: float) -> None:
        """Wait up to ``seconds``, less when a command, a pause or a stop comes."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not (self._stop or self._commands or self._paused):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def wait_turn(self, timeout: float = 0.05) -> str:
        """'step' when a step may run, 'command' when commands wait while paused, 'stop', or
        'idle' after ``timeout`` seconds of being paused with nothing to do."""
        with self._cond:
            while True:
                if self._stop:
                    return "stop"
                if self._commands:
                    return "command"
                if not self._paused:
                    return "step"
                if self._step_budget > 0:
                    self._step_budget -= 1
                    return "step"
                if not self._cond.wait(timeout):
                    return "idle"


@dataclass
class LiveStatus:
    step: int = 0
    steps_per_s: float = 0.0
    paused: bool = False
    state: str = "starting"
    message: str = ""
    watch_seconds: float = 0.0      # time the loop spent on the weights-and-gradients frames


class LatestSlot:
    """Where the loop leaves the live status, and the scalars, events and frames of its own since the
    last pull (kept only when ``consumer`` is set: someone pulls them). The engine's live pictures are
    not made here: the studio's display copy draws them from the training state
    (``engines.live.training``)."""

    def __init__(self, max_rows: int = 200_000):
        self._lock = threading.Lock()
        self._rows: deque = deque(maxlen=max_rows)
        self._events: deque = deque(maxlen=1000)
        self._frames: dict = {}
        self.status = LiveStatus()
        self.consumer = False

    def put_scalars(self, step: int, wall: float, values: dict[str, float]) -> None:
        with self._lock:
            self._rows.append((step, wall, values))

    def take_scalars(self) -> list[tuple[int, float, dict[str, float]]]:
        with self._lock:
            rows = list(self._rows)
            self._rows.clear()
            return rows

    def put_event(self, step: int, kind: str, text: str) -> None:
        """An applied live edit (``set``), a refused command (``refused``), a training action run."""
        with self._lock:
            self._events.append((step, kind, text))

    def take_events(self) -> list[tuple[int, str, str]]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            return events

    def put_frame(self, frame) -> None:
        """A frame the loop made itself (the weights and gradients): the newest of its name is kept."""
        with self._lock:
            self._frames[frame.name] = frame

    def take_frames(self) -> list:
        with self._lock:
            frames = list(self._frames.values())
            self._frames.clear()
            return frames


THIN_CHECK_EVERY = 10      # records of frames between two checks of the run's size
EARLY_GROWTH = 1.08        # early frames: each step about 8 % past the one before


def early_frame_steps(every: int, growth: float = EARLY_GROWTH) -> frozenset[int]:
    """The steps recorded before the regular cadence takes over: from step 1, each gap
    ``⌊(growth − 1)·step⌋`` (at least 1) after the step before, so the gaps never shrink, while they
    are under ``every`` steps. Training changes fastest at first: with ``every`` = 200 that is 76
    frames in the first 1,000 steps and 88 in all (the last at step 2,484), where the cadence alone
    records 5 and 12."""
    steps, step = set(), 1
    while True:
        gap = max(1, int((growth - 1) * step))
        if every <= 0 or gap >= every:
            return frozenset(steps)
        steps.add(step)
        step += gap


@dataclass
class RunnerSettings:
    max_steps: int | None = None          # None: until stopped
    record_frames_every: int = 200        # steps between frames written to the store (0: never)
    record_frames_early: bool = False     # also at the ever sparser steps of early_frame_steps (CLI, studio)
    record_frames_seconds: float = 30.0   # and at least this often in time (a slow engine; 0: by steps only)
    monitor_every: int = 10               # steps between the engine's costlier diagnostics
    checkpoint_every: int = 1000          # steps between checkpoints (0: only at the end)
    checkpoint_seconds: float = 60.0      # and at least this often in time (0: by steps only)
    interactive: bool = False             # a person watches: trouble pauses the run instead of ending it
    min_free_bytes: int = 200 * 2**20     # writing stops (pauses) when the disk has less free than this
    max_store_bytes: int = 1024 * 2**20   # past this the run's older frames are thinned (0: never)
    watch_parameters: bool = True         # weights-and-gradients frames and grad_norm/<layer> scalars


class Diverged(RuntimeError):
    """A step produced NaN or infinite scalars."""


class LowDisk(RuntimeError):
    """The run's disk is nearly full: nothing more is written until there is room."""


class Runner:
    """Drives one engine: ``run()`` loops until ``max_steps``, a stop, or an error, and returns a
    summary dict. Call it in a background thread for a live display."""

    def __init__(self, engine: Engine, store: RunStore | None = None, control: Control | None = None,
                 settings: RunnerSettings | None = None, on_step=None, on_change=None):
        self.engine = engine
        self.store = store
        self.control = control or Control()
        self.settings = settings or RunnerSettings()
        self.latest = LatestSlot()
        self.on_step = on_step            # on_step(step, values) after each step
        self.on_change = on_change        # on_change() after a command changed the engine between steps
        self._rate = deque(maxlen=50)
        self._last_checkpoint_time = time.monotonic()
        self._records = 0
        self._last_record_step = -1
        self._last_record_time = time.monotonic()
        s = self.settings
        self._early = early_frame_steps(s.record_frames_every) if s.record_frames_early else frozenset()
        self.last_scalars: dict[str, float] = {}
        self._watch = ParameterWatch(engine) if s.watch_parameters and engine.parameter_modules() else None
        if self._watch and store is not None:        # a resumed run: the history recorded so far
            earlier = [step for step in store.frame_steps(WATCHED) if step <= engine.step]
            if earlier:
                try:
                    self._watch.continue_from(next(store.frames(WATCHED, earlier[-1], earlier[-1])))
                except StoreError:
                    pass                                  # unreadable: the history starts again here
        self._last_watch = -math.inf
        self._step_began = -math.inf
        engine.prepare_training()

    def run(self) -> dict:
        """Train until ``max_steps`` or a stop. Divergence (NaN or infinite scalars), a nearly full
        disk and a failed write end the run with a message, or, when ``interactive``, pause it:
        a diverged run is first rewound to its last checkpoint, so the user can lower a learning
        rate and resume from a good state. Nothing recorded before is lost either way."""
        engine, store, s = self.engine, self.store, self.settings
        start_step, t0 = engine.step, time.perf_counter()
        status, message = "finished", ""
        self.latest.status.state = "running"
        try:
            if store is not None and latest_checkpoint(store) is None:
                self._checkpoint()        # a good state to come back to from the first step on
            while s.max_steps is None or engine.step < s.max_steps:
                self._keep_pace()
                turn = self.control.wait_turn()
                if distributed.any_rank(turn == "stop") and turn != "stop":   # under torchrun all stop at one step
                    self._record_event("info", "stopped with the other processes of the torchrun job "
                                               "(a stop signal, or one of them ended: see its error)")
                    turn = "stop"
                self.latest.status.paused = self.control.paused
                if turn == "stop":
                    status = "stopped"
                    break
                if turn == "command":
                    self._run_commands()
                    continue
                if turn == "idle":
                    self._rate.clear()
                    self.latest.status.steps_per_s = 0.0
                    continue
                try:
                    self._one_step()
                except (Diverged, LowDisk, StoreWriteError) as exc:
                    if not s.interactive:
                        raise
                    self._pause_for(exc)
        except Diverged as exc:
            status, message = "diverged", str(exc)
        except (LowDisk, StoreWriteError) as exc:
            status, message = "stopped", f"{exc}; stopped at step {engine.step}"
            self._stop_other_ranks()
        except Exception as exc:  # noqa: BLE001 - any training error becomes a recorded message
            status = "failed"
            message = f"{type(exc).__name__}: {exc}"
            self._record_event("traceback", traceback.format_exc())
        status, message = self._finish(status, message)
        seconds = time.perf_counter() - t0
        summary = {"status": status, "model": engine.name, "steps": engine.step,
                   "steps_this_run": engine.step - start_step, "seconds": round(seconds, 3),
                   "steps_per_s": round((engine.step - start_step) / seconds, 2) if seconds > 0 else 0.0,
                   "device": str(engine.device), **({"message": message} if message else {}),
                   "last": self.last_scalars}
        self.latest.status.state = status
        if message:
            self.latest.status.message = message
        return summary

    @staticmethod
    def _stop_other_ranks() -> None:
        """Under torchrun, rank 0 ending between two steps on its own (a full disk, a failed write)
        casts the stop vote the other ranks wait for at their next step, so they stop there instead
        of hanging. (A rank that fails inside a step just ends: the others' collective then fails
        at once, and torchrun ends the job.)"""
        try:
            distributed.any_rank(True)
        except RuntimeError:          # the process group is already broken: torchrun ends the job
            pass

    def _pause_for(self, trouble: Exception) -> None:
        """Pause with a message (an ``alert`` event); a diverged run is rewound to its last checkpoint."""
        message = str(trouble)
        if isinstance(trouble, Diverged):
            message = self._rewind(message)
        else:
            message += f"; paused at step {self.engine.step}: free some space, then resume"
        self.control.pause()
        self.latest.status.paused = True
        self.latest.status.message = message
        self.latest.put_event(self.engine.step, "alert", message)
        self._record_event("alert", message)

    def _rewind(self, message: str) -> str:
        try:
            checkpoint = latest_checkpoint(self.store) if self.store else None
            if checkpoint is None:
                return f"{message}; paused (no checkpoint to go back to)"
            diverged_at, edits = self.engine.step, self.engine.live_config()
            self.engine.load_state_dict(load_checkpoint(checkpoint, map_location=self.engine.device))
            self.engine.config = dataclasses.replace(self.engine.config, **edits)   # the user's edits stay
        except (StoreError, KeyError, RuntimeError, ValueError) as exc:
            return f"{message}; paused (could not go back to the last checkpoint: {exc})"
        self._record_event("rewound", f"diverged at step {diverged_at}; rewound to step {self.engine.step}")
        return (f"training diverged at step {diverged_at}; paused and rewound to step {self.engine.step} "
                f"(its last checkpoint): lower a learning rate, then resume")

    def _record_event(self, kind: str, text: str) -> None:
        """An event in the run store, if it can still be written."""
        if self.store is not None:
            try:
                self.store.add_event(self.engine.step, kind, text)
            except StoreWriteError:
                pass

    def _checkpoint(self) -> None:
        save_checkpoint(self.store, self.engine.step, self.engine.state_dict())
        self._last_checkpoint_time = time.monotonic()

    def checkpoint_now(self) -> None:
        """A checkpoint of the state as it is, asked for by a front end between two steps; one that
        cannot be written (a full disk) leaves the run as it was and says so in the status."""
        if self.store is None:
            return
        try:
            self._checkpoint()
        except StoreWriteError as exc:
            self.latest.status.message = f"checkpoint not written: {exc}"

    def _keep_pace(self) -> None:
        """Rest until the engine's :meth:`~engines.core.engine.Engine.step_interval` has passed since
        the last step began (a user slowing training down to watch it), unless it is paused."""
        interval = self.engine.step_interval()
        if interval > 0 and not self.control.paused:
            self.control.rest(self._step_began + interval - time.monotonic())

    def _one_step(self) -> None:
        engine, store, s = self.engine, self.store, self.settings
        self._step_began = time.monotonic()
        values = engine.train_step()
        step = engine.step
        if s.monitor_every and step % s.monitor_every == 0:
            values = {**values, **engine.monitor()}
        values = distributed.mean_scalars(values)        # under torchrun: the mean over the ranks
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            if store:
                store.add_scalars(step, values)
            raise Diverged(f"training diverged at step {step}: {', '.join(bad)} became NaN or infinite; "
                           "the last checkpoint before it is kept")
        if store and self._write_due(step) and store.free_bytes() < s.min_free_bytes:
            raise LowDisk(f"the disk holding {store.path} is nearly full ({store.free_bytes() / 2**20:.0f} MB free)")
        now = time.time()
        if values:
            self.last_scalars.update(values)
            if store:
                store.add_scalars(step, values, now)
            if self.latest.consumer:
                self.latest.put_scalars(step, now, values)
        self._rate.append(time.perf_counter())
        status = self.latest.status
        status.step = step
        if len(self._rate) > 1:
            status.steps_per_s = (len(self._rate) - 1) / max(1e-9, self._rate[-1] - self._rate[0])
        if store is not None and self._record_due(step):
            self._record_frames()
        elif self._watch and self.latest.consumer and time.monotonic() - self._last_watch >= LIVE_EVERY_S:
            self._watch_parameters()
        if store:
            if self._checkpoint_due(step):
                self._checkpoint()
            store.flush(min_interval=0.5)
        if self.on_step:
            self.on_step(step, values)

    def _checkpoint_due(self, step: int) -> bool:
        s = self.settings
        by_steps = s.checkpoint_every and step % s.checkpoint_every == 0
        by_time = s.checkpoint_seconds and time.monotonic() - self._last_checkpoint_time >= s.checkpoint_seconds
        return bool(by_steps or by_time)

    def _write_due(self, step: int) -> bool:
        """Frames or a checkpoint are due at this step (the writes a full disk would break)."""
        return self._record_due(step) or self._checkpoint_due(step)

    def _record_due(self, step: int) -> bool:
        """Frames are recorded every ``record_frames_every`` steps, at the early steps of
        :func:`early_frame_steps` when ``record_frames_early``, and at least every
        ``record_frames_seconds`` (an engine of a few steps a second still gets its pictures)."""
        s = self.settings
        if not s.record_frames_every:
            return False
        by_time = s.record_frames_seconds and time.monotonic() - self._last_record_time >= s.record_frames_seconds
        return step % s.record_frames_every == 0 or step in self._early or bool(by_time)

    def _run_commands(self) -> None:
        """Obey the queued commands; each applied edit or action is an event (recorded, and shown
        live: a confirmation in the studio and a mark on its curves), each refusal a message."""
        for command in self.control.take_commands():
            if callable(command):
                command(self.engine)
                continue
            step = self.engine.step
            try:
                result = self.engine.apply(command)
            except ValueError as exc:
                self.latest.status.message = str(exc)
                self.latest.put_event(step, "refused", str(exc))
                continue
            if isinstance(command, SetField):
                kind, text = "set", f"{command.name}={getattr(self.engine.config, command.name)!r}"
            else:
                kind, text = "action", f"{command.method}({', '.join(map(repr, command.args))})"
                self._record_action_scalars(step, result)
            self.latest.put_event(step, kind, text)
            if self.store:
                self.store.add_event(step, kind, text)
                if kind == "set":
                    self.store.set_meta(config=to_dict(self.engine.config))   # the config in force
            if self.on_change:
                self.on_change()

    def _record_action_scalars(self, step: int, result) -> None:
        """An action that returns scalars (one discriminator step's losses) has them recorded at
        the current step, like a step's own."""
        if isinstance(result, dict) and result and all(isinstance(v, (int, float)) for v in result.values()):
            values = {k: float(v) for k, v in result.items()}
            if self.store:
                self.store.add_scalars(step, values)
            if self.latest.consumer:
                self.latest.put_scalars(step, time.time(), values)

    def _record_frames(self) -> None:
        self.store.add_frames(self.engine.frames() + ([self._watch_parameters()] if self._watch else []))
        self._last_record_step = self.engine.step
        self._last_record_time = time.monotonic()
        self._records += 1
        if self._records % THIN_CHECK_EVERY == 0:
            self.store.thin(self.settings.max_store_bytes)

    def _watch_parameters(self):
        """The weights-and-gradients frame at this step, handed to a live watcher; its gradient
        norms are recorded as scalars."""
        started = time.perf_counter()
        frame, norms = self._watch.take()
        self._last_watch = time.monotonic()
        now = time.time()
        if norms and self.store:
            self.store.add_scalars(frame.step, norms, now)
        if self.latest.consumer:
            if norms:
                self.latest.put_scalars(frame.step, now, norms)
            self.latest.put_frame(frame)
        self.latest.status.watch_seconds += time.perf_counter() - started
        return frame

    def _finish(self, status: str, message: str) -> tuple[str, str]:
        """Record the end: the last frames and a checkpoint (unless training broke), the message and
        the status, each as far as the disk still allows. Returns (status, message): a run whose
        last checkpoint could not be written is ``stopped`` at its last good one, and says so."""
        store = self.store
        if store is None:
            return status, message
        try:
            if status not in ("diverged", "failed"):
                if self._last_record_step != self.engine.step:      # the last step's frames, once
                    self._record_frames()
                self._checkpoint()
        except StoreWriteError as exc:
            if str(exc) not in message:
                message = f"{message}; {exc}" if message else str(exc)
            if status == "finished":
                status = "stopped"
            kept = latest_checkpoint(store)
            if kept is not None:
                message += f"; its last checkpoint is {kept.name}"
        if message:
            self._record_event("error" if status in ("failed", "diverged") else "info", message)
        try:
            store.set_meta(status=status, steps=self.engine.step, finished=time.time())
            store.flush()
        except StoreWriteError:
            pass
        return status, message
