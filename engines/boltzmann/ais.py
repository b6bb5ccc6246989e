"""Annealed importance sampling of Boltzmann machines' partition functions, in both directions.

**The path** (Salakhutdinov & Murray 2008) runs from a base-rate model A (``W = 0``, every
layer's biases the logits of its units' mean activity on training images: ``b_A = logit(p̂)`` of
the pixel means, ``c_A,l`` of each hidden layer's activation probabilities) at β = 0 to the
model at β = 1 through ``E_β = (1−β) E_A + β E``, with some layers summed out analytically. For
an RBM, the hidden units summed out,

    log f_β(v) = (1−β) b_Aᵀv + β bᵀv + Σ_j softplus(β (c_j + W_jᵀv) + (1−β) c_A,j),

so ``log Z_A = Σ_i softplus(b_A,i) + Σ_j softplus(c_A,j)``; for a DBM see :class:`DBMPath`. A
base model whose hidden units are as sparse as the model's starts the chains where the model's
are (with hidden biases 0 the DBM's 1,000 h² units start at 1/2 against about 0.1 trained). ``T_β`` is one
Gibbs step of ``p_β`` (it leaves ``p_β`` invariant and is reversible).

**Forward AIS** starts ``x_0 ~ p_A`` and moves ``x_k = T_{β_k}(x_{k−1})``;

    log w = Σ_{k=1..K} [log f_{β_k}(x_{k−1}) − log f_{β_{k−1}}(x_{k−1})],   E[w] = Z / Z_A,

so ``log Ẑ = logmeanexp(log w) + log Z_A`` is a *stochastic lower bound* on log Z (Jensen): short
schedules give too small a log Z and so too *optimistic* a log-likelihood.

**Reverse AIS** (RAISE, Burda, Grosse & Salakhutdinov 2015; the reverse half of bidirectional
Monte Carlo, Grosse et al. 2015) starts at a point ``x_K`` (a test image, with its hidden layers
drawn from q(h|v) for a DBM) and walks back, ``x_{k−1} = T_{β_k}(x_k)``:

    log r = Σ_{k=1..K} [log f_{β_k}(x_{k−1}) − log f_{β_{k−1}}(x_{k−1})].

``f_{β=1}(x_K) / (Z_A · r)`` is an unbiased estimate of ``p_ann(x_K)``, the probability of ``x_K``
under the annealing process run forwards (which tends to the model as K grows), so
``log Ẑ_rev = log Z_A + mean(log r)`` over the start points is a stochastic *upper* bound on the
log Z that makes each start point's ``log p_ann`` exact, and the log-likelihood it gives is
*conservative* for ``p_ann``. From exact model samples it is an upper bound on the model's log Z
too; from test images it need not be: where a short schedule's ``p_ann`` puts more mass on test
images than the model does, the reverse end falls *below* the forward one (a reference-settings
RBM: by about 1 nat at 14,500 temperatures). So the two directions are two estimates that must
agree: :func:`bounded_log_z` doubles the schedule until they are within a tolerance, and the gap
between them is the estimate's honest error bar.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engines.core import distributed
from engines.core.engine import bernoulli


def base_rate_bias(train_v: torch.Tensor, pseudo_count: float = 5.0) -> torch.Tensor:
    """``logit(p̂)`` of each pixel's mean over the training set, smoothed toward 1/2 with pseudo-counts."""
    p = (train_v.sum(0) + pseudo_count) / (train_v.shape[0] + 2 * pseudo_count)
    return torch.log(p) - torch.log1p(-p)


def default_betas(count: int = 14_500) -> np.ndarray:
    """0→0.5 in steps of 1e-3, 0.5→0.9 in 1e-4, 0.9→1 in 1e-5: 14,500 intermediate temperatures
    (``count`` others keep the three segments' proportions 1 : 8 : 20)."""
    if count < 3:
        raise ValueError(f"AIS needs at least 3 temperatures, got {count}")
    n1 = max(1, round(count * 500 / 14_500))
    n2 = max(1, round(count * 4_000 / 14_500))
    n3 = max(1, count - n1 - n2)
    return np.concatenate([np.linspace(0, 0.5, n1 + 1)[:-1], np.linspace(0.5, 0.9, n2 + 1)[:-1],
                           np.linspace(0.9, 1.0, n3 + 1)])


