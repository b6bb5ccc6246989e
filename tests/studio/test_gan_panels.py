"""The GAN family's panels draw their frames and send one-player steps and drawn points (pytest-qt)."""
import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engines.core.config import fields_of
from engines.core.frames import decode, encode, tile
from engines.gan.frames import GANSamples, PointField, PyramidLevels
from studio.panels.gan import BRUSH_POINTS, GANSamplesPanel, PointFieldPanel, PyramidPanel

RNG = np.random.default_rng(0)


def engine_class(name):
    from engines.registry import engine_class as lookup

    return lookup(name)


def panel_for(qtbot, cls, model, view_name):
    engine = engine_class(model)
    view = next(v for v in engine.views if v.name == view_name)
    panel = cls(view, {f.name: f for f in fields_of(engine.Config)})
    qtbot.addWidget(panel)
    panel.resize(520, 480)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_samples_panel_draws_the_grid_and_sends_one_player_steps(qtbot):
    panel = panel_for(qtbot, GANSamplesPanel, "dcgan", "samples")
    images = RNG.random((16, 28, 28), dtype=np.float32)
    frame = decode(*encode(GANSamples("samples", 40, images, d_updates=45, g_updates=40)))
    panel.show_frame(frame)
    np.testing.assert_allclose(panel.mosaic_view.mosaic, tile(frame.images, panel.mosaic_view.columns))
    assert "step 40" in panel.caption.text() and "D 45" in panel.caption.text() and "G 40" in panel.caption.text()
    assert set(panel.control_editors) == {"d_steps", "loss", "lr_d", "lr_g"}
    step_d, step_g = panel.action_buttons["step_discriminator"], panel.action_buttons["step_generator"]
    assert not step_d.isEnabled()                      # replay: nothing to step
    panel.set_live(True)
    with qtbot.waitSignal(panel.methodCalled) as sent:
        QTest.mouseClick(step_d, QtCore.Qt.MouseButton.LeftButton)
    assert sent.args == ["step_discriminator", ()]
    with qtbot.waitSignal(panel.methodCalled) as sent:
        QTest.mouseClick(step_g, QtCore.Qt.MouseButton.LeftButton)
    assert sent.args == ["step_generator", ()]
    assert not panel.call("set_points", [])             # not an action of this view


def test_pyramid_panel_labels_its_columns(qtbot):
    panel = panel_for(qtbot, PyramidPanel, "lapgan", "pyramid")
    n, h = 3, 28
    base = RNG.random((n, h, h), dtype=np.float32)
    coarse, residual, total = (RNG.random((2, n, h, h), dtype=np.float32) for _ in range(3))
    frame = decode(*encode(PyramidLevels("pyramid", 5, base, coarse, residual, total, (7, 14, 28))))
    panel.show_frame(frame)
    np.testing.assert_allclose(panel.mosaic_view.mosaic, frame.still())
    ticks = panel.axis._tickLevels[0]
    assert [text for _, text in ticks] == ["7×7", "↑", "+ h", "= 14×14", "↑", "+ h", "= 28×28"]
    assert ticks[1][0] == pytest.approx(h + 1 + h / 2)


def field_frame(step=3):
    lines = np.stack([np.stack([np.linspace(-1, 1, 5), np.full(5, c)], 1) for c in (-0.5, 0.5)])
    heat = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))
    return PointField("field", step, RNG.normal(size=(30, 2)).astype(np.float32),
                      RNG.normal(size=(20, 2)).astype(np.float32), heat, lines, (-3.0, 3.0, -3.0, 3.0))


