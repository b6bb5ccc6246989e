"""The VAE panels: frames in, pictures and bars out; dragging the probe and drawing a digit call the
display copy (pytest-qt, offscreen)."""
import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from engines.core.config import fields_of
from engines.vae.frames import Drawing, LatentGrid, LatentScatter, LatentStats
from engines.vae.spec import VAE_VIEWS, VAEConfig
from studio.panels.latent import DrawPanel, LatentGridPanel, LatentScatterPanel, LatentStatsPanel

RNG = np.random.default_rng(0)
FIELDS = {f.name: f for f in fields_of(VAEConfig)}
LEFT = QtCore.Qt.MouseButton.LeftButton
NONE = QtCore.Qt.MouseButton.NoButton


def make(qtbot, cls, frame_name, size=(500, 450)):
    panel = cls(next(view for view in VAE_VIEWS if frame_name in view.frames), FIELDS)
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def mouse(widget, kind, pos: QtCore.QPointF, button, buttons):
    event = QtGui.QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, event)


def drag(widget, points: list[QtCore.QPointF], qtbot):
    """Press the left button at the first point, move through the others, release at the last."""
    mouse(widget, QtCore.QEvent.Type.MouseButtonPress, points[0], LEFT, LEFT)
    for p in points[1:]:
        mouse(widget, QtCore.QEvent.Type.MouseMove, p, NONE, LEFT)
        qtbot.wait(5)
    mouse(widget, QtCore.QEvent.Type.MouseButtonRelease, points[-1], LEFT, NONE)


def scatter_frame(step=3, probe=(0.0, 0.0)):
    points = RNG.normal(size=(60, 2)).astype(np.float32)
    labels = np.repeat(np.arange(10), 6)
    return LatentScatter("latent_scatter", step, points, labels, np.array(probe, np.float32),
                         RNG.random((28, 28), dtype=np.float32), "z0 × z1")


# ---------------------------------------------------------------------------------- scatter
def test_scatter_draws_points_coloured_by_label_and_the_probe(qtbot):
    panel = make(qtbot, LatentScatterPanel, "latent_scatter")
    frame = scatter_frame(probe=(0.5, -1.0))
    panel.show_frame(frame)
    x, y = panel.points.getData()
    np.testing.assert_allclose(np.c_[x, y], frame.points, rtol=1e-6)
    brushes = {panel.points.data["brush"][i].color().name() for i in range(len(frame.points))}
    assert len(brushes) == 10                                   # one colour per digit
    mx, my = panel.marker.getData()
    assert (mx[0], my[0]) == pytest.approx((0.5, -1.0))
    np.testing.assert_array_equal(panel.decoding.mosaic, frame.probe_image)
    assert "z0 × z1" in panel.caption.text() and "step 3" in panel.caption.text()


def view_to_widget(panel, x, y) -> QtCore.QPointF:
    scene = panel.viewbox.mapViewToScene(QtCore.QPointF(x, y))
    return QtCore.QPointF(panel.plot.mapFromScene(scene))


def settle(qtbot, panel) -> None:
    """Until the panel's layout has settled (view-to-widget mapping the same over 3 checks): on a
    busy machine layouts run late, and a drag planned before them lands elsewhere."""
    seen = []

    def steady():
        seen.append(view_to_widget(panel, 1.0, 1.0))
        assert len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]
    qtbot.waitUntil(steady, timeout=10_000)


def test_dragging_in_the_scatter_calls_set_probe_with_the_coordinates(qtbot):
    panel = make(qtbot, LatentScatterPanel, "latent_scatter")
    panel.show_frame(scatter_frame())
    panel.viewbox.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    panel.set_live(True)
    settle(qtbot, panel)
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    path = [(-1.0, -1.0), (-0.5, -0.5), (0.0, 0.2), (0.5, 1.0), (1.0, 1.5)]
    drag(panel.plot.viewport(), [view_to_widget(panel, *p) for p in path], qtbot)
    qtbot.wait(20)
    assert calls and all(method == "set_probe" for method, _ in calls)
    assert len(calls) <= len(path)                               # at most one call per mouse move
    assert calls[-1][1] == pytest.approx((1.0, 1.5), abs=0.05)   # the last call: where the mouse stopped
    mx, my = panel.marker.getData()
    assert (mx[0], my[0]) == pytest.approx((1.0, 1.5), abs=0.05)  # the marker follows at once
    # a frame still carrying the old probe arriving right after the drag does not move it back
    panel.show_frame(scatter_frame(probe=(0.0, 0.0)))
    assert panel.marker.getData()[0][0] == pytest.approx(1.0, abs=0.05)


