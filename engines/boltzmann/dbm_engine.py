"""The ``dbm`` engine: a 2- or 3-layer deep Boltzmann machine (model in :mod:`engines.boltzmann.dbm_model`).

Training runs in two phases, chosen by the step count:

1. **Greedy pretraining** (``pretrain_steps`` updates per layer, bottom up): CD-1 on one RBM per
   weight matrix, with the doubled inputs of :func:`~engines.boltzmann.dbm_model.pretrain_scales`;
   the RBM of layer l sees the layer below's up-probabilities through the already trained RBMs.
   After every update the DBM's biases are the composition of the RBMs' (``compose_biases``).
2. **Joint training**: the data term from mean-field (``mean_field_steps`` sweeps), the model term
   from ``particles`` persistent chains that make ``gibbs_steps`` odd/even Gibbs sweeps per update;
   ``ΔW_l ∝ ⟨x_l x_{l+1}ᵀ⟩_data − ⟨x_l x_{l+1}ᵀ⟩_model``, with momentum, weight decay and a learning
   rate decaying as ``lr · τ/(τ + t)`` (with a constant one the bound gets worse after a few hundred
   updates on MNIST).

The ``phase`` curve is the layer being pretrained (1..L), then L+1 for joint training.
Visible units are Bernoulli for digits (dynamically binarized batches, the fixed binarized test
set) and Gaussian with σ = 1 for real-valued images: pixels standardized as
``v = (x − mean image) / s``, ``s`` the training pixels' overall standard deviation.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from engines.boltzmann.ais import (DBMPath, ais_notes, base_rate_bias, base_rate_images, bounded_log_z,
                                   hidden_base_rates)
from engines.boltzmann.dbm_model import DBM, compose_biases, rbm_down, rbm_up
from engines.boltzmann.frames import LayerChains
from engines.boltzmann.shown_chains import ShownChains
from engines.core import distributed
from engines.core.engine import BatchSampler, Engine, bernoulli, wants
from engines.core.frames import ImageGrid, image_array
from engines.boltzmann.spec import DBM_SPEC, DBMConfig


def binary_data(name: str) -> bool:
    """Whether ``visible=auto`` treats a dataset as binary pixels: the MNIST-like digit sets."""
    return "mnist" in name.lower() or name == "digits"


def product_sum(products: list[tuple[torch.Tensor, torch.Tensor, float]]) -> torch.Tensor:
    """``Σ α AᵀB`` over ``[(A, B, α), …]``: a weight gradient's data and model terms."""
    (a, b, alpha), *rest = products
    total = torch.mm(a.t(), b).mul_(alpha)
    for a, b, alpha in rest:
        total.addmm_(a.t(), b, alpha=alpha)
    return total


