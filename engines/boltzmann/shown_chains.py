"""What the RBM's and the DBM's live chains share: how far each shown chain has run, the chain
history, and restarting a chain from a test image.

Each frame advances the shown chains ``gibbs_per_frame`` Gibbs sweeps with the engine's *display*
generator (so however often they are watched, training draws the same numbers); every
``history_every`` sweeps the first :data:`HISTORY_CHAINS` chains' pictures become a row of the
history, which keeps the last :data:`HISTORY_ROWS` rows. ``steps[i]`` counts the sweeps chain ``i``
has made since it was (re)started.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from engines.boltzmann.frames import ChainHistory

HISTORY_CHAINS = 20          # chains in a row of the history
HISTORY_ROWS = 20            # rows the history keeps


class ShownChains:
    def __init__(self, count: int, test_images: int, generator: torch.Generator):
        self.steps = np.zeros(count, dtype=np.int64)
        self.sweeps = 0                                   # sweeps made by the shown chains in all
        self.rows: list[tuple[int, np.ndarray]] = []      # (sweeps, pictures of HISTORY_CHAINS chains)
        self.test_images = test_images
        self.generator = generator

    def advance(self, sweeps: int, every: int, sweep: Callable[[], None],
                picture: Callable[[int], np.ndarray]) -> None:
        """Make ``sweeps`` Gibbs sweeps (``sweep()`` makes one on the engine's chains), adding a row
        ``picture(HISTORY_CHAINS)`` to the history every ``every`` sweeps."""
        for _ in range(sweeps):
            sweep()
            self.steps += 1
            self.sweeps += 1
            if self.sweeps % every == 0:
                self.rows = (self.rows + [(self.sweeps, picture(HISTORY_CHAINS))])[-HISTORY_ROWS:]

    def history_frames(self, step: int, every: int) -> list[ChainHistory]:
        """The history as a frame, once it has a row."""
        if not self.rows:
            return []
        return [ChainHistory("chain_history", step, np.stack([r for _, r in self.rows]),
                             np.array([s for s, _ in self.rows]), every)]

    def restart(self, index: int, test_index: int | None) -> int:
        """Check a restart of chain ``index`` from test image ``test_index`` (drawn with the display
        generator when None, so a click never changes training), count its sweeps from 0 again, and
        return the test image's index; the engine puts the image into its chain."""
        if not 0 <= int(index) < len(self.steps):
            raise ValueError(f"chain index must be from 0 to {len(self.steps) - 1}, got {index}")
        if test_index is None:
            test_index = int(torch.randint(self.test_images, (1,), generator=self.generator,
                                           device=self.generator.device))
        if not 0 <= int(test_index) < self.test_images:
            raise ValueError(f"test image index must be from 0 to {self.test_images - 1}, got {test_index}")
        self.steps[index] = 0
        return int(test_index)