# ---------------------------------------------------------------------------------- paths
@dataclass
class State:
    """A batch of chain states and what ``log f_β`` needs of them at every temperature, computed
    once per move: ``log f_β = (1−β) base + β model + Σ_l Σ_j softplus(β a_l,j + (1−β) c_A,l,j)``
    over the summed-out layers' inputs ``a_l`` and base-rate biases ``c_A,l``. ``layers`` and
    ``inputs`` (the a_l, for sampling) are in the model's precision; ``base``, ``model`` and
    ``summed`` (the a_l again) in the path's ``dtype``: the model's by default (float32
    increments moved a 3,000-step DBM's log Z by 0.001 nat from float64's at 14,500
    temperatures: ``benchmarks/ais_precision.py``)."""
    layers: list[torch.Tensor]
    inputs: dict[int, torch.Tensor]
    base: torch.Tensor
    model: torch.Tensor
    summed: list[torch.Tensor]
    summed_base: list[torch.Tensor]

    def rows(self, part: slice) -> "State":
        """The states ``part`` of the batch (the base-rate biases are shared)."""
        return State([x[part] for x in self.layers], {k: x[part] for k, x in self.inputs.items()},
                     self.base[part], self.model[part], [x[part] for x in self.summed], self.summed_base)


def log_f(beta: float, x: State) -> torch.Tensor:
    """``log f_β(x)`` per row (:class:`State`)."""
    out = (1 - beta) * x.base + beta * x.model
    for a, c_base in zip(x.summed, x.summed_base):
        out = out + F.softplus(beta * a + (1 - beta) * c_base).sum(1)
    return out


def hidden_base_rates(means: list[torch.Tensor], pseudo_count: float = 5.0) -> list[torch.Tensor]:
    """The base model's hidden biases: :func:`base_rate_bias` of each hidden layer's activation
    probabilities on training images (``means``: one (images × units) tensor per hidden layer)."""
    return [base_rate_bias(m, pseudo_count) for m in means]


def base_rate_images(train: np.ndarray, binary: bool, seed: int, device, count: int = 2_000) -> torch.Tensor:
    """The training images the hidden base rates are measured on: up to ``count`` of them, evenly
    spaced over the (label-sorted) set, flattened, and drawn as binary images with their own seed
    when the model's visible units are binary."""
    rows = train.reshape(len(train), -1)[np.linspace(0, len(train) - 1, min(count, len(train))).astype(np.int64)]
    v = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).to(device)
    return bernoulli(v, torch.Generator(device=device).manual_seed(seed)) if binary else v


class RBMPath:
    """The RBM's path over v (hidden units summed out): ``base = b_Aᵀv``, ``model = bᵀv``,
    ``a = c + vW``; ``T_β`` is v → h → v at β. ``c_base`` is the base model's hidden bias
    (zeros when not given)."""

    def __init__(self, model, b_base: torch.Tensor, c_base: torch.Tensor | None = None, dtype=None):
        self.W, self.b, self.c, self.b_base, self.dtype = model.W, model.b, model.c, b_base, dtype or model.W.dtype
        self.c_base = torch.zeros_like(self.c) if c_base is None else c_base
        self.log_z_base = float(F.softplus(b_base).sum()) + float(F.softplus(self.c_base).sum())

    def state(self, v: torch.Tensor) -> State:
        pre = torch.addmm(self.c, v, self.W)
        return State([v], {1: pre}, (v @ self.b_base).to(self.dtype), (v @ self.b).to(self.dtype),
                     [pre.to(self.dtype)], [self.c_base.to(self.dtype)])

    def base_sample(self, runs: int, generator) -> State:
        return self.state(bernoulli(torch.sigmoid(self.b_base).expand(runs, -1).contiguous(), generator))

    def step(self, beta: float, x: State, generator) -> State:
        h = bernoulli(torch.sigmoid(beta * x.inputs[1] + (1 - beta) * self.c_base), generator)
        mean = torch.sigmoid((1 - beta) * self.b_base + beta * torch.addmm(self.b, h, self.W.t()))
        return self.state(bernoulli(mean, generator))