def test_point_field_panel_draws_heat_points_and_grid_lines(qtbot):
    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    frame = decode(*encode(field_frame()))
    panel.show_frame(frame)
    np.testing.assert_allclose(panel.heat, frame.heat)
    assert panel.heat_item.image.shape == frame.heat.shape + (4,)        # coloured once, drawn as RGBA
    rect = panel.heat_item.mapRectToParent(panel.heat_item.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((-3, -3, 6, 6))
    assert len(panel.real_item.getData()[0]) == 30 and len(panel.fake_item.getData()[0]) == 20
    np.testing.assert_allclose(panel.real_item.getData()[0], frame.real[:, 0])
    x, y = panel.lines_item.getData()
    assert len(x) == 2 * 6 and np.isnan(x[5]) and y[0] == -0.5 and y[6] == 0.5   # two lines, a gap between
    (x0, x1), _ = panel.view_box.viewRange()
    assert x0 < -3 < 3 < x1
    assert "step 3" in panel.caption.text()
    assert panel.grab().width() > 0


def test_point_field_panel_draws_gs_gradient_arrows_and_its_layers_each_on_demand(qtbot):
    """GAN Lab's views: an arrow (a shaft and a two-stroke head) from each generated point along its
    push, the longest ARROW_LENGTH of the plane's width; a small plane per layer of G; both boxes
    hide them; a frame recorded before them shows neither."""
    from studio.panels.gan import ARROW_LENGTH

    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    plain = field_frame()
    pushes = np.zeros((20, 2), np.float32)
    pushes[:, 0] = np.linspace(0.1, 2.0, 20)                   # all to the right, the last the longest
    layers = np.stack([plain.lines * k for k in (1.0, 2.0, 3.0)])
    frame = decode(*encode(PointField(**{**plain.__dict__, "pushes": pushes, "layers": layers,
                                         "layer_names": ("noise z", "hidden 1", "output G(z)")})))
    panel.show_frame(frame)
    x, y = panel.arrows_item.getData()
    assert len(x) == 6 * 20 and panel.arrows_item.isVisible()
    shafts = np.stack([x, y], 1).reshape(20, 6, 2)[:, :2]
    np.testing.assert_allclose(shafts[:, 0], frame.fake, rtol=1e-6)
    np.testing.assert_allclose(shafts[-1, 1] - shafts[-1, 0], [ARROW_LENGTH * 6, 0], atol=1e-6)
    planes = [w for w, _ in panel.layer_planes.plots if w.isVisible()]
    assert len(planes) == 3 and panel.layer_planes.isVisible()
    assert panel.layer_planes.plots[1][0].getPlotItem().titleLabel.text == "hidden 1"
    np.testing.assert_allclose(panel.layer_planes.plots[2][1].getData()[0][:5], layers[2][0][:, 0])
    panel.arrows_box.setChecked(False)
    panel.layers_box.setChecked(False)
    assert not panel.arrows_item.isVisible() and not panel.layer_planes.isVisible()
    panel.arrows_box.setChecked(True)
    panel.show_frame(plain)                                     # recorded before: nothing to show
    assert not panel.arrows_item.isVisible()
    assert "steps_per_s" in panel.control_editors                # the speed control, in the strip


def test_a_wide_panel_shows_the_plane_square_spanning_its_data(qtbot):
    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    panel.resize(1000, 360)
    panel.show_frame(field_frame())
    qtbot.wait(50)
    (x0, x1), (y0, y1) = panel.view_box.viewRange()
    assert -3.5 < x0 < -3 and 3 < x1 < 3.5 and -3.5 < y0 < -3 and 3 < y1 < 3.5      # not -8...8
    assert abs(panel.plot_widget.width() - panel.plot_widget.height()) <= 1


def test_a_narrow_panel_wraps_its_controls_onto_more_rows(qtbot):
    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    panel.resize(1400, 500)
    qtbot.wait(50)
    one_row = panel.control_strip.height()
    panel.resize(280, 500)
    qtbot.wait(50)
    assert one_row < panel.control_strip.height() <= 2 * one_row + panel.controls.spacing()   # wrapped, two rows
    for item in (panel.controls.itemAt(i) for i in range(panel.controls.count())):                # at most shown
        assert item.geometry().right() <= panel.control_strip.viewport().width()   # none cut at the side


def test_drawn_points_become_the_training_data(qtbot):
    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    panel.show_frame(field_frame())
    assert not panel.draw_box.isEnabled()              # replay: no drawing
    panel.set_live(True)
    panel.draw_box.setChecked(True)
    viewport = panel.plot_widget.viewport()
    centre = panel.plot_widget.mapFromScene(panel.view_box.mapViewToScene(QtCore.QPointF(1.0, 2.0)))
    QTest.mouseClick(viewport, QtCore.Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: len(panel.pending) == BRUSH_POINTS)
    assert np.abs(panel.pending.mean(0) - [1.0, 2.0]).max() < 0.3
    assert panel.use_button.isEnabled() and f"({BRUSH_POINTS})" in panel.use_button.text()
    with qtbot.waitSignal(panel.methodCalled) as sent:
        QTest.mouseClick(panel.use_button, QtCore.Qt.MouseButton.LeftButton)
    method, (points,) = sent.args
    assert method == "set_points" and np.array(points).shape == (BRUSH_POINTS, 2)
    assert len(panel.pending) == 0 and not panel.draw_box.isChecked()


def test_no_drawing_while_draw_mode_is_off(qtbot):
    panel = panel_for(qtbot, PointFieldPanel, "gan2d", "field")
    panel.show_frame(field_frame())
    panel.set_live(True)
    centre = panel.plot_widget.mapFromScene(panel.view_box.mapViewToScene(QtCore.QPointF(0.0, 0.0)))
    QTest.mouseClick(panel.plot_widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=centre)
    QTest.qWait(50)
    assert len(panel.pending) == 0 and not panel.use_button.isEnabled()
    panel.add_blob(0, 0)
    panel.clear_drawn()
    assert len(panel.pending) == 0 and not panel.clear_button.isEnabled()


@pytest.mark.parametrize("model", ["dcgan", "lapgan", "gan2d"])
def test_panels_draw_real_engine_frames(qtbot, model):
    import torch

    from engines.registry import build_engine
    from studio.panels import create_panel

    cls = engine_class(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)       # tiny networks: one thread is faster on a busy machine
    try:
        engine = build_engine(model, cls.smoke_data, "cpu", 0, dict(cls.smoke_overrides))
        engine.train_step()
        frames = {f.name: decode(*encode(f)) for f in engine.frames()}
    finally:
        torch.set_num_threads(threads)
    classes = {"samples": GANSamplesPanel, "pyramid": PyramidPanel, "field": PointFieldPanel}
    for view in engine.views:
        panel = classes.get(view.name, create_panel)
        panel = panel(view, {f.name: f for f in fields_of(cls.Config)})
        qtbot.addWidget(panel)
        for name in view.frames:
            panel.show_frame(frames[name])
        assert panel.grab().width() > 0
