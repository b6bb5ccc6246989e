"""The training core every GAN engine shares: two players per *duel*, their optimisers, the three
objectives, the live controls of each player and one-player steps.

One training step (``train_step``) is, for every duel (one for ``gan``/``dcgan``/``gan2d``, one per
pyramid level for ``lapgan``):

1. ``d_steps`` times: a real batch ``x`` and noise ``z``; one Adam step of D on
   ``L_D(D(x), D(G(z)))`` (G's output detached);
2. one Adam step of G on ``L_G(D(G(z)))`` with D's parameters frozen (no gradient is computed for
   them). G reuses the ``G(z)`` of the last D step, as pytorch/examples' DCGAN does, so a step
   runs the generator forward once.

Under torchrun each player is wrapped on its own (:func:`~engines.core.distributed.data_parallel`):
D's step runs D through its wrapper (its gradients averaged over the ranks), G's step runs G through
its wrapper and D directly (D's frozen pass adds nothing to average). Batch norm normalises each
rank's own batch, as a single process with that batch size does.

The losses are in :mod:`engines.gan.model`. Each player's learning rate and Adam betas are live
config fields: a change reaches the optimisers' ``param_groups`` before the next update.
``step_discriminator()`` / ``step_generator()`` are training-process actions: exactly one update
of one player; the other player's parameters, batchnorm statistics and optimiser are untouched.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from engines.core.distributed import data_parallel
from engines.core.engine import Engine
from engines.gan.model import d_output, discriminator_loss, generator_loss
from engines.gan.spec import GANConfig



class Duel:
    """A generator ``g`` and a discriminator ``d`` (either may take a conditioning input), their
    Adam optimisers, the shape of one noise sample and the prefix of their scalars. ``training``
    passes go through each player's :func:`~engines.core.distributed.data_parallel` wrapper."""

    def __init__(self, g: nn.Module, d: nn.Module, z_shape: tuple[int, ...], config: GANConfig, prefix: str = ""):
        self.g, self.d, self.z_shape, self.prefix = g, d, tuple(z_shape), prefix
        self.opt_g = adam(g, config.lr_g, (config.beta1_g, config.beta2_g))
        self.opt_d = adam(d, config.lr_d, (config.beta1_d, config.beta2_d))
        self.train_g, self.train_d = data_parallel(g), data_parallel(d)

    def generate(self, z: torch.Tensor, cond: torch.Tensor | None, training: bool = False) -> torch.Tensor:
        g = self.train_g if training else self.g
        return g(z) if cond is None else g(z, cond)

    def score(self, x: torch.Tensor, cond: torch.Tensor | None, training: bool = False) -> torch.Tensor:
        d = self.train_d if training else self.d
        return d(x) if cond is None else d(x, cond)


