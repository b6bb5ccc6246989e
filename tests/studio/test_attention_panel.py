"""The attention canvas panel: scrubbing t, windows drawn where the frame says, play, new traces."""
import numpy as np
import pytest
from PySide6 import QtCore

from engines.core.frames import tile
from engines.core.views import View
from engines.draw.frames import GlimpseTrace, window_box, window_centres
from studio.panels.attention import AttentionPanel

RNG = np.random.default_rng(0)
VIEW = View("attention", "Attention canvas", kinds=(GlimpseTrace,), area="main")


def trace(steps=5, samples=4, recon=2, h=12, w=10, step=3, attention=True):
    canvases = RNG.random((samples, steps, h, w), dtype=np.float32)
    write = np.zeros((samples, steps, 5 if attention else 0), np.float32)
    read = np.zeros((recon if attention else 0, steps, 5), np.float32)
    if attention:
        for s in range(samples):
            for t in range(steps):
                write[s, t] = (3 + t, 4 + s, 1.0 + 0.1 * t, 0.5, 1.0)
                if s < recon:
                    read[s, t] = (6, 2 + t, 2.0, 1.0, 0.5)
    return GlimpseTrace("attention", step, canvases, write, read, write_n=3, read_n=2, reconstructions=recon,
                        columns=2)


@pytest.fixture
def panel(qtbot):
    widget = AttentionPanel(VIEW)
    qtbot.addWidget(widget)
    widget.resize(500, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def scene_rect(panel, s, item):
    """The rectangle of a window item in mosaic (image) coordinates."""
    return item.mapRectToItem(panel.canvas.image_item, item.rect())


def test_scrubbing_shows_the_canvases_and_windows_of_step_t(panel):
    frame = trace()
    panel.show_frame(frame)
    assert panel.player.slider.maximum() == 5 and panel.player.t == 5       # first trace: the finished canvas
    panel.player.slider.setValue(2)
    np.testing.assert_array_equal(panel.canvas.mosaic, tile(frame.canvases[:, 1], 2))
    assert "glimpse 2 of 5" in panel.caption.text() and "step 3" in panel.caption.text()
    assert panel.player.step_label.text() == "t = 2 / 5"
    for s in range(4):
        x0, y0 = panel.canvas.tile_origin(s, 12, 10, 2)
        bx0, by0, bx1, by1 = window_box(frame.write[s, 1], 3)
        rect = scene_rect(panel, s, panel.canvas.write_items[s].rect)
        assert rect.left() == pytest.approx(x0 + bx0) and rect.top() == pytest.approx(y0 + by0)
        assert rect.right() == pytest.approx(x0 + bx1) and rect.bottom() == pytest.approx(y0 + by1)
        xs, ys = panel.canvas.write_items[s].dots.getData()
        ex, ey = window_centres(frame.write[s, 1], 3)
        np.testing.assert_allclose(xs, ex)
        np.testing.assert_allclose(ys, ey)
        assert panel.canvas.write_items[s].rect.isVisible()
        assert panel.canvas.read_items[s].rect.isVisible() == (s < 2)       # reads only when reconstructing
    pen = panel.canvas.read_items[0].rect.pen()
    assert pen.color().green() > pen.color().red()                           # read green, write red
    assert panel.grab().width() > 0


def test_a_new_trace_keeps_the_chosen_step(panel):
    panel.show_frame(trace(step=3))
    panel.player.slider.setValue(3)
    newer = trace(step=9)
    panel.show_frame(newer)
    assert panel.player.t == 3
    np.testing.assert_array_equal(panel.canvas.mosaic, tile(newer.canvases[:, 2], 2))
    assert "step 9" in panel.caption.text()
    panel.show_frame(trace(steps=2))                                          # a shorter run: t clamps
    assert panel.player.t == 2


def test_play_loops_through_the_glimpses(panel, qtbot):
    panel.show_frame(trace())
    panel.player.slider.setValue(4)
    panel.player.play_button.click()
    assert panel.player.timer.isActive()
    seen = []
    panel.player.stepChanged.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=3000)
    assert seen[:3] == [5, 1, 2]
    panel.player.play_button.click()
    assert not panel.player.timer.isActive()


def test_without_attention_no_window_is_drawn(panel):
    panel.show_frame(trace(attention=False))
    assert not any(items.rect.isVisible() for items in panel.canvas.write_items + panel.canvas.read_items)
    assert "no attention" in panel.caption.text()


def test_fewer_samples_hide_the_extra_tiles(panel):
    panel.show_frame(trace(samples=4))
    panel.show_frame(trace(samples=2, recon=1))
    assert [t.isVisible() for t in panel.canvas.tiles] == [True, True, False, False]


def test_colour_canvases(panel):
    frame = trace()
    colour = GlimpseTrace("attention", 1, np.repeat(frame.canvases[..., None], 3, -1), frame.write, frame.read,
                          write_n=3, read_n=2, reconstructions=2, columns=2)
    panel.show_frame(colour)
    assert panel.canvas.mosaic.shape[-1] == 3
    assert QtCore.QRectF(panel.canvas.tiles[1].rect()).width() == 10
