"""The ``draw`` engine: DRAW trained on the negative variational bound, with the attention canvas
(a glimpse trace) for the studio. The model and its equations are in ``model.py``."""
from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch

from engines.core.config import ConfigError
from engines.core.engine import BatchSampler, NetworkEngine, bernoulli, wants
from engines.core.frames import ImageGrid, image_array
from engines.draw.frames import GlimpseTrace
from engines.draw.model import DRAW, Trace
from engines.draw.spec import DRAW_SPEC, DRAWConfig

MAX_PARAMETERS = 200_000_000     # a config asking for more is refused (it would not fit in memory)
EVAL_BATCH = 250
SAMPLES_SHOWN = 16


def resolve_likelihood(kind: str, channels: int) -> str:
    """``auto`` -> bernoulli for grey images, gaussian for colour; bernoulli on colour is refused."""
    if kind == "auto":
        return "bernoulli" if channels == 1 else "gaussian"
    if kind == "bernoulli" and channels != 1:
        raise ConfigError("likelihood=bernoulli needs grey images (this dataset has colour): "
                          "use likelihood=gaussian or auto, or grey=true")
    return kind


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
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        self.batches = batches
        self._kl_t: torch.Tensor | None = None

    @abstractmethod
    def next_batch(self) -> tuple[torch.Tensor, ...]:
        """The model's inputs for one update (images first)."""

    def loss(self, batch: tuple[torch.Tensor, ...], generator: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-image bound terms: reconstruction (batch,), KL per step (T, batch), and their sum."""
        noise = torch.randn(self.config.T, len(batch[0]), self.config.z_size, generator=generator, device=self.device)
        recon, kl = self.model(*batch, noise)
        return recon, kl, recon + kl.sum(0)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        recon, kl, bound = self.loss(self.next_batch(), self.generator)
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


class DRAWEngine(DrawingEngine):
    spec = DRAW_SPEC
    smoke_data = "digits"
    smoke_overrides = {"T": 3, "enc_size": 16, "dec_size": 16, "z_size": 4, "trace_images": 2, "batch_size": 16}

    def __init__(self, config: DRAWConfig, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        self.likelihood = resolve_likelihood(config.likelihood, data.shape[0])
        model = self.build_model(lambda: DRAW(data.shape, config.T, config.enc_size, config.dec_size, config.z_size,
                                              config.read_n, config.write_n, config.attention, self.likelihood))
        self.setup(model, BatchSampler(data.train, device, self.rng))
        self.binary = self.likelihood == "bernoulli"
        self.test_x = torch.from_numpy(data.test_binary if self.binary else data.test).to(device)
        # Display state, drawn once with a generator of its own: frames compare across time and
        # making them never changes training.
        display = torch.Generator(device=device).manual_seed(seed + 2)
        k = config.trace_images
        pick = torch.linspace(0, len(self.test_x) - 1, k).long().to(device)
        self.trace_targets = self.test_x[pick]
        self.trace_noise = torch.randn(config.T, k, config.z_size, generator=display, device=device)
        self.prior_noise = torch.randn(config.T, max(k, SAMPLES_SHOWN), config.z_size, generator=display,
                                       device=device)

    def next_batch(self) -> tuple[torch.Tensor]:
        x = self.batches.next(self.config.batch_size).view(-1, *self.data.shape)
        return (bernoulli(x, self.generator) if self.binary else x,)

    # ------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def frames(self, wanted=None):
        """The attention canvas (fixed test images reconstructed with fixed posterior noise and
        fixed prior samples, step by step with their windows) and a grid of prior samples."""
        out = []
        if wants(wanted, "attention"):
            out.append(self.glimpse_trace())
        if wants(wanted, "samples"):
            samples = self.model.generate(self.prior_noise[:, :SAMPLES_SHOWN])
            out.append(ImageGrid("samples", self.step, image_array(samples, self.data.shape), columns=8))
        return out

    def glimpse_trace(self) -> GlimpseTrace:
        k = self.config.trace_images
        recon, generated = Trace(), Trace()
        self.model(self.trace_targets, self.trace_noise, recon)
        self.model.generate(self.prior_noise[:, :k], generated)
        canvases = torch.cat([Trace.stacked(recon.canvases), Trace.stacked(generated.canvases)])
        steps = canvases.shape[1]
        images = image_array(canvases.flatten(0, 1), self.data.shape)
        writes = [Trace.stacked(recon.write), Trace.stacked(generated.write)]
        no_window = np.zeros((2 * k, steps, 0), dtype=np.float32)
        write = no_window if writes[0] is None else torch.cat(writes).cpu().numpy().copy()
        read = Trace.stacked(recon.read)
        read = np.zeros((0, steps, 5), np.float32) if read is None else read.cpu().numpy().copy()
        return GlimpseTrace("attention", self.step, images.reshape(2 * k, steps, *images.shape[1:]), write, read,
                            write_n=self.config.write_n, read_n=self.config.read_n, reconstructions=k, columns=k)

    def evaluate(self) -> dict[str, float]:
        """The bound ``−log p(x | c_T) + Σ_t KL`` on the test set (binarized once for Bernoulli)."""
        return self.bound_on(self.test_x)
