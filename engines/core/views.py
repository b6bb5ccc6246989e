"""What an engine shows: its views, declared as plain data (no torch, no Qt).

An engine lists its views in ``Engine.views``. Each view becomes one dock in the studio, drawn by
the panel that ``studio/panels`` registers for the view's frame kind; the recorded-run viewer and
the exporter read the same declaration back from the run store, so no part of the studio names a
model, a panel or a frame. A view says:

- ``name`` and ``title``: the dock's identity and caption;
- ``kinds``: the frame classes it draws (the first picks the panel; a panel may draw several kinds);
- ``frames``: the names of the frames it draws (default: just ``name``);
- ``controls``: live config fields the panel's own controls edit (e.g. Gibbs steps per frame);
- ``calls``: engine methods the panel may call on the *display copy* (interactive pictures:
  restart a chain, decode a dragged latent point, encode a drawn digit); their effect shows in
  the display copy's next frames;
- ``actions``: engine methods the panel may run in the *training process* between two steps
  (e.g. one discriminator step only); an engine obeys no method name that is in neither list;
- ``area``: ``"main"`` (the big dock beside the run setup) or ``"side"`` (the column beside it);
- ``motion``: how the picture moves while a run trains live (:data:`MOTIONS`), which decides how
  often the display copy draws it and whether it needs fresh weights to move;
- ``loop``: an engine method ``loop(phase) -> Frame`` drawing the view's picture at ``phase`` ∈ [0, 1)
  of a closed path through the model's own inputs (a VAE's latent plane, a GAN's noise on a great
  circle, a chair's azimuth): the view's animation of the model itself (``python -m engines
  animate``, File → Animate), pictures at phases i/N making a seamless loop. Empty: none.
"""
from __future__ import annotations

from dataclasses import dataclass

AREAS = ("main", "side")
# How a view's picture moves live (the display copy's schedule, engines/live/display.py, reads it):
MOTIONS = {
    # a new picture needs new weights: drawn from each training state the display copy is sent
    # (a main view at every one, a side view about once a second)
    "state": "changes with the weights",
    # every call of frames() moves the picture on from the same weights (Gibbs chains take a sweep):
    # drawn many times per training state and played out evenly until the next one
    "sampling": "moves by sampling the weights it has",
    # one frame holds a sequence (DRAW's glimpses) that the panel plays itself: a new one about
    # once a second
    "playback": "plays a sequence it holds",
}


def kind_id(cls: type) -> str:
    """``module:Class`` of a frame class: how a view and the run store name a frame kind."""
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass(frozen=True)
class View:
    name: str
    title: str
    kinds: tuple[str, ...]
    frames: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    area: str = "side"
    motion: str = "state"
    loop: str = ""

    def __post_init__(self):
        kinds = tuple(k if isinstance(k, str) else kind_id(k) for k in self.kinds)
        if not kinds:
            raise ValueError(f"view '{self.name}' declares no frame kind")
        if self.area not in AREAS:
            raise ValueError(f"view '{self.name}': area must be one of {', '.join(AREAS)}, not {self.area!r}")
        if self.motion not in MOTIONS:
            raise ValueError(f"view '{self.name}': motion must be one of {', '.join(MOTIONS)}, not {self.motion!r}")
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "frames", tuple(self.frames) or (self.name,))
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "calls", tuple(self.calls))
        object.__setattr__(self, "actions", tuple(self.actions))

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "kinds": list(self.kinds), "frames": list(self.frames),
                "controls": list(self.controls), "calls": list(self.calls), "actions": list(self.actions),
                "area": self.area, "motion": self.motion, "loop": self.loop}

    @classmethod
    def from_dict(cls, values: dict) -> "View":
        """Inverse of :meth:`to_dict`; ``ValueError`` for a description it cannot read."""
        try:
            return cls(str(values["name"]), str(values["title"]), tuple(map(str, values["kinds"])),
                       tuple(map(str, values.get("frames", ()))), tuple(map(str, values.get("controls", ()))),
                       tuple(map(str, values.get("calls", ()))), tuple(map(str, values.get("actions", ()))),
                       str(values.get("area", "side")), str(values.get("motion", "state")),
                       str(values.get("loop", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"unreadable view description {values!r}") from exc


def undeclared_view(name: str, kind: str) -> View:
    """The view of frames ``name`` that no view declares (the Runner's weights and gradients): a
    dock of its own, titled after the name."""
    return View(name, name.replace("_", " ").capitalize(), (kind,))