def test_replayed_scatter_ignores_the_mouse(qtbot):
    panel = make(qtbot, LatentScatterPanel, "latent_scatter")
    panel.show_frame(scatter_frame())
    panel.set_live(False)
    calls = []
    panel.methodCalled.connect(lambda *a: calls.append(a))
    drag(panel.plot.viewport(), [view_to_widget(panel, 0, 0), view_to_widget(panel, 1, 1)], qtbot)
    qtbot.wait(20)
    assert calls == []


# ---------------------------------------------------------------------------------- drawing
def drawing_frame(pixels=None, latent=5, step=9):
    pixels = np.zeros((28, 28), np.float32) if pixels is None else pixels
    return Drawing("draw", step, pixels, RNG.random((28, 28), dtype=np.float32),
                   RNG.normal(size=latent).astype(np.float32), RNG.random(latent).astype(np.float32) + 0.1)


def canvas_point(canvas, col, row) -> QtCore.QPointF:
    scale, ox, oy = canvas._geometry()
    return QtCore.QPointF(ox + col * scale, oy + row * scale)


def test_drawing_calls_encode_drawing_with_a_28x28_array_throttled(qtbot):
    panel = make(qtbot, DrawPanel, "draw")
    panel.set_live(True)
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    stroke = [canvas_point(panel.canvas, 14, r) for r in np.linspace(4, 24, 30)]
    drag(panel.canvas, stroke, qtbot)
    qtbot.waitUntil(lambda: not panel._timer.isActive(), timeout=1000)
    assert calls and all(method == "encode_drawing" for method, _ in calls)
    assert len(calls) < len(stroke)                              # throttled, not one per move
    pixels = calls[-1][1][0]
    assert isinstance(pixels, np.ndarray) and pixels.shape == (28, 28)
    assert pixels[14, 14] == pytest.approx(1.0) and pixels[14, 3] == 0.0    # a vertical line at x = 14
    assert pixels[5:24, 14].min() > 0.9                          # the last call has the whole stroke
    panel.clear_button.click()
    qtbot.waitUntil(lambda: calls[-1][1][0].max() == 0.0, timeout=1000)


def test_a_right_click_clears_the_canvas_and_a_right_drag_erases(qtbot):
    panel = make(qtbot, DrawPanel, "draw")
    panel.show_frame(drawing_frame(np.ones((28, 28), np.float32)))     # the pre-filled digit
    panel.set_live(True)
    right = QtCore.Qt.MouseButton.RightButton
    here = canvas_point(panel.canvas, 14, 14)
    mouse(panel.canvas, QtCore.QEvent.Type.MouseButtonPress, here, right, right)
    mouse(panel.canvas, QtCore.QEvent.Type.MouseButtonRelease, here, right, NONE)
    assert panel.canvas.pixels.max() == 0.0                           # cleared
    panel.canvas.set_pixels(np.ones((28, 28), np.float32))
    mouse(panel.canvas, QtCore.QEvent.Type.MouseButtonPress, canvas_point(panel.canvas, 14, 4), right, right)
    for row in np.linspace(5, 24, 20):
        mouse(panel.canvas, QtCore.QEvent.Type.MouseMove, canvas_point(panel.canvas, 14, row), NONE, right)
    mouse(panel.canvas, QtCore.QEvent.Type.MouseButtonRelease, canvas_point(panel.canvas, 14, 24), right, NONE)
    assert panel.canvas.pixels[10, 14] == 0.0 and panel.canvas.pixels[10, 3] == 1.0   # erased along the drag only


