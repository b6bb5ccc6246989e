"""A frame kind no studio code knows: bars of a vector, drawn as a still picture (NumPy only)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.core.frames import Frame


@dataclass(frozen=True)
class Bars(Frame):
    """One bar per value in [0, 1]; ``highlight`` is the index of a bar the user poked (or -1)."""
    values: np.ndarray
    highlight: int = -1

    def still(self, fill: float = 0.0) -> np.ndarray:
        """Bars 3 pixels wide, 20 high, white (a poked bar half grey), on ``fill``."""
        n = len(self.values)
        picture = np.full((20, 4 * n), fill, np.float32)
        for i, value in enumerate(np.clip(self.values, 0, 1)):
            top = 20 - int(round(20 * value))
            picture[top:, 4 * i:4 * i + 3] = 0.5 if i == self.highlight else 1.0
        return picture
