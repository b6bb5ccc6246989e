"""A toy engine for testing the generic machinery (runner, store, worker, window, export) without
the RBM: it learns the mean training image by gradient descent on ``½‖x − m‖²``.

It declares two views, one drawn by the stock image panel and one of a frame kind of its own
(:class:`tests.toy.frames.Bars`), a live field the bars panel edits, a display-copy call and a
training action. Declared in :mod:`tests.toy.spec`, registered for the tests through ``GENSTUDIO_ENGINES`` (see
tests/conftest.py).
"""
from __future__ import annotations

import numpy as np
import torch

from engines.core.engine import BatchSampler, Engine, wants
from engines.core.frames import ImageGrid, image_array
from tests.toy.frames import Bars
from tests.toy.spec import TOY_SPEC, ToyConfig


class ToyEngine(Engine):
    spec = TOY_SPEC

    def __init__(self, config: ToyConfig, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        self.mean = torch.zeros(int(np.prod(data.shape)), device=device)
        self.batches = BatchSampler(data.train, device, self.rng)
        self.poked = -1                                    # display state: the bar last poked

    def train_step(self) -> dict[str, float]:
        if self.config.fail_at and self.step + 1 == self.config.fail_at:
            raise RuntimeError(f"toy failure at step {self.config.fail_at}")
        x = self.batches.next(self.config.batch_size)
        grad = self.mean - x.mean(0)                       # ∂/∂m ½‖x − m‖² averaged over the batch
        self.mean -= self.config.lr * grad
        self.step += 1
        return {"loss": float(0.5 * ((x - self.mean) ** 2).sum(1).mean())}

    def frames(self, wanted=None):
        out = []
        if wants(wanted, "mean"):
            out.append(ImageGrid("mean", self.step, image_array(self.mean[None].clamp(0, 1), self.data.shape)))
        if wants(wanted, "bars"):
            values = self.mean[:self.config.bars].clamp(0, 1).cpu().numpy().copy()
            out.append(Bars("bars", self.step, values, self.poked))
        return out

    def poke(self, index: int) -> None:
        """Display copy: highlight bar ``index``."""
        if not 0 <= int(index) < self.config.bars:
            raise ValueError(f"no bar {index}")
        self.poked = int(index)

    def jump(self) -> None:
        """Training process: move the mean halfway to 1 (an action between two steps)."""
        self.mean += 0.5 * (1 - self.mean)

    def evaluate(self) -> dict[str, float]:
        test = torch.from_numpy(self.data.test.reshape(len(self.data.test), -1)).to(self.device)
        return {"test_loss": float(0.5 * ((test - self.mean) ** 2).sum(1).mean())}

    def state_dict(self) -> dict:
        return {**self.base_state(), "mean": self.mean, "batches": self.batches.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.mean = state["mean"].to(self.device).clone()
        self.batches.load_state_dict(state["batches"])
        self.load_base_state(state)
