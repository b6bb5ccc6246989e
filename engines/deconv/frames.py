"""Frame kinds of the chair generator (NumPy only: the studio decodes them without torch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame, as_unit, image_field, tile


@dataclass(frozen=True)
class ChairView(Frame):
    """The chair the sliders ask for: the generated image (H, W, 3) and mask (H, W), beside the
    true render with the same view and transformation (made by the renderer, so one exists for
    every slider position). ``status`` says whether the view is a training view, a held-out view
    or one the dataset does not have; ``chairs`` is how many chair models the run knows."""
    generated: np.ndarray = image_field()
    mask: np.ndarray = image_field()
    truth: np.ndarray = image_field()
    chair: int = 0
    azimuth: float = 0.0
    elevation: float = 0.0
    zoom: float = 1.0
    brightness: float = 1.0
    chairs: int = 1
    status: str = ""

    def still(self, fill: float = 0.0) -> np.ndarray:
        """generated | mask | true render, one pixel apart."""
        mask = np.repeat(self.mask[..., None], 3, -1)
        return tile(np.stack([as_unit(self.generated), as_unit(mask), as_unit(self.truth)]).astype(np.float32), 3, fill=fill)

    def repeats(self, previous: Frame | None) -> bool:
        """Same training step and same request: the same pictures (a paused run, sliders at rest)."""
        keys = ("step", "chair", "azimuth", "elevation", "zoom", "brightness")
        return isinstance(previous, ChairView) and all(getattr(previous, k) == getattr(self, k) for k in keys)


@dataclass(frozen=True)
class Turntable(Frame):
    """A full azimuth sweep of one generated chair: ``images`` (A, H, W, 3) at ``azimuths``
    (degrees) and one ``elevation``. The still is the sweep as one row; :meth:`animation` is one
    picture per azimuth (what a turntable GIF/MP4 shows)."""
    animation_unit = "view"
    images: np.ndarray = image_field()
    azimuths: np.ndarray
    chair: int = 0
    elevation: float = 0.0

    def still(self, fill: float = 0.0) -> np.ndarray:
        return tile(self.images, len(self.images), fill=fill)

    def animation(self) -> list[np.ndarray]:
        return list(self.images)

    def tiles(self) -> np.ndarray:
        """In a panel, the sweep laid out to fill it."""
        return self.images

    def repeats(self, previous: Frame | None) -> bool:
        """Same training step, chair and views: the same sweep."""
        return (isinstance(previous, Turntable) and previous.step == self.step and previous.chair == self.chair
                and previous.elevation == self.elevation and np.array_equal(previous.azimuths, self.azimuths))
