"""The weights-and-gradients panel: a dock of its own for the Runner's frames, one tensor at a time
(chosen in its list, kept from frame to frame), its histograms now and its percentile bands over
the recorded steps."""
import numpy as np
import torch
from torch import nn

from engines.core.parameters import ParameterWatch
from studio.layout import view_for_frame
from studio.panels import create_panel
from studio.panels.parameters import ParametersPanel


class TwoPlayers:
    def __init__(self):
        torch.manual_seed(0)
        self.g, self.d = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), nn.Linear(2, 1)
        self.step = 0

    def parameter_modules(self):
        return {"G": self.g, "D": self.d}

    def train(self):
        for m in (self.g, self.d):
            m.zero_grad()
        self.d(self.g(torch.randn(16, 4))).mean().backward()
        self.step += 1


def frames(count: int):
    engine = TwoPlayers()
    watch = ParameterWatch(engine)
    out = []
    for _ in range(count):
        engine.train()
        out.append(watch.take()[0])
    return out


def test_the_panel_shows_the_chosen_tensor_now_and_over_steps_and_keeps_the_choice(qtbot):
    made = frames(5)
    panel = create_panel(view_for_frame(made[0]))
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    assert isinstance(panel, ParametersPanel) and panel.title == "Weights and gradients"
    panel.show_frame(made[0])
    labels = [panel.tensor_box.itemText(i) for i in range(panel.tensor_box.count())]
    assert labels == ["G.0 · weight", "G.0 · bias", "G.2 · weight", "G.2 · bias", "D · weight", "D · bias"]
    panel.select("G.2.weight")
    for frame in made[1:]:
        panel.show_frame(frame)
    assert panel.tensor_box.currentText() == "G.2 · weight"          # kept as frames come
    last, index = made[-1], 2
    x, counts = panel.histograms[0].getData()
    np.testing.assert_allclose(counts, last.counts[index, 0])
    assert x[0] == last.ranges[index, 0, 0] and np.isclose(x[-1], last.ranges[index, 0, 1])
    steps, medians = panel.medians[1].getData()                       # the gradients' median over steps
    assert list(steps) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(medians, last.history[:, index, 1, 4])
    low, high = panel.band_edges[0][0]                                # the outer band: minimum to maximum
    assert np.all(low.getData()[1] <= high.getData()[1])
    assert "G.2.weight" in panel.caption.text() and "step 5" in panel.caption.text()


def test_a_tensor_without_a_gradient_shows_its_values_and_says_so(qtbot):
    engine = TwoPlayers()
    frame = ParameterWatch(engine).take()[0]
    panel = create_panel(view_for_frame(frame))
    qtbot.addWidget(panel)
    panel.show_frame(frame)
    assert len(panel.histograms[0].getData()[1]) > 0 and panel.histograms[1].getData()[1] is None
    assert "no gradient yet" in panel.caption.text()