class DBMEngine(Engine):
    spec = DBM_SPEC
    smoke_data = "digits"
    runs_under_torchrun = True
    evaluates_across_ranks = True       # its AIS runs
    smoke_overrides = {"layers": (16, 16), "pretrain_steps": 3, "batch_size": 20, "particles": 10, "chains": 4,
                       "ais_runs": 4, "ais_temperatures": 50, "ais_max_temperatures": 100, "mean_field_steps": 3, "history_every": 1}
    # joint training: greedy pretraining is the first 2,000 steps only, and runs ~8x faster
    steady_overrides = {"pretrain_steps": 0}

    FILL_STEPS = (1, 3, 10, 30, 100)    # Gibbs sweeps at which the fill-in picture takes a row

    def __init__(self, config: DBMConfig, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        cfg = config
        self.gaussian = cfg.visible == "gaussian" or (cfg.visible == "auto" and not binary_data(data.name))
        self.n_visible = int(np.prod(data.shape))
        train = data.train.reshape(len(data.train), -1)
        if self.gaussian:
            self.pixel_mean = torch.from_numpy(train.mean(0)).to(device)
            self.pixel_scale = float(max(train.std(), 1e-3))
            train_v = (train - train.mean(0)) / self.pixel_scale
            test_v = (data.test.reshape(len(data.test), -1) - train.mean(0)) / self.pixel_scale
            self.b_base = torch.from_numpy(train_v.mean(0)).to(device)
        else:
            train_v = train
            test_v = data.test_binary.reshape(len(data.test), -1)
            self.b_base = base_rate_bias(torch.from_numpy(train).to(device))
        self.test_v = torch.from_numpy(np.ascontiguousarray(test_v, dtype=np.float32)).to(device)
        # fixed monitoring sets: 200 training and 200 test images, evenly spaced over the (label-sorted)
        # sets, the training ones binarized once with their own seed
        pick = lambda n: np.linspace(0, n - 1, min(200, n)).astype(np.int64)  # noqa: E731
        train_monitor = train_v[pick(len(train_v))]
        if not self.gaussian:
            train_monitor = np.random.default_rng(seed + 4).random(train_monitor.shape) < train_monitor
        self.monitor_sets = (torch.from_numpy(np.ascontiguousarray(train_monitor, dtype=np.float32)).to(device),
                             self.test_v[torch.from_numpy(pick(len(test_v))).to(device)])
        self.model = DBM(self.n_visible, cfg.layers, self.gaussian, self.generator, device)
        sizes = self.model.sizes
        self.up_bias = [torch.zeros(n, device=device) for n in sizes[1:]]
        self.down_bias = [torch.zeros(n, device=device) for n in sizes[:-1]]
        self.down_bias[0].copy_(self.b_base)
        compose_biases(self.model, self.up_bias, self.down_bias)
        self.batches = BatchSampler(np.ascontiguousarray(train_v, dtype=np.float32), device, self.rng)
        self.velocity: dict[str, torch.Tensor] = {}
        self.velocity_phase = -1
        self.particles: list[torch.Tensor] = []    # made when joint training starts
        # Display state (never touches the training generators): shown chains, their history, the
        # fixed images of the samples / fill-in / reconstruction pictures.
        self.display_generator = torch.Generator(device=device).manual_seed(seed + 2)
        shown = np.random.default_rng(seed + 1)
        self.sample_index = shown.choice(len(data.train), size=min(16, len(data.train)), replace=False)
        self._chain_states: list[torch.Tensor] | None = None    # started at the first frame (see chain_states)
        self.chain_mean: torch.Tensor | None = None              # their last E[v | h¹]
        self.shown = ShownChains(cfg.chains, len(self.test_v), self.display_generator)

    # ------------------------------------------------------------------------------ helpers
    @property
    def depth(self) -> int:
        return self.model.depth

    def phase_index(self) -> int:
        """0..L−1: pretraining that layer's RBM; L: joint training."""
        if self.config.pretrain_steps == 0:
            return self.depth
        return min(self.step // self.config.pretrain_steps, self.depth)

    def phase_text(self) -> str:
        phase = self.phase_index()
        if phase < self.depth:
            done = self.step - phase * self.config.pretrain_steps
            return f"pretraining layer {phase + 1} of {self.depth} ({done:,}/{self.config.pretrain_steps:,})"
        return "joint training"

    @property
    def chain_states(self) -> list[torch.Tensor]:
        """The shown chains' states [v, h¹, …]. They start from test images spread over the test
        set (it is sorted by label), hidden states sampled from mean-field under the model in force
        when they are first shown (a display copy is built untrained, then receives the weights)."""
        if self._chain_states is None:
            count, n = self.config.chains, len(self.test_v)
            start = self.test_v[(torch.arange(count, device=self.device) * max(1, n // count)) % n]
            self._chain_states = self._states_from(start, self.display_generator)
            self.chain_mean = start.clone()
        return self._chain_states

    @chain_states.setter
    def chain_states(self, states: list[torch.Tensor]) -> None:
        self._chain_states = states

    def _states_from(self, v: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        """Chain states started at visible ``v``: hidden layers sampled from mean-field q(h|v)."""
        mus, _ = self.model.mean_field(v, self.config.mean_field_steps)
        return [v.clone()] + [bernoulli(mu, generator) for mu in mus]

    def joint_lr(self) -> float:
        """``lr · τ / (τ + t)``, t = joint updates made so far (a Robbins-Monro schedule: persistent
        chains need a learning rate that goes to 0, as in the DBM paper)."""
        cfg = self.config
        if cfg.lr_decay == 0:
            return cfg.lr
        joint = max(0, self.step - self.depth * cfg.pretrain_steps)
        return cfg.lr * cfg.lr_decay / (cfg.lr_decay + joint)

    def _batch(self) -> torch.Tensor:
        batch = self.batches.next(self.config.batch_size)
        return batch if self.gaussian else bernoulli(batch, self.generator)

    def to_pixels(self, v: torch.Tensor) -> np.ndarray:
        """Visible values -> images in [0, 1] (Gaussian units are de-standardized and clipped)."""
        if self.gaussian:
            v = (v * self.pixel_scale + self.pixel_mean).clamp(0, 1)
        return image_array(v, self.data.shape)

    def _apply(self, grads: dict, params: dict[str, torch.Tensor], lr: float) -> None:
        """``velocity ← momentum·velocity + grad (− decay·W)``, ``param ← param + lr·velocity``; the
        first layer's weights and the visible biases take ``first_layer_lr_scale`` with Gaussian
        visible units. A weight gradient is given as products ``[(A, B, α), …]`` meaning
        ``Σ α AᵀB``. Under torchrun the gradients (data term minus model term) are averaged over
        the ranks first."""
        cfg = self.config
        grads = {key: product_sum(grad) if isinstance(grad, list) else grad for key, grad in grads.items()}
        distributed.average(grads.values())
        for key, grad in grads.items():
            p = params[key]
            vel = self.velocity.setdefault(key, torch.zeros_like(p))
            vel.mul_(cfg.momentum).add_(grad)
            if key.startswith("W"):
                vel.add_(p, alpha=-cfg.weight_decay)
            first = key in ("W0", "e0", "b")
            p.add_(vel, alpha=lr * (cfg.first_layer_lr_scale if first and self.gaussian else 1.0))
            p.grad = grad             # what the weights-and-gradients view shows as the gradient

    # ------------------------------------------------------------------------------ training
    def train_step(self) -> dict[str, float]:
        phase = self.phase_index()
        if phase != self.velocity_phase:
            self.velocity = {}
            self.velocity_phase = phase
            if phase == self.depth:   # joint training starts: particles from data under the composed DBM
                v = self.batches.next(self.config.particles)
                self.particles = self._states_from(v if self.gaussian else bernoulli(v, self.generator),
                                                   self.generator)
        out = self._pretrain_step(phase) if phase < self.depth else self._joint_step()
        self.step += 1
        out["phase"] = float(phase + 1)
        return out

    def _pretrain_step(self, layer: int) -> dict[str, float]:
        """CD-1 on RBM ``layer``: data = the layer below's up-probabilities through the trained RBMs."""
        m = self.model
        x0 = self._batch()
        for below in range(layer):
            x0 = rbm_up(m, below, x0, self.up_bias[below])
        h0 = rbm_up(m, layer, x0, self.up_bias[layer])
        x1 = rbm_down(m, layer, bernoulli(h0, self.generator), self.down_bias[layer])
        h1 = rbm_up(m, layer, x1, self.up_bias[layer])
        n = len(x0)
        grads = {f"W{layer}": [(x0, h0, 1 / n), (x1, h1, -1 / n)], f"a{layer}": (h0 - h1).mean(0),
                 f"e{layer}": (x0 - x1).mean(0)}
        params = {f"W{layer}": m.W[layer], f"a{layer}": self.up_bias[layer], f"e{layer}": self.down_bias[layer]}
        self._apply(grads, params, self.config.pretrain_lr)
        compose_biases(m, self.up_bias, self.down_bias)
        return {f"pretrain_recon_l{layer + 1}": float(((x0 - x1) ** 2).sum(1).mean())}

    def _joint_step(self) -> dict[str, float]:
        """Mean-field data term, persistent-chain model term, one update of every parameter."""
        cfg, m = self.config, self.model
        v = self._batch()
        mus, _ = m.mean_field(v, cfg.mean_field_steps)
        self.particles, _ = m.gibbs(self.particles, cfg.gibbs_steps, self.generator)
        data, model = [v, *mus], self.particles
        n, k = len(v), len(model[0])
        grads = {"b": v.mean(0) - model[0].mean(0)}
        params = {"b": m.b}
        for layer in range(self.depth):
            grads[f"W{layer}"] = [(data[layer], data[layer + 1], 1 / n), (model[layer], model[layer + 1], -1 / k)]
            grads[f"c{layer + 1}"] = data[layer + 1].mean(0) - model[layer + 1].mean(0)
            params[f"W{layer}"], params[f"c{layer + 1}"] = m.W[layer], m.c[layer]
        self._apply(grads, params, self.joint_lr())
        out = {"recon_error": float(((v - m.visible_mean(mus[0])) ** 2).sum(1).mean()), "lr": self.joint_lr()}
        for layer in range(1, self.depth + 1):
            out[f"h{layer}_data"] = float(mus[layer - 1].mean())
            out[f"h{layer}_model"] = float(model[layer].float().mean())
        return out

    @torch.no_grad()
    def monitor(self) -> dict[str, float]:
        """In joint training: the gap between the variational free energies (the bound without
        log Z) of 200 fixed training and 200 fixed test images; it grows as the model overfits."""
        if self.phase_index() < self.depth:
            return {}
        cfg = self.config
        f = [float(self.model.variational_free_energy(x, self.model.mean_field(x, cfg.mean_field_steps)[0]).mean())
             for x in self.monitor_sets]
        return {"variational_gap": f[0] - f[1]}

    # ------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def frames(self, wanted=None):
        frames = []
        if wants(wanted, "chains", "chain_history"):
            frames += self._chain_frames()
        if wants(wanted, "samples"):
            frames.append(ImageGrid("samples", self.step, self.samples_picture(), columns=9, reflow=False))
        if wants(wanted, "fill_in"):
            count = min(8, len(self.test_v))
            frames.append(ImageGrid("fill_in", self.step, self.fill_in(count), columns=count, reflow=False))
        if wants(wanted, "filters"):
            frames.append(ImageGrid("filters", self.step, self.filter_images(self.model.W[0], 64)))
        if wants(wanted, "filters2"):
            frames.append(ImageGrid("filters2", self.step, self.filter_images(self.model.W[0] @ self.model.W[1], 64)))
        if wants(wanted, "reconstructions"):
            frames.append(ImageGrid("reconstructions", self.step, self.reconstructions(12), columns=12, reflow=False))
        return frames

    def _chain_frames(self) -> list:
        cfg = self.config
        every = max(1, cfg.history_every)
        self.shown.advance(cfg.gibbs_per_frame, every, self._sweep_shown_chains,
                           lambda count: self.to_pixels(self.chain_mean[:count]))
        hidden = torch.cat(self.chain_states[1:], 1).cpu().numpy().astype(np.uint8)
        return [LayerChains("chains", self.step, self.to_pixels(self.chain_mean), hidden,
                            np.array(self.model.sizes[1:]), self.shown.steps.copy(), self.phase_text()),
                *self.shown.history_frames(self.step, every)]

    def _sweep_shown_chains(self) -> None:
        self.chain_states, self.chain_mean = self.model.gibbs(self.chain_states, 1, self.display_generator)

    def samples_picture(self) -> np.ndarray:
        """Rows of four training images, a blank, four generated images: the model's samples are
        the persistent particles' ``E[v | h¹]`` once joint training runs, the shown chains' before."""
        train = self.data.train[self.sample_index]
        train = train[:, 0] if train.shape[1] == 1 else train.transpose(0, 2, 3, 1)
        source = self.particles[1] if self.particles else self.chain_states[1]
        generated = self.to_pixels(self.model.visible_mean(source.float()))
        count = min(len(train), len(generated))
        rows = -(-count // 4)
        blank = np.zeros_like(train[0])
        images = []
        for r in range(rows):
            left, right = list(train[4 * r:4 * r + 4]), list(generated[4 * r:4 * r + 4])
            images += left + [blank] * (4 - len(left)) + [blank] + right + [blank] * (4 - len(right))
        return np.stack(images).astype(np.float32)

    def fill_in(self, count: int) -> np.ndarray:
        """``count`` test images with their left half clamped and the right half free: rows are the
        image, the clamped input (free half grey), then the chain's picture after each of
        :data:`FILL_STEPS` Gibbs sweeps (clamped half as given, free half ``E[v | h¹]``). The
        chain uses a generator seeded afresh each time, so the picture changes only with the model."""
        generator = torch.Generator(device=self.device).manual_seed(self.seed + 5)
        index = torch.linspace(0, len(self.test_v) - 1, count, device=self.device).long()
        truth = self.test_v[index]
        c, h, w = self.data.shape
        clamp = torch.zeros(c, h, w, device=self.device)
        clamp[..., :w // 2] = 1
        clamp = clamp.reshape(1, -1).expand(count, -1)
        start = self.b_base if self.gaussian else torch.sigmoid(self.b_base)
        v = torch.where(clamp.bool(), truth, start.expand(count, -1))
        states = self._states_from(v, generator)
        pixels_truth = self.to_pixels(truth)
        grey = np.where(image_array(clamp, self.data.shape) > 0, pixels_truth, 0.5).astype(np.float32)
        rows, done = [pixels_truth, grey], 0
        for target in self.FILL_STEPS:
            states, mean = self.model.gibbs(states, target - done, generator, clamp=clamp)
            done = target
            rows.append(self.to_pixels(torch.where(clamp.bool(), truth, mean)))
        return np.concatenate(rows)

    def filter_images(self, weights: torch.Tensor, count: int) -> np.ndarray:
        """The first ``count`` columns of ``weights`` (visible × units) as images, each scaled to [0, 1]."""
        w = weights[:, :count].t()
        lo, hi = w.min(1, keepdim=True).values, w.max(1, keepdim=True).values
        return image_array((w - lo) / (hi - lo).clamp_min(1e-8), self.data.shape)

    def reconstructions(self, count: int) -> np.ndarray:
        """Test images (first row), then ``E[v | ·]`` reconstructed from the mean-field means of
        layer 1, 2 (and 3): a higher layer's means go down with doubled weights (the missing
        bottom-up half of each layer's input, as in pretraining) to h¹, then to v."""
        m = self.model
        v = self.test_v[torch.linspace(0, len(self.test_v) - 1, count, device=self.device).long()]
        mus, _ = m.mean_field(v, self.config.mean_field_steps)
        rows = [self.to_pixels(v)]
        for top in range(1, self.depth + 1):
            h = mus[top - 1]
            for layer in range(top - 1, 0, -1):
                h = torch.sigmoid(torch.addmm(m.c[layer - 1], h, m.W[layer].t(), alpha=2.0))
            rows.append(self.to_pixels(m.visible_mean(h)))
        return np.concatenate(rows)

    def restart_chain(self, index: int, test_index: int | None = None) -> int:
        """Restart shown chain ``index`` from a test image (random unless given); returns which."""
        test_index = self.shown.restart(index, test_index)
        fresh = self._states_from(self.test_v[test_index:test_index + 1], self.display_generator)
        for layer, state in enumerate(fresh):
            self.chain_states[layer][index] = state[0]
        self.chain_mean[index] = self.test_v[test_index]
        return test_index

    # ------------------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> dict:
        """The variational lower bound ``Σ_h q log p* + H(q) − log Z`` averaged over (up to
        ``eval_images``) test images, q from mean-field run to a fixed point, with two estimates
        of log Z (:mod:`engines.boltzmann.ais`): *optimistic* with forward AIS's (too small when
        AIS has not converged), *conservative* with reverse AIS's, run from ``ais_runs`` of those
        images with h² drawn from q. For Gaussian units the bounds are log-densities of the
        standardized pixels; the ``_pixels`` ones are the same densities for pixels in [0, 1]
        units (``− D log s``)."""
        cfg = self.config
        count = min(cfg.eval_images, len(self.test_v))
        v = self.test_v[torch.linspace(0, len(self.test_v) - 1, count, device=self.device).long()]
        mus, _ = self.model.mean_field(v, 200, tol=1e-5)
        free = float(self.model.variational_free_energy(v, mus).double().mean())
        generator = torch.Generator(device=self.device).manual_seed(self.seed + 3)
        pick = torch.linspace(0, count - 1, min(cfg.ais_runs, count), device=self.device).long()
        start = [v[pick]] + [bernoulli(mu[pick], generator) if layer % 2 == 0 else torch.zeros_like(mu[pick])
                             for layer, mu in enumerate(mus, 1)]
        path = DBMPath(self.model, self.b_base, self.base_hidden_biases())
        z = bounded_log_z(path, path.state(start), cfg.ais_runs, cfg.ais_temperatures, cfg.ais_max_temperatures,
                          cfg.ais_tolerance, generator)
        optimistic, conservative = free - z.forward["log_z"], free - z.reverse["log_z"]
        out = {"log_likelihood_lower_bound": optimistic, "log_likelihood_optimistic": optimistic,
               "log_likelihood_conservative": conservative, **z.fields(), "ais_runs": cfg.ais_runs,
               "eval_images": count}
        if self.gaussian:
            shift = self.n_visible * math.log(self.pixel_scale)
            out["log_likelihood_lower_bound_pixels"] = optimistic - shift
            out["log_likelihood_conservative_pixels"] = conservative - shift
        else:
            out["base_rate_log_likelihood"] = float((v @ self.b_base).double().mean()) - \
                float(torch.nn.functional.softplus(self.b_base).sum())
        return out

    def base_hidden_biases(self) -> list[torch.Tensor]:
        """AIS's base model's hidden biases: the logit of each hidden unit's mean mean-field
        activation on training images (:func:`engines.boltzmann.ais.base_rate_images`; standardized
        for Gaussian units)."""
        v = base_rate_images(self.data.train, not self.gaussian, self.seed + 5, self.device)
        if self.gaussian:
            v = (v - self.pixel_mean.to(v.dtype)) / self.pixel_scale
        mus, _ = self.model.mean_field(v, 200, tol=1e-5)
        return hidden_base_rates(mus)

    metric_notes = staticmethod(ais_notes)

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**self.base_state(), "model": self.model.state_dict(), "up_bias": self.up_bias,
                "down_bias": self.down_bias, "velocity": self.velocity, "velocity_phase": self.velocity_phase,
                "particles": self.particles, "batches": self.batches.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        # copies: the state's tensors may belong to another engine (updates here are in place)
        self.up_bias = [t.to(self.device, copy=True) for t in state["up_bias"]]
        self.down_bias = [t.to(self.device, copy=True) for t in state["down_bias"]]
        self.velocity = {k: t.to(self.device, copy=True) for k, t in state["velocity"].items()}
        self.velocity_phase = int(state["velocity_phase"])
        self.particles = [t.to(self.device, copy=True) for t in state["particles"]]
        self.batches.load_state_dict(state["batches"])
        self.load_base_state(state)

    def picture_state(self) -> dict:
        """The weights, the pretraining biases and the persistent particles (the generated
        samples); not the velocities nor the batch order."""
        return {"step": self.step, "model": self.model.state_dict(), "up_bias": self.up_bias,
                "down_bias": self.down_bias, "particles": self.particles}

    def load_picture_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])      # copies into the parameters
        self.up_bias = [t.to(self.device, copy=True) for t in state["up_bias"]]
        self.down_bias = [t.to(self.device, copy=True) for t in state["down_bias"]]
        self.particles = [t.to(self.device, copy=True) for t in state["particles"]]
        self.step = int(state["step"])