class DBMPath:
    """A deep Boltzmann machine's path (:class:`engines.boltzmann.dbm_model.DBM`), with the odd layers
    (h¹, h³) summed out analytically and the chain over the even ones (v, h²). With
    ``a_l = x_{l−1}W_{l−1} + x_{l+1}W_lᵀ + c_l`` and the base model's hidden biases ``c_A,l``,

        log f_β(v, h²) = vis_β(v) + ((1−β) c_A,2 + β c_2)ᵀh² + Σ_{odd l} Σ_j softplus(β a_l,j + (1−β) c_A,l,j)

    where ``vis_β(v) = ((1−β) b_A + β b)ᵀv`` (Bernoulli) or ``−(1−β)‖v−b_A‖²/2 − β‖v−b‖²/2``
    (Gaussian), and ``log Z_A = Σ_i softplus(b_A,i)`` (or ``D/2 log 2π``) ``+ Σ_l Σ_j softplus(c_A,l,j)``.
    ``T_β`` is one Gibbs sweep of p_β: odd layers given the even ones, then the even ones.
    ``c_base`` (one tensor per hidden layer) is zeros when not given."""

    def __init__(self, dbm, b_base: torch.Tensor, c_base: list[torch.Tensor] | None = None, dtype=None):
        self.dbm, self.b_base, self.dtype = dbm, b_base, dtype or dbm.b.dtype
        self.c_base = [torch.zeros_like(c) for c in dbm.c] if c_base is None else list(c_base)
        self.odd, self.even_hidden = range(1, dbm.depth + 1, 2), range(2, dbm.depth + 1, 2)
        visible = len(b_base) / 2 * math.log(2 * math.pi) if dbm.gaussian else float(F.softplus(b_base).sum())
        self.log_z_base = visible + sum(float(F.softplus(c).sum()) for c in self.c_base)

    def state(self, layers: list[torch.Tensor]) -> State:
        dbm, depth, dtype = self.dbm, self.dbm.depth, self.dtype
        inputs = {l: dbm.hidden_input(l, layers[l - 1], layers[l + 1] if l < depth else None) for l in self.odd}
        v = layers[0]
        if dbm.gaussian:
            base = -0.5 * ((v - self.b_base) ** 2).sum(1).to(dtype)
            model = -0.5 * ((v - dbm.b) ** 2).sum(1).to(dtype)
        else:
            base, model = (v @ self.b_base).to(dtype), (v @ dbm.b).to(dtype)
        for l in self.even_hidden:
            base = base + (layers[l] @ self.c_base[l - 1]).to(dtype)
            model = model + (layers[l] @ dbm.c[l - 1]).to(dtype)
        return State(layers, inputs, base, model, [a.to(dtype) for a in inputs.values()],
                     [self.c_base[l - 1].to(dtype) for l in self.odd])

    def _visible(self, pre: torch.Tensor, generator) -> torch.Tensor:
        """v drawn given its total input ``pre``: N(pre, 1), or Bernoulli(σ(pre))."""
        return self.dbm.sample_visible(pre if self.dbm.gaussian else torch.sigmoid(pre), generator)

    def base_sample(self, runs: int, generator) -> State:
        layers = [self._visible(self.b_base.expand(runs, -1).contiguous(), generator)]
        layers += [bernoulli(torch.sigmoid(c).expand(runs, -1).contiguous(), generator) if l % 2 == 0
                   else torch.zeros(runs, len(c), device=c.device) for l, c in enumerate(self.c_base, 1)]
        return self.state(layers)

    def step(self, beta: float, x: State, generator) -> State:
        layers, dbm, depth, c_base = list(x.layers), self.dbm, self.dbm.depth, self.c_base
        for l in self.odd:
            layers[l] = bernoulli(torch.sigmoid(beta * x.inputs[l] + (1 - beta) * c_base[l - 1]), generator)
        layers[0] = self._visible((1 - beta) * self.b_base + beta * torch.addmm(dbm.b, layers[1], dbm.W[0].t()),
                                  generator)
        for l in self.even_hidden:
            above = layers[l + 1] if l < depth else None
            pre = beta * dbm.hidden_input(l, layers[l - 1], above) + (1 - beta) * c_base[l - 1]
            layers[l] = bernoulli(torch.sigmoid(pre), generator)
        return self.state(layers)


# ---------------------------------------------------------------------------------- directions
def forward_log_weights(path, runs: int, betas: np.ndarray, generator) -> torch.Tensor:
    """``log w`` of ``runs`` forward runs (module docstring): ``E[w] = Z / Z_A``."""
    x = path.base_sample(runs, generator)
    log_w = torch.zeros(runs, dtype=torch.float64, device=path.b_base.device)
    for k in range(1, len(betas)):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        log_w += (log_f(beta, x) - log_f(beta_prev, x)).double()
        if k < len(betas) - 1:
            x = path.step(beta, x, generator)
    return log_w