def test_the_scatter_marks_the_drawings_posterior_mean(qtbot):
    panel = make(qtbot, LatentScatterPanel, "latent_scatter")
    frame = scatter_frame()
    panel.show_frame(frame)
    assert len(panel.drawn_marker.data) == 0                           # no drawing: no mark
    drawn = LatentScatter(**{**frame.__dict__, "drawn": np.array([0.5, -1.25], np.float32)})
    panel.show_frame(drawn)
    assert tuple(panel.drawn_marker.data["x"]) == (0.5,) and tuple(panel.drawn_marker.data["y"]) == (-1.25,)
    assert "your drawing" in panel.caption.text()


def test_draw_panel_shows_the_posterior_and_reconstruction(qtbot):
    panel = make(qtbot, DrawPanel, "draw")
    digit = np.zeros((28, 28), np.float32)
    digit[5:20, 10:13] = 1
    frame = drawing_frame(digit)
    panel.show_frame(frame)
    np.testing.assert_array_equal(panel.recon.mosaic, frame.recon)
    np.testing.assert_array_equal(panel.canvas.pixels, digit)     # replay/initial: the frame's drawing
    np.testing.assert_allclose(panel.bars.bars.opts["height"], frame.mu, rtol=1e-6)
    np.testing.assert_allclose(panel.bars.whiskers.opts["height"], 2 * frame.sigma, rtol=1e-6)
    assert "5 latent dimensions" in panel.caption.text()
    # live, once the user draws, frames no longer overwrite the canvas
    panel.set_live(True)
    drag(panel.canvas, [canvas_point(panel.canvas, 3, 3), canvas_point(panel.canvas, 3, 8)], qtbot)
    mine = panel.canvas.pixels.copy()
    panel.show_frame(drawing_frame(np.ones((28, 28), np.float32)))
    np.testing.assert_array_equal(panel.canvas.pixels, mine)
    panel.set_live(False)
    assert not panel.clear_button.isEnabled()


# ---------------------------------------------------------------------------------- grid, stats
def test_latent_grid_panel_shows_the_mosaic_and_the_plane(qtbot):
    panel = make(qtbot, LatentGridPanel, "latent_grid")
    images = RNG.random((9, 8, 8), dtype=np.float32)
    frame = LatentGrid("latent_grid", 12, images, columns=3, xs=np.array([-1.6, 0, 1.6], np.float32),
                       ys=np.array([1.6, 0, -1.6], np.float32), plane="PC1 × PC2")
    panel.show_frame(frame)
    np.testing.assert_array_equal(panel.mosaic_view.mosaic, frame.still())
    assert "PC1 × PC2" in panel.caption.text() and "-1.60…1.60" in panel.caption.text()
    assert set(panel.control_editors) == {"grid_size", "grid_span", "grid_plane", "grid_dims", "grid_centre"}


def test_latent_stats_panel_colours_active_dimensions(qtbot):
    panel = make(qtbot, LatentStatsPanel, "latent_stats")
    frame = LatentStats("latent_stats", 4, np.array([2.0, 0.001, 1.0], np.float32),
                        np.array([0.9, 0.0, 0.5], np.float32), 0.01)
    panel.show_frame(frame)
    np.testing.assert_allclose(panel.bars.bars.opts["height"], frame.kl)
    colours = [b.color().name() for b in panel.bars.bars.opts["brushes"]]
    assert colours[0] == colours[2] != colours[1]
    assert "2 of 3 dimensions active" in panel.caption.text()


@pytest.mark.parametrize("cls, name", [(LatentScatterPanel, "latent_scatter"), (DrawPanel, "draw"),
                                       (LatentStatsPanel, "latent_stats")])
def test_panels_refuse_other_frames(qtbot, cls, name):
    from engines.core.frames import ImageGrid

    panel = make(qtbot, cls, name)
    with pytest.raises(TypeError):
        panel.show_frame(ImageGrid("samples", 1, np.zeros((1, 2, 2), np.float32)))
