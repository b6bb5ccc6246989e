"""What the Boltzmann machines are, without their engines (no torch): the RBM's and the DBM's
configs, views and specs (:mod:`engines.core.spec`). The engines are
:mod:`engines.boltzmann.rbm_engine` and :mod:`engines.boltzmann.dbm_engine`."""
from __future__ import annotations

from dataclasses import dataclass

from engines.boltzmann.frames import ChainHistory, ChainState, LayerChains
from engines.core.config import ConfigError, live, param
from engines.core.frames import ImageGrid
from engines.core.spec import ModelSpec
from engines.core.views import View


@dataclass
class AISSettings:
    """The AIS fields of a Boltzmann machine's config (:func:`bounded_log_z`)."""
    ais_runs: int = param(100, "AIS runs in each direction: forward from the base-rate model, reverse from "
                          "that many test images", low=2, high=100_000)
    ais_temperatures: int = param(14_500, "AIS temperatures to start from (the schedule keeps the 1:8:20 "
                                  "proportions of 14,500), doubled until AIS converges", low=10,
                                  high=10_000_000)
    ais_max_temperatures: int = param(58_000, "AIS stops doubling its temperatures past this (and reports "
                                      "that it did not converge)", low=10, high=10_000_000)
    ais_tolerance: float = param(1.0, "AIS has converged when its two ends (forward and reverse log Z) are "
                                 "this close, in nats", low=0, low_open=True, high=1000)


@dataclass
class RBMTraining:
    hidden: int = param(500, "hidden units", low=1, high=16384)
    method: str = param("pcd", "cd: chains start at the data; pcd: persistent chains", ("cd", "pcd"))
    k: int = live(5, "Gibbs steps per update", low=1, high=1000)
    lr: float = live(0.02, "learning rate", low=0, low_open=True, high=10)
    momentum: float = live(0.5, "momentum of the parameter updates", low=0, high=1, high_open=True)
    weight_decay: float = live(1e-4, "L2 penalty on W", low=0, high=1)
    batch_size: int = param(20, "images per update (PCD: also the number of persistent chains)", low=1, high=4096)
    chains: int = param(64, "Gibbs chains shown live (started from test digits)", low=1, high=1024)
    gibbs_per_frame: int = live(1, "Gibbs steps the shown chains take between two frames", low=1, high=1000)
    history_every: int = live(20, "Gibbs steps between two rows of the chain history", low=1, high=1_000_000)


@dataclass
class RBMConfig(AISSettings, RBMTraining):
    """The RBM's fields, then the AIS ones (dataclasses list the last base's fields first)."""


@dataclass
class DBMTraining:
    layers: tuple[int, ...] = param((500, 1000), "hidden units per layer, bottom to top: 2 or 3 layers "
                                    "(e.g. 500,1000 or 500,500,1000)", low=1, high=8192)
    visible: str = param("auto", "visible units: bernoulli (binary pixels), gaussian (standardized pixels, "
                         "sigma 1); auto: bernoulli for MNIST-like digits, gaussian otherwise",
                         ("auto", "bernoulli", "gaussian"))
    pretrain_steps: int = param(1000, "greedy pretraining updates per layer (0: train jointly from the start)",
                                low=0, high=10_000_000)
    pretrain_lr: float = live(0.05, "learning rate of the pretraining RBMs (CD-1)", low=0, low_open=True, high=10)
    lr: float = live(0.01, "learning rate of joint training (then decayed, see lr_decay)", low=0, low_open=True,
                     high=10)
    lr_decay: int = live(300, "joint training's learning rate is lr·τ/(τ + t) after t joint updates, τ = lr_decay "
                         "(0: constant)", low=0, high=10_000_000)
    first_layer_lr_scale: float = live(0.1, "factor on the first layer's learning rate with Gaussian visible units",
                                       low=0, low_open=True, high=1)
    momentum: float = live(0.5, "momentum of the parameter updates", low=0, high=1, high_open=True)
    weight_decay: float = live(2e-4, "L2 penalty on the weights", low=0, high=1)
    batch_size: int = param(100, "images per update", low=1, high=4096)
    particles: int = param(100, "persistent fantasy particles for the model term", low=1, high=4096)
    gibbs_steps: int = live(5, "Gibbs sweeps of the particles per joint update", low=1, high=1000)
    mean_field_steps: int = live(5, "mean-field sweeps for the data term", low=1, high=1000)
    chains: int = param(16, "Gibbs chains shown live (started from test images)", low=1, high=256)
    gibbs_per_frame: int = live(1, "Gibbs sweeps the shown chains make between two frames", low=1, high=1000)
    history_every: int = live(20, "Gibbs sweeps between two rows of the chain history", low=1, high=1_000_000)
    eval_images: int = param(2000, "test images the lower bound averages over (evenly spaced; all if fewer)",
                             low=1, high=1_000_000)

    def __post_init__(self):
        if not 2 <= len(self.layers) <= 3:
            raise ConfigError(f"layers must list 2 or 3 hidden layer sizes (e.g. 500,1000), got "
                              f"{','.join(map(str, self.layers))}")


@dataclass
class DBMConfig(AISSettings, DBMTraining):
    """The DBM's fields, then the AIS ones (dataclasses list the last base's fields first)."""


RBM_VIEWS = (
    View("chains", "Gibbs chains", kinds=(ChainState, ChainHistory), frames=("chains", "chain_history"),
         controls=("gibbs_per_frame",), calls=("restart_chain",), area="main", motion="sampling"),
    View("filters", "Filters (hidden units)", kinds=(ImageGrid,)),
    View("reconstructions", "Reconstructions", kinds=(ImageGrid,)),
)

DBM_VIEWS = (
    View("chains", "Gibbs chains, every layer", kinds=(LayerChains, ChainHistory),
         frames=("chains", "chain_history"), controls=("gibbs_per_frame",), calls=("restart_chain",),
         area="main", motion="sampling"),
    View("samples", "Training images | generated", kinds=(ImageGrid,)),
    View("fill_in", "Half clamped, the other half filled in", kinds=(ImageGrid,)),
    View("filters", "Filters, layer 1", kinds=(ImageGrid,)),
    View("filters2", "Filters, layer 2 (projected to pixels)", kinds=(ImageGrid,)),
    View("reconstructions", "Test images, mean-field reconstructions via each layer", kinds=(ImageGrid,)),
)

RBM_SPEC = ModelSpec("rbm", "Restricted Boltzmann machine, CD-k / PCD-k, AIS log-likelihood", RBMConfig,
                     RBM_VIEWS, engine="engines.boltzmann.rbm_engine:RBMEngine")
DBM_SPEC = ModelSpec("dbm", "Deep Boltzmann machine, 2 or 3 layers: greedy pretraining, mean-field + persistent "
                     "chains, AIS bound", DBMConfig, DBM_VIEWS, engine="engines.boltzmann.dbm_engine:DBMEngine")