def reverse_log_weights(path, start, betas: np.ndarray, generator) -> torch.Tensor:
    """``log r`` of one reverse run from each start state (module docstring)."""
    x, log_r = start, 0.0
    for k in range(len(betas) - 1, 0, -1):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        x = path.step(beta, x, generator)
        log_r = log_r + (log_f(beta, x) - log_f(beta_prev, x)).double()
    return log_r


def log_z_summary(log_w: torch.Tensor, log_z_base: float) -> dict[str, float]:
    """``log Z = logmeanexp(log w) + log Z_A`` from the forward runs' log importance weights, its
    standard deviation (delta method: std(w) / (mean(w) √runs)) and the ±3σ bounds of the estimate."""
    runs = len(log_w)
    log_mean_w = float(torch.logsumexp(log_w, 0)) - math.log(runs)
    w = torch.exp(log_w - log_w.max())
    rel = float(w.std(unbiased=True) / w.mean()) / math.sqrt(runs) if runs > 1 else float("inf")
    log_z = log_mean_w + log_z_base
    return {"log_z": log_z, "log_z_std": rel, "log_z_base": log_z_base,
            "log_z_upper": log_z + math.log1p(3 * rel),
            "log_z_lower": log_z + math.log(max(1e-300, 1 - 3 * rel)) if 3 * rel < 1 else float("-inf")}


def ais_log_z(path, runs: int = 100, betas: np.ndarray | None = None, generator=None) -> dict[str, float]:
    """Forward AIS estimate of ``log Z`` along ``path`` (:func:`log_z_summary`). Under torchrun
    each rank makes its share of the runs and every rank gets all the weights."""
    betas = default_betas() if betas is None else betas
    mine = distributed.share(runs)
    log_w = distributed.gather(forward_log_weights(path, mine.stop - mine.start, betas, generator))
    return log_z_summary(log_w, path.log_z_base)


def reverse_log_z(path, start, betas: np.ndarray | None = None, generator=None) -> dict[str, float]:
    """Reverse AIS: ``log Ẑ_rev = log Z_A + mean(log r)`` over the start states, and the standard
    error of that mean."""
    betas = default_betas() if betas is None else betas
    log_r = distributed.gather(reverse_log_weights(path, start.rows(distributed.share(len(start.base))), betas,
                                                   generator))
    std = float(log_r.std(unbiased=True)) / math.sqrt(len(log_r)) if len(log_r) > 1 else float("inf")
    return {"log_z": float(log_r.mean()) + path.log_z_base, "log_z_std": std}


@dataclass
class BoundedLogZ:
    """Forward and reverse log Z at the schedule where AIS converged (or the longest one tried)."""

    forward: dict
    reverse: dict
    temperatures: int
    converged: bool
    tolerance: float
    seconds: float
    schedule: list[tuple[int, float, float]]   # (temperatures, forward log Z, reverse log Z) as tried

    @property
    def gap(self) -> float:
        """Reverse minus forward log Z: positive when the two ends bracket log Z."""
        return self.reverse["log_z"] - self.forward["log_z"]

    @property
    def forward_moved(self) -> float | None:
        """How far forward log Z moved from the schedule before the last (None after one)."""
        return abs(self.schedule[-1][1] - self.schedule[-2][1]) if len(self.schedule) > 1 else None

    def fields(self) -> dict:
        """The ``eval --json`` fields shared by the RBM and the DBM."""
        out = {"log_z": self.forward["log_z"], "log_z_std": self.forward["log_z_std"],
               "log_z_lower": self.forward["log_z_lower"], "log_z_upper": self.forward["log_z_upper"],
               "log_z_reverse": self.reverse["log_z"], "log_z_reverse_std": self.reverse["log_z_std"],
               "ais_gap": self.gap, "ais_converged": self.converged, "ais_tolerance": self.tolerance,
               "ais_temperatures": self.temperatures, "ais_seconds": self.seconds,
               "ais_schedule": [list(row) for row in self.schedule]}
        if self.forward_moved is not None:
            out["ais_forward_moved"] = self.forward_moved
        return out


