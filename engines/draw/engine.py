"""What the DRAW engines share (:class:`DrawingEngine`): training on the negative variational bound,
the bound's scalars, evaluation and checkpoints. The ``draw`` engine is :mod:`engines.draw.draw_engine`,
``aligndraw`` :mod:`engines.draw.aligndraw_engine`; the networks and their equations are in
``model.py`` and ``aligndraw_model.py``."""
from __future__ import annotations

from abc import abstractmethod

import torch

from engines.core.config import ConfigError
from engines.core.distributed import data_parallel
from engines.core.engine import NetworkEngine

MAX_PARAMETERS = 200_000_000     # a config asking for more is refused (it would not fit in memory)
EVAL_BATCH = 250


def check_size(model: torch.nn.Module) -> None:
    count = sum(p.numel() for p in model.parameters())
    if count > MAX_PARAMETERS:
        raise ConfigError(f"this config has {count / 1e6:,.0f}M parameters ({count * 16 / 2**30:,.1f} GiB with Adam); "
                          f"the limit is {MAX_PARAMETERS / 1e6:,.0f}M: use smaller LSTMs (a DRAW without attention "
                          "also grows with the image size)")


class DrawingEngine(NetworkEngine):
    """What DRAW and alignDRAW share: the model (an ``nn.Module`` whose ``forward(*batch, noise)``
    returns the reconstruction term and the KL of each step), Adam with gradient clipping, the
    bound's scalars, the KL per step, evaluation and checkpoints. A subclass builds the model
    (:meth:`build_model`, :meth:`setup`), says where batches come from (:meth:`next_batch`) and
    makes the frames."""

    runs_under_torchrun = True

    def build_model(self, factory) -> torch.nn.Module:
        """``factory()``, first sized up on the meta device (nothing allocated: a config too big is
        refused at once), then built with weights that are a function of the seed alone."""
        with torch.device("meta"):
            check_size(factory())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return factory()

    def setup(self, model: torch.nn.Module, batches) -> None:
        self.model = model.to(self.device)
        self.train_model = data_parallel(self.model)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        self.batches = batches
        self._kl_t: torch.Tensor | None = None

    @abstractmethod
    def next_batch(self) -> tuple[torch.Tensor, ...]:
        """The model's inputs for one update (images first)."""

    def loss(self, batch: tuple[torch.Tensor, ...], generator: torch.Generator, model=None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-image bound terms: reconstruction (batch,), KL per step (T, batch), and their sum;
        ``model`` is the training pass (:func:`~engines.core.distributed.data_parallel`), the model
        itself when None."""
        noise = torch.randn(self.config.T, len(batch[0]), self.config.z_size, generator=generator, device=self.device)
        recon, kl = (self.model if model is None else model)(*batch, noise)
        return recon, kl, recon + kl.sum(0)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        recon, kl, bound = self.loss(self.next_batch(), self.generator, self.train_model)
        loss = bound.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr
        self.optimizer.step()
        self.step += 1
        self._kl_t = kl.detach().mean(1)
        values = torch.stack([loss.detach(), recon.detach().mean(), self._kl_t.sum()]).tolist()
        return dict(zip(("nll_bound", "recon", "kl"), values, strict=True))

    def monitor(self) -> dict[str, float]:
        """The last batch's KL of each glimpse t (nats): where in the drawing the information goes."""
        if self._kl_t is None:
            return {}
        width = len(str(self.config.T))
        return {f"kl_t{t + 1:0{width}d}": v for t, v in enumerate(self._kl_t.tolist())}

    @torch.no_grad()
    def bound_on(self, *tensors: torch.Tensor) -> dict[str, float]:
        """The bound ``recon + Σ_t KL`` averaged over a held-out set (its tensors side by side), one
        posterior sample per image from a fixed generator, in nats per image."""
        generator = torch.Generator(device=self.device).manual_seed(self.seed + 3)
        totals = torch.zeros(3, device=self.device)
        for start in range(0, len(tensors[0]), EVAL_BATCH):
            recon, kl, bound = self.loss(tuple(t[start:start + EVAL_BATCH] for t in tensors), generator)
            totals += torch.stack([bound.sum(), recon.sum(), kl.sum()])
        nll, recon, kl = (totals / len(tensors[0])).tolist()
        return {"nll_bound": nll, "recon": recon, "kl": kl}
