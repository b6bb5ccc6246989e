"""The studio's display process, Qt-free: a *display copy* of the engine that draws the live pictures.

Where a picture's time goes. Training takes every core (as ``python -m engines train`` does) and
its threads meet at the end of every operation, so a core taken from one of them stalls them all:
a picture drawn *beside* training cost it about two and a half times the picture's processor time
(measured with the RBM on 2 cores). So a picture of the training state is drawn *in a pause*: the
training thread copies :meth:`~engines.core.engine.Engine.picture_state` into shared memory between
two steps and waits while this copy loads it (in place) and draws, then goes on when told
:class:`~engines.live.protocol.Drawn` (:class:`engines.live.training.StateFeed`). Training loses the pause, and
no more. The copy draws with one thread, on the core the waiting training thread leaves free.

What is drawn in a pause follows each view's declared motion (:data:`engines.core.views.MOTIONS`):

- ``state`` views of the main area: every pause (a new picture needs new weights);
- ``sampling`` views: a *run* of pictures from the same weights, each a call of ``frames()`` that
  moves the picture on (the Gibbs chains a sweep further), as many as ``SAMPLING_FPS`` fill until
  the next pause; the GUI plays the run out evenly (:class:`~engines.live.protocol.Frames`), so the
  chains move at ``SAMPLING_FPS`` while the weights under them are refreshed less often
  (``SAMPLING_STATE_FPS`` when no main state view needs them more often: fewer pauses, fewer
  messages, fewer loads);
- ``state`` views of the side area and ``playback`` views (whose panel plays the sequence a frame
  holds, DRAW's glimpses): when their last picture is ``SLOW_VIEW_S`` old.

Pauses are paid from two :class:`PictureBudget`: ``display_share()`` of training's time accrues,
``SLOW_PART`` of it for the side and playback views (a costly side panel, such as the DBM's
fill-in, comes less often instead of taking the main picture's time), the rest for the main ones;
each pause spends what it took. The training state is asked for when the main budget can pay for
the next pause's regular part (loading it, the main state views) and at most ``STATE_FPS`` times a
second; at least every ``STATE_MAX_AGE_S`` whatever the budget. What the user does (a drag, a
stroke, a click) needs no training state: it is drawn beside training at once, at up to
``DISPLAY_FPS``, at a low priority. The messages are in :mod:`engines.live.protocol`; the GUI side is
:mod:`studio.worker`.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from multiprocessing.connection import wait

from engines.live.training import join_state, leave_signals_to_the_gui
from engines.live.protocol import Drawn, Frames, Pull, RunSpec, State, Stop, Want, Wanted

DISPLAY_FPS = 30             # pictures a second at most of what the user does (drag, draw, click)
STATE_FPS = 6                # training states a second at most (a main state view's pictures)
SAMPLING_STATE_FPS = 2       # ... when only sampling views need them: fewer, longer runs
STATE_MAX_AGE_S = 1.0        # ... and at least one a second, whatever the budget
SAMPLING_FPS = 15            # pictures a second of a sampling view (Gibbs chains: a sweep each)
SLOW_VIEW_S = 1.0            # a side view's or a playback view's picture is renewed this often
DISPLAY_SHARE = 0.08         # training pauses for pictures at most this share of its time ...
SLOW_PART = 1 / 4            # ... of which the side and playback views may take this part
DISPLAY_SHARE_ENV = "GENSTUDIO_DISPLAY_SHARE"   # another share (0.1: smoother, slower training)
BUDGET_SAVED_S = 1.0         # the budget saves up at most this many seconds' worth
DISPLAY_NICE = 10            # what the display copy draws beside training yields the CPU to it
RUN_AHEAD_S = 2.0            # sampling pictures not taken by the GUI: at most this many seconds' worth


def display_share() -> float:
    """``$GENSTUDIO_DISPLAY_SHARE`` when it is a number in (0, 1], else ``DISPLAY_SHARE``."""
    try:
        share = float(os.environ.get(DISPLAY_SHARE_ENV, ""))
    except ValueError:
        return DISPLAY_SHARE
    return share if 0 < share <= 1 else DISPLAY_SHARE


class PictureBudget:
    """Training's time the display copy may pause it for: ``share`` of each second accrues (at most
    ``BUDGET_SAVED_S`` seconds' worth is saved up: a run resumed after a pause of training does not
    pay for a burst of pictures), each pause spends what it took. Work that costs more than can be
    saved up (a costly side view) is afforded once the budget is full, and the balance goes below
    zero. Costs are learnt per kind of work (``estimate`` / ``learn``: moving averages of seconds)."""

    def __init__(self, share: float, clock=time.perf_counter):
        self.share = share
        self.clock = clock
        self.costs: dict[str, float] = {}
        self.balance = share * BUDGET_SAVED_S          # saved up before training started
        self._at = clock()

    def accrue(self) -> float:
        now = self.clock()
        self.balance = min(self.share * BUDGET_SAVED_S, self.balance + (now - self._at) * self.share)
        self._at = now
        return self.balance

    def spend(self, seconds: float) -> None:
        self.accrue()
        self.balance -= seconds

    def affords(self, seconds: float) -> bool:
        return self.accrue() >= min(seconds, self.share * BUDGET_SAVED_S)

    def estimate(self, kind: str) -> float:
        return self.costs.get(kind, 0.0)

    def learn(self, kind: str, seconds: float) -> None:
        old = self.costs.get(kind)
        self.costs[kind] = seconds if old is None else 0.7 * old + 0.3 * seconds


class DisplaySession:
    """A second engine built like the trained one, drawing the live pictures from the state the
    training process shares (see the module's docstring for what it draws when); live edits and the
    views' calls are applied to it. What it drew waits in an outbox until the GUI takes it
    (:meth:`take`): the newest frame of each name, and the run of sampling pictures to play."""

    def __init__(self, spec: RunSpec, clock=time.perf_counter):
        import torch

        from engines.registry import build_engine

        torch.set_num_threads(1)
        self.engine = build_engine(spec.model, spec.data, spec.device, spec.seed, spec.overrides)
        self.clock = clock
        share = display_share()
        self.budget = PictureBudget(share * (1 - SLOW_PART), clock)      # loads, main and sampling views
        self.slow_budget = PictureBudget(share * SLOW_PART, clock)       # side and playback views
        self.motion: dict[str, str] = {}     # frame name -> its view's motion
        self.slow: set[str] = set()          # frame names renewed every SLOW_VIEW_S (side, playback)
        for view in type(self.engine).views:
            for name in view.frames:
                self.motion[name] = view.motion
                if view.motion == "playback" or (view.motion == "state" and view.area == "side"):
                    self.slow.add(name)
        self.problem = ""
        self.wanted: set[str] | None = None
        self._first = True        # one picture before any state arrives: the run may start paused
        self._skeleton = None
        self._changed = False     # the state coming was changed by a command: every panel is drawn
        self._state_arrived = 0.0
        self._state_wall = 0.0    # time.time() of the state drawn last (the GUI says how old it is)
        self._shared: list = []
        self._commands: list = []
        self._last_state = -math.inf          # when the last state was drawn (clock)
        self._last_user = -math.inf           # when the last picture of what the user did was drawn
        self._drawn_at: dict[str, float] = {}
        self._owed = 0.0                      # sampling pictures due but not drawn yet (fraction)
        self._last_run = -math.inf            # when the last run of sampling pictures was drawn
        self._sent: dict[str, object] = {}    # the last frame of each name handed to the GUI
        self._now: dict[str, object] = {}     # outbox: newest frame of each name
        self._run: list[list] = []            # outbox: sampling pictures to play, oldest first

    # ------------------------------------------------------------------------------ what is wanted
    def _names(self, test) -> set[str]:
        names = {name for name, motion in self.motion.items() if test(name, motion)}
        return names if self.wanted is None else names & self.wanted

    @property
    def sampling(self) -> set[str]:
        return self._names(lambda name, motion: motion == "sampling")

    @property
    def regular(self) -> set[str]:
        """The state views drawn at every pause: the main area's."""
        return self._names(lambda name, motion: motion == "state" and name not in self.slow)

    def _slow_due(self, now: float) -> list[str]:
        return sorted(name for name in self._names(lambda name, motion: name in self.slow)
                      if now - self._drawn_at.get(name, -math.inf) >= SLOW_VIEW_S)

    @property
    def fresh(self) -> bool:
        return bool(self._now or self._run)

    # ------------------------------------------------------------------------------ messages
    def receive_state(self, state: State) -> None:
        """Training waits from now until this state is drawn (:meth:`make_frame`)."""
        if state.shared is not None:
            self._shared = state.shared
        self._skeleton = state.skeleton
        self._changed = state.changed
        self._state_arrived = self.clock()
        self._state_wall = time.time()

    def command(self, command) -> None:
        if isinstance(command, Wanted):
            self.wanted = None if command.names is None else set(command.names)
            self._first = True                 # a newly shown panel needs a picture now
        else:
            self._commands.append(command)

    # ------------------------------------------------------------------------------ schedule
    def due_in(self) -> float | None:
        """Seconds until a picture should be drawn (0: now), or None if there is nothing new: a
        training state at once (training waits for it), the user's commands at ``DISPLAY_FPS``."""
        if self._skeleton is not None:
            return 0.0
        if self.problem or not (self._first or self._commands):
            return None
        return max(0.0, self._last_user + 1 / DISPLAY_FPS - self.clock())

    def state_due_in(self) -> float | None:
        """Seconds until the training state should be asked for (0: now), or None: no panel shows
        a picture of it, or one is being taken."""
        if self.problem or self.wanted == set() or self._skeleton is not None:
            return None
        if len(self._run) >= RUN_AHEAD_S * SAMPLING_FPS:
            return 1 / SAMPLING_FPS           # the GUI has not taken the pictures drawn: wait for it
        now = self.clock()
        main = self.regular
        regular = self.budget.estimate("load") + sum(self.budget.estimate(n) for n in main)
        soonest = self._last_state + 1 / (STATE_FPS if main or not self.sampling else SAMPLING_STATE_FPS)
        if now < soonest:
            return soonest - now
        if now - self._last_state >= STATE_MAX_AGE_S or self.budget.affords(regular):
            return 0.0
        wait_s = (regular - self.budget.balance) / self.budget.share
        return min(wait_s, self._last_state + STATE_MAX_AGE_S - now)

    # ------------------------------------------------------------------------------ drawing
    def make_frame(self) -> bool:
        """Apply the commands, then draw: from the training state if one came (True: training waits
        to be told it may go on), else what the user's commands changed."""
        skeleton, self._skeleton = self._skeleton, None
        try:
            for command in self._commands:
                with contextlib.suppress(ValueError):   # refused: the training process says why
                    self.engine.apply(command)
            self._commands = []
            if skeleton is None:
                self._last_user = self.clock()
                self._put(self.engine.frames(self.wanted), interrupts=True)
            else:
                self._draw_state(skeleton)
        except Exception as exc:  # noqa: BLE001 - a display error must not stop training
            self.problem = f"live display stopped: {type(exc).__name__}: {exc}"
            return skeleton is not None
        self._first = False
        return skeleton is not None

    def _draw_state(self, skeleton) -> None:
        """Load the shared state and draw what is due from it (training waits meanwhile)."""
        budget, slow, started = self.budget, self.slow_budget, self._state_arrived
        self.engine.load_picture_state(join_state(skeleton, self._shared))
        budget.learn("load", self.clock() - started)
        self._put(self._timed(sorted(self.regular), budget))
        slow_due = self._slow_due(math.inf if self._changed else self.clock())
        for name in slow_due:
            if self._changed or slow.affords(slow.estimate(name)):   # a changed state: every panel now
                t0 = self.clock()
                self._put(self._timed([name], slow))
                self._drawn_at[name] = self.clock()
                slow.spend(self._drawn_at[name] - t0)
                started += self._drawn_at[name] - t0          # paid from the slow budget, not the main
        self._draw_run(started)
        budget.spend(self.clock() - started)
        self._last_state = self.clock()

    def _timed(self, names: list[str], budget: PictureBudget) -> list:
        """``frames(names)``, each name's cost learnt by ``budget`` (names drawn together share the time)."""
        if not names:
            return []
        t0 = self.clock()
        frames = self.engine.frames(set(names))
        each = (self.clock() - t0) / len(names)
        for name in names:
            budget.learn(name, each)
        return frames

    def _draw_run(self, started: float) -> None:
        """The sampling pictures owed since the last pause (``SAMPLING_FPS``), as many as the budget
        pays for, at least one."""
        names = self.sampling
        if not names:
            return
        now = self.clock()
        elapsed = min(now - self._last_run, STATE_MAX_AGE_S) if math.isfinite(self._last_run) else 1 / STATE_FPS
        self._last_run = now
        self._owed = min(self._owed + elapsed * SAMPLING_FPS, SAMPLING_FPS * STATE_MAX_AGE_S)
        cost = self.budget.estimate("sampling")
        spent = now - started
        affordable = (self.budget.accrue() - spent) / cost if cost > 0 else self._owed
        count = max(1, min(int(self._owed), int(affordable)))
        self._owed = max(0.0, self._owed - count)
        for _ in range(count):
            t0 = self.clock()
            frames = self.engine.frames(names)
            self.budget.learn("sampling", self.clock() - t0)
            self._run.append(self._fresh(frames))
        del self._run[:-int(RUN_AHEAD_S * SAMPLING_FPS)]

    def _fresh(self, frames: list) -> list:
        """The frames that do not repeat the last one of their name sent (those are dropped)."""
        out = []
        for frame in frames:
            if not frame.repeats(self._sent.get(frame.name)):
                out.append(frame)
                self._sent[frame.name] = frame
        return out

    def _put(self, frames: list, interrupts: bool = False) -> None:
        """Frames to show at once; ``interrupts``: drawn for what the user did, so a run of
        sampling pictures drawn before it is dropped (it would play an older state after it)."""
        if interrupts and any(frame.name in self.motion and self.motion[frame.name] == "sampling" for frame in frames):
            self._run.clear()
        for frame in self._fresh(frames):
            self._now[frame.name] = frame

    def take(self) -> Frames | None:
        """What was drawn since the last take, as the message for the GUI (None: nothing new)."""
        if not self.fresh and not self.problem:
            return None
        from engines.core.frames import in_pixels

        now = [in_pixels(frame) for frame in self._now.values()]
        run = [[in_pixels(frame) for frame in picture] for picture in self._run]
        self._now, self._run = {}, []
        return Frames(now, self.problem, run, 1 / SAMPLING_FPS, self._state_wall)


def run_display(gui_conn, training_conn, spec: RunSpec) -> None:
    """The display process's loop: ask the training process for its state when the schedule says,
    draw it as soon as it comes and say so (training waits for it), draw what the user does at most
    ``DISPLAY_FPS`` a second, hand the pictures to the GUI when it pulls. It builds its engine at
    normal priority (the first picture comes as soon as training's), then yields."""
    from engines.data import artefacts

    def tell_building(report) -> None:     # the copy may be the one that builds a first-used dataset
        with contextlib.suppress(OSError):
            gui_conn.send(report)
    stop_telling = artefacts.listen(tell_building)
    try:
        session = DisplaySession(spec)
    except Exception as exc:  # noqa: BLE001 - the training process reports config errors; this is for the rest
        with contextlib.suppress(OSError):
            gui_conn.send(Frames([], f"no live display: {type(exc).__name__}: {exc}"))
        return
    stop_telling()
    yield_the_cpu()
    asked = False          # a state is on its way from the training process
    pulled = False         # the GUI is waiting for the next pictures (it asks again after each)
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
                sources.remove(training_conn)    # training ended: keep showing the last pictures
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
                gui_conn.send(session.take() or Frames([], told))
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
