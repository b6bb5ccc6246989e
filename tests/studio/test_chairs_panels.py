"""The chair generator's slider panel (pytest-qt, offscreen)."""
import numpy as np

from engines.core.config import fields_of
from engines.deconv.engine import ChairsEngine
from engines.deconv.frames import ChairView, Turntable
from studio.panels.chairs import ChairSlidersPanel

RNG = np.random.default_rng(0)


def make_panel(qtbot):
    view = next(v for v in ChairsEngine.views if v.name == "sliders")
    panel = ChairSlidersPanel(view, {f.name: f for f in fields_of(ChairsEngine.Config)})
    qtbot.addWidget(panel)
    panel.resize(400, 500)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def chair_view(chair=3, azimuth=45.0, elevation=30.0, status="held-out view"):
    image = lambda: RNG.random((16, 16, 3), dtype=np.float32)  # noqa: E731
    return ChairView("sliders", 12, image(), RNG.random((16, 16), dtype=np.float32), image(), chair, azimuth,
                     elevation, 1.1, 0.9, 10, status)


def test_shows_generated_mask_and_truth_and_replays_the_request(qtbot):
    panel = make_panel(qtbot)
    frame = chair_view()
    panel.show_frame(frame)
    np.testing.assert_array_equal(panel.mosaic_view.mosaic, frame.still())
    assert panel.sliders["chair"].maximum() == 9
    assert panel.values() == (3, 45.0, 30.0, 1.1, 0.9)                    # replay: sliders follow the frame
    assert not panel.sliders["azimuth"].isEnabled()
    assert "held-out view" in panel.caption.text() and "chair 3" in panel.caption.text()


def test_moving_a_slider_calls_set_view_once_dragging_settles(qtbot):
    panel = make_panel(qtbot)
    panel.show_frame(chair_view())
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    panel.sliders["azimuth"].setValue(100)                                # not live: nothing is asked
    qtbot.wait(80)
    assert calls == []
    panel.set_live(True)
    for value in (120, 130, 140):                                         # a drag: one call at the end
        panel.sliders["azimuth"].setValue(value)
    panel.sliders["zoom"].setValue(125)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=2000)
    qtbot.wait(80)
    assert calls == [("set_view", (3, 140.0, 30.0, 1.25, 0.9))]
    panel.show_frame(chair_view(chair=5, azimuth=10.0))                   # live frames leave the sliders alone
    assert panel.values()[:2] == (3, 140.0)
    assert panel.sliders["chair"].isEnabled()


def test_turntable_still_is_the_sweep():
    images = RNG.random((24, 8, 8, 3), dtype=np.float32)
    frame = Turntable("turntable", 3, images, np.arange(0, 360, 15), 2, 20.0)
    assert frame.still().shape == (8, 24 * 9 - 1, 3) and len(frame.animation()) == 24
    np.testing.assert_array_equal(frame.animation()[5], images[5])
