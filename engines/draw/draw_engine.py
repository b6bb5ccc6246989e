"""The ``draw`` engine: DRAW (:class:`~engines.draw.model.DRAW`) trained on the negative
variational bound (:class:`~engines.draw.engine.DrawingEngine`), with the attention canvas (a
glimpse trace of fixed test images and fixed prior samples) and a grid of samples for the studio."""
from __future__ import annotations

import numpy as np
import torch

from engines.core.config import ConfigError
from engines.core.engine import BatchSampler, bernoulli, wants
from engines.core.frames import ImageGrid, image_array
from engines.draw.engine import DrawingEngine
from engines.draw.frames import GlimpseTrace
from engines.draw.model import DRAW, Trace
from engines.draw.spec import DRAW_SPEC, DRAWConfig

SAMPLES_SHOWN = 16


def resolve_likelihood(kind: str, channels: int) -> str:
    """``auto`` -> bernoulli for grey images, gaussian for colour; bernoulli on colour is refused."""
    if kind == "auto":
        return "bernoulli" if channels == 1 else "gaussian"
    if kind == "bernoulli" and channels != 1:
        raise ConfigError("likelihood=bernoulli needs grey images (this dataset has colour): "
                          "use likelihood=gaussian or auto, or grey=true")
    return kind


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
