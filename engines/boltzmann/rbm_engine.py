"""The ``rbm`` engine: a Bernoulli-Bernoulli RBM (model in :mod:`engines.boltzmann.rbm_model`)
trained by CD-k or PCD-k, with persistent chains shown live and AIS for the held-out
log-likelihood.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engines.boltzmann.ais import ais_log_likelihood, ais_notes, base_rate_bias, base_rate_images, hidden_base_rates
from engines.boltzmann.frames import ChainState
from engines.boltzmann.rbm_model import RBM
from engines.boltzmann.shown_chains import ShownChains
from engines.boltzmann.spec import RBM_SPEC, RBMConfig
from engines.core import distributed
from engines.core.engine import BatchSampler, Engine, bernoulli, wants
from engines.core.frames import ImageGrid, image_array


class RBMEngine(Engine):
    spec = RBM_SPEC
    runs_under_torchrun = True
    evaluates_across_ranks = True       # its AIS runs
    smoke_overrides = {"hidden": 32, "chains": 16, "ais_runs": 10, "ais_temperatures": 200,
                       "ais_max_temperatures": 400, "history_every": 1}

    def __init__(self, config: RBMConfig, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        self.n_visible = int(np.prod(data.shape))
        self.model = RBM(self.n_visible, config.hidden, self.generator, device)
        train = data.train.reshape(len(data.train), -1)
        self.b_base = base_rate_bias(torch.from_numpy(train).to(device))
        self.model.b.copy_(self.b_base)   # start the visible biases at the data's base rates
        self.batches = BatchSampler(data.train, device, self.rng)
        self.velocity = [torch.zeros_like(p) for p in (self.model.W, self.model.b, self.model.c)]
        self.persistent = bernoulli(torch.sigmoid(self.b_base).expand(config.batch_size, -1).contiguous(),
                                          generator=self.generator)
        # Monitoring sets: fixed binarized train images and the fixed binarized test set.
        monitor_rng = np.random.default_rng(seed + 1)
        idx = monitor_rng.choice(len(train), size=min(500, len(train)), replace=False)
        self.train_monitor = torch.from_numpy((monitor_rng.random((len(idx), self.n_visible)) < train[idx])
                                              .astype(np.float32)).to(device)
        self.test_v = torch.from_numpy(data.test_binary.reshape(len(data.test), -1)).to(device)
        # The shown chains have their own generator: how often a display asks for frames never
        # changes the training trajectory.
        self.display_generator = torch.Generator(device=device).manual_seed(seed + 2)
        self.chain_v = self.test_v[torch.arange(config.chains, device=device) % len(self.test_v)].clone()
        self.chain_probs = self.chain_v.clone()
        self.shown = ShownChains(config.chains, len(self.test_v), self.display_generator)
        self._last_batch = None

    # ------------------------------------------------------------------------------ training
    def train_step(self) -> dict[str, float]:
        cfg, m = self.config, self.model
        v0 = bernoulli(self.batches.next(cfg.batch_size), generator=self.generator)
        h0 = m.hidden_probs(v0)
        if cfg.method == "pcd":
            vk, _ = m.gibbs(self.persistent, cfg.k, self.generator)
            self.persistent = vk
        else:
            h = bernoulli(h0, generator=self.generator)
            vk = bernoulli(m.visible_probs(h), generator=self.generator)
            if cfg.k > 1:
                vk, _ = m.gibbs(vk, cfg.k - 1, self.generator)
        hk = m.hidden_probs(vk)
        n = v0.shape[0]
        # the statistics (v0ᵀh0 − vkᵀhk)/n, ⟨v0 − vk⟩, ⟨h0 − hk⟩, averaged over the ranks under torchrun
        stats = (torch.addmm(torch.mm(v0.t(), h0), vk.t(), hk, alpha=-1).div_(n), (v0 - vk).mean(0), (h0 - hk).mean(0))
        distributed.average(stats)
        # velocity ← momentum·velocity + statistics (− decay·W for the weights)
        for vel, stat in zip(self.velocity, stats):
            vel.mul_(cfg.momentum).add_(stat)
        self.velocity[0].add_(m.W, alpha=-cfg.weight_decay)
        for param_, vel, stat in zip((m.W, m.b, m.c), self.velocity, stats):
            param_.add_(vel, alpha=cfg.lr)
            param_.grad = stat        # what the weights-and-gradients view shows as the gradient
        self._last_batch = v0
        self.step += 1
        return {}

    @torch.no_grad()
    def monitor(self) -> dict[str, float]:
        """Reconstruction error of the last batch, free-energy gap ``⟨F⟩_test − ⟨F⟩_train`` (grows
        as the model overfits), and the stochastic pseudo-likelihood of the test set."""
        m = self.model
        out = {}
        if self._last_batch is not None:
            v = self._last_batch
            recon = m.visible_probs(m.hidden_probs(v))
            out["recon_error"] = float(((v - recon) ** 2).sum(1).mean())
        out["free_energy_gap"] = float(m.free_energy(self.test_v).mean() - m.free_energy(self.train_monitor).mean())
        out["pseudo_likelihood"] = float(self.pseudo_likelihood(self.test_v).mean())
        return out

    def pseudo_likelihood(self, v: torch.Tensor) -> torch.Tensor:
        """Stochastic pseudo-likelihood: flip one random bit i per row, ``D·log σ(F(ṽ) − F(v))``.
        The bits are drawn from a generator seeded by (seed, step): the curve is a function of the
        weights and the step, the same in a resumed run, however often its chains were watched."""
        generator = torch.Generator(device=v.device).manual_seed(self.seed * 1_000_003 + self.step)
        flip = torch.randint(0, v.shape[1], (v.shape[0],), generator=generator, device=v.device)
        rows = torch.arange(v.shape[0], device=v.device)
        flipped = v.clone()
        flipped[rows, flip] = 1 - flipped[rows, flip]
        return v.shape[1] * F.logsigmoid(self.model.free_energy(flipped) - self.model.free_energy(v))

    # ------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def frames(self, wanted=None):
        """The chains (advanced ``gibbs_per_frame`` Gibbs steps by the display generator) and their
        history whenever they are wanted, filters and reconstructions only when wanted."""
        cfg, shape = self.config, self.data.shape
        frames = []
        if wants(wanted, "chains", "chain_history"):
            every = max(1, cfg.history_every)
            self.shown.advance(cfg.gibbs_per_frame, every, self._sweep_shown_chains,
                               lambda count: image_array(self.chain_probs[:count], shape))
            frames.append(ChainState("chains", self.step, image_array(self.chain_probs, shape),
                                     image_array(self.chain_v, shape).astype(np.uint8), self.shown.steps.copy()))
            frames += self.shown.history_frames(self.step, every)
        if wants(wanted, "filters"):
            frames.append(ImageGrid("filters", self.step, self.filter_images(64)))
        if wants(wanted, "reconstructions"):
            frames.append(ImageGrid("reconstructions", self.step, self.reconstructions(16), columns=16, reflow=False))
        return frames

    def _sweep_shown_chains(self) -> None:
        self.chain_v, self.chain_probs = self.model.gibbs(self.chain_v, 1, self.display_generator)

    def filter_images(self, count: int) -> np.ndarray:
        """The first ``count`` hidden units' weights as images, each scaled to [0, 1]."""
        w = self.model.W[:, :count].t()
        lo, hi = w.min(1, keepdim=True).values, w.max(1, keepdim=True).values
        return image_array((w - lo) / (hi - lo).clamp_min(1e-8), self.data.shape)

    def reconstructions(self, count: int) -> np.ndarray:
        """Test digits (first row) above ``p(v|h)`` with ``h = p(h|v)`` (second row)."""
        v = self.test_v[torch.linspace(0, len(self.test_v) - 1, count, device=self.device).long()]
        recon = self.model.visible_probs(self.model.hidden_probs(v))
        return image_array(torch.cat([v, recon]), self.data.shape)

    def restart_chain(self, index: int, test_index: int | None = None) -> int:
        """Restart shown chain ``index`` from a test digit (random unless given); returns which."""
        test_index = self.shown.restart(index, test_index)
        self.chain_v[index] = self.test_v[test_index]
        self.chain_probs[index] = self.test_v[test_index]
        return test_index

    # ------------------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        cfg = self.config
        return ais_log_likelihood(self.model, self.b_base, self.test_v, runs=cfg.ais_runs,
                                  temperatures=cfg.ais_temperatures, max_temperatures=cfg.ais_max_temperatures,
                                  tolerance=cfg.ais_tolerance,
                                  generator=torch.Generator(device=self.device).manual_seed(self.seed + 3),
                                  c_base=self.base_hidden_bias())

    def base_hidden_bias(self) -> torch.Tensor:
        """AIS's base model's hidden bias: the logit of each hidden unit's mean activation
        probability ``σ(c + vW)`` on training images (:func:`engines.boltzmann.ais.base_rate_images`)."""
        v = base_rate_images(self.data.train, True, self.seed + 5, self.device)
        return hidden_base_rates([self.model.hidden_probs(v)])[0]

    metric_notes = staticmethod(ais_notes)

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**self.base_state(), "model": self.model.state_dict(), "velocity": self.velocity,
                "persistent": self.persistent, "batches": self.batches.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.velocity = [v.to(self.device) for v in state["velocity"]]
        self.persistent = state["persistent"].to(self.device)
        self.batches.load_state_dict(state["batches"])
        self.load_base_state(state)

    def picture_state(self) -> dict:
        """The shown chains, filters and reconstructions need the weights only (not the velocity,
        nor the training chains)."""
        return {"step": self.step, "model": self.model.state_dict()}

    def load_picture_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])      # copies into the parameters
        self.step = int(state["step"])