def bounded_log_z(path, start, runs: int, temperatures: int, max_temperatures: int, tolerance: float,
                  generator) -> BoundedLogZ:
    """Forward AIS (``runs`` runs) and reverse AIS (one run from each start state) at
    ``temperatures``, doubled until AIS has converged or the next schedule would pass
    ``max_temperatures``. Converged: the two ends are within ``tolerance`` nats of each other
    (on either side: from test images the reverse end may fall below the forward one, module
    docstring). How far forward log Z moved as the temperatures doubled is reported beside it,
    not used: a forward estimate whose chains are stuck moves little too. Under torchrun the runs
    are shared among the ranks, each drawing from its own generator (seeded from ``generator``'s
    seed and its rank), and combined: every rank returns the same figures."""
    began = time.perf_counter()
    generator = distributed.rank_generator(generator)
    schedule = []
    count = temperatures
    while True:
        betas = default_betas(count)
        forward = ais_log_z(path, runs, betas, generator)
        reverse = reverse_log_z(path, start, betas, generator)
        schedule.append((count, forward["log_z"], reverse["log_z"]))
        converged = abs(reverse["log_z"] - forward["log_z"]) <= tolerance
        if converged or 2 * count > max_temperatures:
            return BoundedLogZ(forward, reverse, count, converged, tolerance, time.perf_counter() - began, schedule)
        count *= 2


# ---------------------------------------------------------------------------------- the RBM's figure
@torch.no_grad()
def ais_log_likelihood(model, b_base: torch.Tensor, test_v: torch.Tensor, runs: int = 100,
                       temperatures: int = 14_500, max_temperatures: int = 14_500, tolerance: float = 1.0,
                       generator=None, c_base: torch.Tensor | None = None) -> dict:
    """Average test ``log p(v) = −F(v) − log Z`` in nats between two ends: *optimistic* with the
    forward log Z, *conservative* with the reverse one (RAISE: reverse runs from ``runs`` test
    images, evenly spaced), each over every test image; ``ais_converged`` as :func:`bounded_log_z`
    has it; ``c_base`` is the base model's hidden bias (:class:`RBMPath`). The base-rate model's
    visible ``log p_A(v) = b_Aᵀv − Σ_i softplus(b_A,i)`` is beside them."""
    path = RBMPath(model, b_base, c_base)
    starts = test_v[torch.linspace(0, len(test_v) - 1, min(runs, len(test_v)), device=test_v.device).long()]
    z = bounded_log_z(path, path.state(starts), runs, temperatures, max_temperatures, tolerance, generator)
    mean_neg_f = float(-model.free_energy(test_v).double().mean())
    base = float((test_v @ b_base).double().mean()) - float(F.softplus(b_base).sum())
    optimistic, conservative = mean_neg_f - z.forward["log_z"], mean_neg_f - z.reverse["log_z"]
    return {"ais_log_likelihood": optimistic, "ais_log_likelihood_std": z.forward["log_z_std"],
            "log_likelihood_optimistic": optimistic, "log_likelihood_conservative": conservative,
            "base_rate_log_likelihood": base, **z.fields(), "ais_runs": runs}


def interval_text(metrics: dict) -> str:
    """One line for a person about an eval with both AIS ends (lowest first: ends that met may
    cross): ``log-likelihood in [−95.10, −94.62] nats (AIS converged: the ends are 0.48 nats
    apart at 29,000 temperatures)``, or, when they did not meet, that the figure is no bound."""
    low, high = sorted((metrics["log_likelihood_conservative"], metrics["log_likelihood_optimistic"]))
    crossed = ", crossed" if metrics["ais_gap"] < 0 else ""
    apart = (f"the ends are {abs(metrics['ais_gap']):.2f} nats apart{crossed} at "
             f"{metrics['ais_temperatures']:,} temperatures")
    if metrics["ais_converged"]:
        return f"log-likelihood in [{low:.2f}, {high:.2f}] nats (AIS converged: {apart})"
    return f"log-likelihood in [{low:.2f}, {high:.2f}] nats, AIS NOT converged: {apart}, so {high:.2f} is no bound"


def ais_notes(metrics: dict) -> list[str]:
    """:meth:`engines.core.engine.Engine.metric_notes` of the RBM and the DBM."""
    return [interval_text(metrics)] if "ais_converged" in metrics else []
