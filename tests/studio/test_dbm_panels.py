"""The deep Boltzmann machine's chains panel (pytest-qt, offscreen)."""
import numpy as np
from PySide6 import QtCore

from engines.boltzmann.dbm_engine import DBMEngine
from engines.boltzmann.frames import ChainHistory, LayerChains
from engines.core.config import fields_of
from engines.core.frames import tile
from studio.panels.dbm import LayerChainsPanel

RNG = np.random.default_rng(0)


def make_panel(qtbot):
    view = next(v for v in DBMEngine.views if v.name == "chains")
    panel = LayerChainsPanel(view, {f.name: f for f in fields_of(DBMEngine.Config)})
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def layer_chains(n=6, step=40, phase="pretraining layer 2 of 2 (40/100)"):
    hidden = (RNG.random((n, 12 + 7)) < 0.5).astype(np.uint8)
    return LayerChains("chains", step, RNG.random((n, 8, 8), dtype=np.float32), hidden, np.array([12, 7]),
                       np.full(n, 30), phase, columns=3)


def test_draws_every_layer_and_says_the_phase(qtbot):
    panel = make_panel(qtbot)
    frame = layer_chains()
    panel.show_frame(frame)
    np.testing.assert_array_equal(panel.grid_view.mosaic, tile(frame.cards(), panel.grid_view.columns))
    assert frame.cards().shape == (6, 8, 8 + 1 + 4 + 1 + 3)          # 12 units: 3x4 raster, 7 units: 3x3
    text = panel.caption.text()
    assert "pretraining layer 2 of 2" in text and "12-7" in text and "step 40" in text
    assert not panel.mode_combo.isVisible()
    history = ChainHistory("chain_history", 40, RNG.random((2, 5, 8, 8), dtype=np.float32), np.array([100, 200]), 100)
    panel.show_frame(history)
    assert panel.history_item.image.shape == (2 * 9 - 1, 5 * 9 - 1)


def test_a_click_on_a_card_restarts_that_chain(qtbot):
    panel = make_panel(qtbot)
    frame = layer_chains()
    panel.show_frame(frame)
    h, w = frame.cards().shape[1:3]
    pad, columns = 1, panel.grid_view.columns                         # the panel lays the cards out itself
    assert panel.chain_at(w + pad + 1, 1) == 1 and panel.chain_at(1, h + pad + 1) == columns
    assert panel.chain_at(w, 1) is None                                   # between two cards
    panel.set_live(True)
    with qtbot.waitSignal(panel.methodCalled) as signal:
        panel._on_grid_clicked(w + pad + 2, h + pad + 2)                  # second row, second column
    assert signal.args == ["restart_chain", (columns + 1,)]
    assert panel.highlight.isVisible() and panel.highlight.rect() == QtCore.QRectF(w + pad, h + pad, w, h)
