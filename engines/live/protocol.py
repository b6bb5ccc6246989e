"""What the studio's three processes say to each other, as small named types (no Qt, no torch).

The GUI process owns a training process (the core's Runner, recording the run) and a display
process (a *display copy* of the engine that makes the live frames from the training state, which
the training process shares through shared memory). Messages cross pipes, one object each:

GUI → training: :class:`Pull`, :class:`Pause`, :class:`Resume`, :class:`Step`, :class:`Stop`,
``SetField``, ``CallMethod`` (an engine's view *actions*).
training → GUI: :class:`Ready`, :class:`Failed`, :class:`Pulled`, :class:`Done`.
training or display → GUI, while a first use builds a cached artefact (a dataset, the digit
classifier): ``engines.data.artefacts.Building`` reports (one child builds, the other waits).
GUI → display: :class:`Pull` (send what was drawn next), :class:`Wanted` (the frames the visible
panels show), ``SetField``, ``CallMethod`` (a view's *calls*), :class:`Stop`.
display → GUI: :class:`Frames`.
display → training: :class:`Want`, :class:`Drawn`; training → display: :class:`State`.

``SetField`` and ``CallMethod`` are the engines' own command types (``engines.core.commands``).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunSpec:
    """What to train: everything the child processes need to build the engine and record the run."""
    model: str
    data: str | None = None      # None: the model's default dataset
    device: str = "auto"
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    paused: bool = False
    live: bool = True            # False: no display process, no live data (a headless run)
    runs_root: str | None = None
    resume: str | None = None    # a run directory to continue from its last checkpoint (model, data,
                                 # seed and overrides then repeat the run's own, for the display copy)
    watch_parameters: bool = True   # the weights-and-gradients view's frames (engines.core.parameters)


# ----------------------------------------------------------------------------------- GUI → children
@dataclass(frozen=True)
class Pull:
    """Training: send scalars, status and events since the last pull. Display: send the next new frames."""


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Step:
    """While paused, run exactly ``n`` more steps."""
    n: int = 1


@dataclass(frozen=True)
class SaveCheckpoint:
    """Training: write a checkpoint of the state now, between two steps, paused or not (File →
    Animate from the live state)."""


@dataclass(frozen=True)
class Stop:
    """Stop training (saving a final checkpoint) / stop the display copy."""


@dataclass(frozen=True)
class Wanted:
    """The frame names the panels on screen show (None: all of them)."""
    names: frozenset | None


# ----------------------------------------------------------------------------------- children → GUI
@dataclass(frozen=True)
class Ready:
    """The run is built and recording: ``run_dir``, ``device``, ``model``, ``data``, ``config``
    (values in force). The model's fields and views are its spec's (``engines.registry.model_spec``),
    which the GUI reads itself."""
    info: dict


@dataclass(frozen=True)
class Failed:
    """The run could not start, and why."""
    message: str


@dataclass(frozen=True)
class Pulled:
    """Scalar rows ``(step, wall, {name: value})`` and events ``(step, kind, text)`` since the last
    pull, the live status (step, steps_per_s, paused, state, message), once the run has ended its
    summary, and the newest frames the training loop made itself (the weights and gradients)."""
    rows: list
    events: list
    status: dict
    summary: dict | None
    frames: list = field(default_factory=list)


@dataclass(frozen=True)
class Done:
    summary: dict | None


@dataclass(frozen=True)
class Frames:
    """What the display copy drew since the GUI last pulled: ``frames`` to show at once (the newest
    of each name), ``run``, pictures of sampling views (each a list of frames) to play one after
    another ``spacing`` seconds apart, ``state_wall`` (``time.time()``) when the training state
    they were drawn from was taken, and the copy's problem, if any. Image fields are uint8."""
    frames: list
    problem: str = ""
    run: list = field(default_factory=list)
    spacing: float = 0.0
    state_wall: float = 0.0


# ----------------------------------------------------------------------------------- display ↔ training
@dataclass(frozen=True)
class Want:
    """The display copy wants the training state (it has read the last one)."""


@dataclass(frozen=True)
class Drawn:
    """The display copy has drawn from the state it was sent: training, which waited, goes on."""


@dataclass(frozen=True)
class State:
    """The training state: its structure with tensors replaced by slots into ``shared`` (sent only
    the first time, or when the tensors' shapes change; otherwise the shared tensors were updated in
    place). ``changed``: a command changed it between steps (an action while paused): every panel
    shown is drawn from it, not only those due."""
    skeleton: object
    shared: list | None
    changed: bool = False
