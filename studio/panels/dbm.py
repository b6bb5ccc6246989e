"""The deep Boltzmann machine's chains panel: every layer of the persistent chains, live.

It is the Gibbs chains panel (chain-history strip underneath, click a chain to restart it) drawing
:class:`~engines.boltzmann.frames.LayerChains` frames: one card per chain with the visible
mean-field picture and one raster of binary states per hidden layer. The caption says the
training phase (pretraining layer i of L, or joint training).
"""
from __future__ import annotations

import numpy as np

from engines.boltzmann.frames import LayerChains
from engines.core.views import View
from studio.panels.chains import ChainsPanel


class LayerChainsPanel(ChainsPanel):
    """Draws ``LayerChains`` (a card of all layers per chain) and ``ChainHistory`` frames."""

    STATE_KIND = LayerChains

    def __init__(self, view: View, fields=None, parent=None):
        super().__init__(view, fields, parent)
        self.mode_combo.hide()          # the cards always show visible means and hidden samples

    def tiles(self, state: LayerChains) -> np.ndarray:
        return state.cards()

    def caption_text(self, state: LayerChains) -> str:
        mean_gibbs = float(np.mean(state.gibbs_steps)) if len(state.gibbs_steps) else 0.0
        sizes = "-".join(map(str, state.layer_sizes))
        return (f"{self.title} · {state.phase} · {self.weights_text(state)} · layers {sizes} · "
                f"{mean_gibbs:,.0f} Gibbs sweeps on average")