def adam(module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam over ``module``'s parameters, fused into one kernel where this torch has it (CUDA;
    the CPU from torch 2.4)."""
    params = list(module.parameters())
    if params[0].device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except RuntimeError:   # an older torch without the fused CPU kernel
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas)


@contextlib.contextmanager
def kept_buffers(module: nn.Module):
    """Run a block that forwards ``module`` in training mode without keeping what it does to the
    module's buffers (batchnorm running statistics): a one-player step leaves the other alone."""
    saved = [b.detach().clone() for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in zip(module.buffers(), saved):
                b.copy_(s)


@contextlib.contextmanager
def evaluating(*modules: nn.Module):
    """Eval mode (batchnorm running statistics, no dropout) for a block, training mode after."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


class GANEngine(Engine):
    """Base of the GAN engines. Subclasses build their duels (:meth:`build_duels`) and give real
    batches (:meth:`real_batches`); this class trains them."""

    amp_dtype: torch.dtype | None = None    # autocast dtype on CUDA (DCGAN's mixed_precision)
    runs_under_torchrun = True

    def __init__(self, config, data, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        self.duels: list[Duel] = self.build_duels()
        self.d_updates = 0
        self.g_updates = 0
        self._applied: tuple | None = self._player_settings()

    def parameter_modules(self) -> dict[str, nn.Module]:
        """Each duel's players, as ``G`` and ``D`` (LAPGAN's levels ``l1.G``, ``l1.D``, …)."""
        return {f"{duel.prefix.replace('/', '.')}{player}": module for duel in self.duels
                for player, module in (("G", duel.g), ("D", duel.d))}

    # ------------------------------------------------------------------------------ hooks
    def build_duels(self) -> list[Duel]:
        raise NotImplementedError

    def real_batches(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """One real batch per duel: ``(x, condition or None)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------ noise
    def noise(self, duel: Duel, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` noise samples for ``duel``: N(0, I) or U(−1, 1) per the ``noise`` field."""
        shape = (n, *duel.z_shape)
        if self.config.noise == "uniform":
            return torch.rand(shape, generator=generator, device=self.device).mul_(2).sub_(1)
        return torch.randn(shape, generator=generator, device=self.device)

    def noise_batch(self, n: int, generator: torch.Generator) -> list[torch.Tensor]:
        """Noise for every duel (a full sample needs all of them)."""
        return [self.noise(duel, n, generator) for duel in self.duels]

    # ------------------------------------------------------------------------------ settings
    def _player_settings(self) -> tuple:
        c = self.config
        return (c.lr_d, (c.beta1_d, c.beta2_d), c.lr_g, (c.beta1_g, c.beta2_g))

    def _apply_settings(self) -> None:
        """Bring the optimisers' learning rates and betas in line with the live config (only
        when they changed since the last update, or since a state was loaded)."""
        settings = self._player_settings()
        if settings == self._applied:
            return
        lr_d, betas_d, lr_g, betas_g = settings
        for duel in self.duels:
            for opt, lr, betas in ((duel.opt_d, lr_d, betas_d), (duel.opt_g, lr_g, betas_g)):
                for group in opt.param_groups:
                    group["lr"], group["betas"] = lr, betas
        self._applied = settings

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ------------------------------------------------------------------------------ updates
    def _update_d(self, duel: Duel, x: torch.Tensor, cond, keep_fake: bool):
        """One Adam step of D; returns (scalars, G(z) with its graph when ``keep_fake``)."""
        kind = self.config.loss
        z = self.noise(duel, x.shape[0], self.generator)
        with self._autocast():
            if keep_fake:
                fake = duel.generate(z, cond, training=True)
            else:
                with torch.no_grad():
                    fake = duel.generate(z, cond)
            real_logits = duel.score(x, cond, training=True).float()
            fake_logits = duel.score(fake.detach(), cond, training=True).float()
        loss = discriminator_loss(kind, real_logits, fake_logits)
        duel.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.get_total_norm([p.grad for p in duel.d.parameters() if p.grad is not None])
        duel.opt_d.step()
        stats = {"d_loss": loss.detach(), "d_real": d_output(kind, real_logits.detach()).mean(),
                 "d_fake": d_output(kind, fake_logits.detach()).mean(), "grad_norm_d": norm}
        return stats, (fake if keep_fake else None)

    def _update_g(self, duel: Duel, fake: torch.Tensor, cond) -> dict[str, torch.Tensor]:
        """One Adam step of G on ``L_G(D(fake))``; D's parameters get no gradient."""
        duel.d.requires_grad_(False)
        try:
            with self._autocast():
                logits = duel.score(fake, cond).float()
            loss = generator_loss(self.config.loss, logits)
            duel.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            duel.d.requires_grad_(True)
        norm = torch.nn.utils.get_total_norm([p.grad for p in duel.g.parameters() if p.grad is not None])
        duel.opt_g.step()
        return {"g_loss": loss.detach(), "grad_norm_g": norm}

    def _scalars(self, stats: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Per-duel tensors → floats with the duel's prefix, in one device→host copy."""
        names = [duel.prefix + key for duel, s in zip(self.duels, stats) for key in s]
        values = torch.stack([v.float() for s in stats for v in s.values()]).tolist()
        return dict(zip(names, values))

    def train_step(self) -> dict[str, float]:
        """``d_steps`` discriminator updates, then one generator update, for every duel."""
        self._apply_settings()
        d_steps = self.config.d_steps
        d_stats: list[dict] = []
        fakes: list = []
        for i in range(d_steps):
            last = i == d_steps - 1
            d_stats, fakes = [], []
            for duel, (x, cond) in zip(self.duels, self.real_batches(self.config.batch_size)):
                s, fake = self._update_d(duel, x, cond, keep_fake=last)
                d_stats.append(s)
                fakes.append((fake, cond))
        stats = [{**s, **self._update_g(duel, fake, cond)} for duel, s, (fake, cond) in zip(self.duels, d_stats, fakes)]
        self.d_updates += d_steps
        self.g_updates += 1
        self.step += 1
        return self._scalars(stats)

    # ------------------------------------------------------------------------------ actions
    def step_discriminator(self) -> dict[str, float]:
        """Action: one discriminator update of every duel and nothing else (G's parameters,
        batchnorm statistics and optimiser stay as they are; the step count does not move)."""
        self._apply_settings()
        stats = []
        for duel, (x, cond) in zip(self.duels, self.real_batches(self.config.batch_size)):
            with kept_buffers(duel.g):
                stats.append(self._update_d(duel, x, cond, keep_fake=False)[0])
        self.d_updates += 1
        return self._scalars(stats)

    def step_generator(self) -> dict[str, float]:
        """Action: one generator update of every duel on fresh noise and nothing else (D's
        parameters, batchnorm statistics and optimiser stay as they are)."""
        self._apply_settings()
        stats = []
        for duel, (x, cond) in zip(self.duels, self.real_batches(self.config.batch_size)):
            z = self.noise(duel, x.shape[0], self.generator)
            with self._autocast():
                fake = duel.generate(z, cond, training=True)
            with kept_buffers(duel.d):
                stats.append(self._update_g(duel, fake, cond))
        self.g_updates += 1
        return self._scalars(stats)

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**self.base_state(), "d_updates": self.d_updates, "g_updates": self.g_updates,
                "duels": [{"g": duel.g.state_dict(), "d": duel.d.state_dict(), "opt_g": duel.opt_g.state_dict(),
                           "opt_d": duel.opt_d.state_dict()} for duel in self.duels]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["duels"]) != len(self.duels):
            raise ValueError(f"checkpoint has {len(state['duels'])} generator/discriminator pairs, "
                             f"this engine {len(self.duels)}")
        for duel, saved in zip(self.duels, state["duels"]):
            duel.g.load_state_dict(saved["g"])
            duel.d.load_state_dict(saved["d"])
            duel.opt_g.load_state_dict(saved["opt_g"])
            duel.opt_d.load_state_dict(saved["opt_d"])
        self._applied = None      # the loaded param_groups carry the learning rates of their time
        self.d_updates = int(state["d_updates"])
        self.g_updates = int(state["g_updates"])
        self.load_base_state(state)

    # the display copy draws from the players' weights (each nn.Module's load copies into it)
    PICTURE_PLAYERS = ("g", "d")      # a family whose pictures need no discriminator drops "d"

    def picture_state(self) -> dict:
        return {"step": self.step, "d_updates": self.d_updates, "g_updates": self.g_updates,
                "duels": [{name: getattr(duel, name).state_dict() for name in self.PICTURE_PLAYERS}
                          for duel in self.duels]}

    def load_picture_state(self, state: dict) -> None:
        for duel, saved in zip(self.duels, state["duels"]):
            for name in self.PICTURE_PLAYERS:
                getattr(duel, name).load_state_dict(saved[name])
        self.step, self.d_updates, self.g_updates = (int(state[k]) for k in ("step", "d_updates", "g_updates"))
