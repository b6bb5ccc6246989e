"""The display panels: frames in, pixels and curves out, controls and signals (pytest-qt, offscreen)."""
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engines.boltzmann.frames import ChainHistory, ChainState
from engines.boltzmann.spec import RBM_SPEC
from engines.core.config import fields_of
from engines.core.frames import ImageGrid, tile
from engines.core.views import View
from studio.panels import ChainsPanel, CurvesPanel, StillPanel, create_panel, panel_class
from engines.records.series import ema, smooth_debiased
from tests.toy.spec import TOY_SPEC, ToyConfig
from tests.toy.frames import Bars

RNG = np.random.default_rng(0)
TOY_FIELDS = {f.name: f for f in fields_of(ToyConfig)}
CHAINS_VIEW = RBM_SPEC.views[0]
RBM_FIELDS = {f.name: f for f in fields_of(RBM_SPEC.Config)}


def shown(qtbot, widget, size=(500, 500)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def chains_panel(live=True):
    panel = ChainsPanel(CHAINS_VIEW, RBM_FIELDS)
    panel.set_live(live)
    return panel


def chain_state(n=10, h=6, w=5, columns=4, step=7):
    probs = RNG.random((n, h, w), dtype=np.float32)
    samples = (probs > 0.5).astype(np.uint8)
    return ChainState("chains", step, probs, samples, np.arange(n) * 10, columns)


# ---------------------------------------------------------------------------------- registry, images
def test_panel_class_follows_the_kind_hierarchy(qtbot):
    assert panel_class("engines.boltzmann.frames:ChainState") is ChainsPanel
    assert panel_class("engines.boltzmann.frames:ChainHistory") is ChainsPanel
    assert panel_class("engines.core.frames:ImageGrid") is StillPanel     # via Frame
    assert panel_class("tests.toy.frames:Bars") is StillPanel             # a kind no studio code knows
    panel = create_panel(TOY_SPEC.views[1], TOY_FIELDS)
    qtbot.addWidget(panel)
    assert isinstance(panel, StillPanel) and panel.title == "Bars"
    assert list(panel.control_editors) == ["bars"]                        # the view's control


def test_a_new_picture_kind_needs_one_panel_and_one_line(qtbot, monkeypatch):
    """A family whose picture needs a widget of its own adds a Panel subclass and one PANELS line
    (here the toy's bar chart, tests/toy/panel.py): the view then gets it, it draws the kind's
    frames, and its clicks reach the view's call; nothing else in the studio changes."""
    from studio.panels import PANELS
    from tests.toy.panel import BarsPanel

    monkeypatch.setitem(PANELS, Bars, BarsPanel)
    assert panel_class("tests.toy.frames:Bars") is BarsPanel
    panel = shown(qtbot, create_panel(TOY_SPEC.views[1], TOY_FIELDS))
    assert type(panel) is BarsPanel and list(panel.control_editors) == ["bars"]
    panel.show_frame(Bars("bars", 3, np.array([0.2, 1.0, 0.6], np.float32), highlight=1))
    np.testing.assert_allclose(panel.bars.opts["height"], [0.2, 1.0, 0.6])
    panel.set_live(True)
    with qtbot.waitSignal(panel.methodCalled) as blocker:
        panel._clicked(type("Click", (), {"scenePos": lambda self: panel.plot.getPlotItem().vb.mapViewToScene(
            QtCore.QPointF(2.0, 0.3))})())
    assert blocker.args == ["poke", (2,)]


def test_a_panel_edits_its_views_controls_only_when_live(qtbot):
    panel = shown(qtbot, create_panel(TOY_SPEC.views[1], TOY_FIELDS))
    panel.set_config({"bars": 12, "lr": 0.5})
    editor = panel.control_editors["bars"]
    assert editor.value == 12 and not editor.widget.isEnabled()          # replay: shown, greyed out
    panel.set_live(True)
    with qtbot.waitSignal(panel.configEdited) as blocker:
        editor.widget.setValue(20)
    assert blocker.args == ["bars", 20]
    editor.widget.setValue(100)                                           # the spin box stops at 64
    assert editor.widget.value() == 64
    assert panel.call("poke", 3) and not panel.call("state_dict")        # only the view's calls
    panel.set_live(False)
    assert not panel.call("poke", 3)


def test_still_panel_draws_any_kind(qtbot):
    panel = shown(qtbot, create_panel(TOY_SPEC.views[1], TOY_FIELDS))
    bars = Bars("bars", 3, np.array([0.0, 0.5, 1.0], np.float32))
    panel.show_frame(bars)
    np.testing.assert_array_equal(panel.image_item.image, bars.still())
    assert "step 3" in panel.caption.text()


@pytest.mark.parametrize("colour", [False, True])
def test_image_grid_draws_the_tiled_mosaic(qtbot, colour):
    panel = shown(qtbot, StillPanel(View("filters", "Filters", (ImageGrid,))))
    images = RNG.random((6, 4, 3, 3) if colour else (6, 4, 3), dtype=np.float32)
    panel.show_frame(ImageGrid("filters", 12, images, columns=4, reflow=False))
    np.testing.assert_array_equal(panel.image_item.image, tile(images, 4))
    assert panel.image_item.levels is not None and list(np.ravel(panel.image_item.levels)[:2]) == [0, 1]
    assert "step 12" in panel.caption.text() and "Filters" in panel.caption.text()
    assert panel.grab().width() > 0


def test_a_grid_reflows_to_fill_its_panel_at_whole_pixels_and_hover_enlarges_a_tile(qtbot):
    panel = shown(qtbot, StillPanel(View("chains", "Chains", (ImageGrid,))), (760, 260))
    images = RNG.random((64, 28, 28), dtype=np.float32)
    panel.show_frame(ImageGrid("chains", 1, images, columns=8))
    view = panel.mosaic_view
    assert view.columns > 8                                     # wide and short: more columns than 8 x 8
    (x0, x1), _ = view.view.viewRange()
    scale = view.view.width() / (x1 - x0)
    height, width = panel.image_item.image.shape[:2]
    fill = min(view.view.width() / width, view.view.height() / height)
    assert scale == pytest.approx(fill) or (scale == int(scale) and scale >= 0.75 * fill)   # fills, or whole pixels
    np.testing.assert_array_equal(panel.image_item.image, tile(images, view.columns))
    panel.resize(300, 700)                                       # tall and narrow: fewer columns
    qtbot.waitUntil(lambda: view.columns < 8)
    scene_pos = panel.image_item.mapToScene(view.tile_rect(5).center())
    view.scene().sigMouseMoved.emit(scene_pos)
    assert view.hovered == 5 and view.zoom.isVisible() and view.zoom.pixmap().width() >= 112


def test_image_grid_reranges_only_when_the_shape_changes(qtbot):
    panel = shown(qtbot, StillPanel(View("samples", "Samples", (ImageGrid,))))
    view = panel.mosaic_view.view
    panel.show_frame(ImageGrid("samples", 1, RNG.random((4, 8, 8), dtype=np.float32), columns=2))
    view.scaleBy((0.5, 0.5))                        # the user zooms in ...
    zoomed = view.viewRange()
    panel.show_frame(ImageGrid("samples", 2, RNG.random((4, 8, 8), dtype=np.float32), columns=2))
    assert view.viewRange() == zoomed               # ... and a new frame of the same shape keeps it
    panel.show_frame(ImageGrid("samples", 3, RNG.random((9, 8, 8), dtype=np.float32), columns=3))
    (x0, x1), (y0, y1) = view.viewRange()
    assert x0 <= 0 and x1 >= 26 and y0 <= 0 and y1 >= 26    # a new shape: the whole 26x26 mosaic


# ---------------------------------------------------------------------------------- chains
def test_chains_toggle_between_probabilities_and_samples(qtbot):
    panel = shown(qtbot, chains_panel())
    state = chain_state()
    panel.show_frame(state)
    columns = panel.grid_view.columns
    np.testing.assert_array_equal(panel.grid_view.mosaic, tile(state.probs, columns))
    panel.mode_combo.setCurrentIndex(1)
    np.testing.assert_array_equal(panel.grid_view.mosaic, tile(state.samples * 255, columns))   # black and white
    assert "step 7" in panel.caption.text() and "45 Gibbs steps" in panel.caption.text()


def click_image_pixel(panel: ChainsPanel, x: float, y: float):
    """A real mouse click on the grid view at image pixel (x, y)."""
    scene_pos = panel.image_item.mapToScene(QtCore.QPointF(x, y))
    widget_pos = panel.grid_view.mapFromScene(scene_pos)
    QTest.mouseClick(panel.grid_view.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     QtCore.Qt.KeyboardModifier.NoModifier, widget_pos)


def test_clicking_a_chain_tile_calls_the_views_method_with_its_index(qtbot):
    panel = shown(qtbot, chains_panel(), (400, 600))
    panel.show_frame(chain_state(n=10, h=6, w=5, columns=4))   # tiles 5 wide + 1 pad, 6 high + 1 pad
    qtbot.wait(50)
    columns = panel.grid_view.columns                           # reflowed to fill the panel
    for index in (0, 3, 6, 9):
        row, col = divmod(index, columns)
        with qtbot.waitSignal(panel.methodCalled, timeout=1000) as blocker:
            click_image_pixel(panel, col * 6 + 2.5, row * 7 + 3.0)
        assert blocker.args == ["restart_chain", (index,)]
        assert panel.highlight.isVisible()
    clicked = []
    panel.methodCalled.connect(lambda method, args: clicked.append(args))
    click_image_pixel(panel, 5.5, 3.0)          # the padding column between chains 0 and 1
    click_image_pixel(panel, 2.5, 6.5)          # the padding row between chains 0 and 3
    last_row = 9 // columns + (1 if 10 % columns == 0 else 0)
    click_image_pixel(panel, (columns - 1) * 6 + 2.5, last_row * 7 + 3.0)   # past the 10th chain
    panel.set_live(False)
    click_image_pixel(panel, 2.5, 3.0)          # a replay: clicks do nothing
    qtbot.wait(50)
    assert clicked == []
    assert panel.chain_at(-1, 2) is None and panel.chain_at(columns * 6 + 0.5, 1) is None


def test_gibbs_steps_per_frame_is_the_views_control(qtbot):
    panel = shown(qtbot, chains_panel())
    editor = panel.control_editors["gibbs_per_frame"]
    emitted = []
    panel.configEdited.connect(lambda name, value: emitted.append((name, value)))
    editor.widget.setValue(25)
    assert emitted == [("gibbs_per_frame", 25)]
    panel.set_config({"gibbs_per_frame": 300})
    assert editor.widget.value() == 300 and emitted == [("gibbs_per_frame", 25)]
    assert (editor.widget.minimum(), editor.widget.maximum()) == (1, 1000)


def test_chain_history_rows_stack_top_to_bottom_with_their_steps(qtbot):
    panel = shown(qtbot, chains_panel(), (400, 700))
    assert not panel.history_box.isVisible()             # no row yet: the chains have the whole panel
    panel.show_frame(ChainHistory("chain_history", 1, np.zeros((0, 5, 6, 4), np.float32), np.zeros(0, int), 200))
    assert not panel.history_box.isVisible()
    rows = RNG.random((3, 5, 6, 4), dtype=np.float32)   # 3 rows of the first 5 chains
    panel.show_frame(ChainHistory("chain_history", 40, rows, np.array([200, 400, 600]), 200))
    assert panel.history_box.isVisible()
    mosaic = panel.history_item.image
    np.testing.assert_array_equal(mosaic, tile(rows.reshape(15, 6, 4), 5))
    np.testing.assert_array_equal(mosaic[7:13, 5:9], rows[1, 1])     # row 1, chain 1
    ticks = panel.history_view.plot.getAxis("left")._tickLevels
    labels = {text for level in ticks for _, text in level}
    assert labels == {"200", "400", "600"}
    assert "every 200 Gibbs steps" in panel.history_caption.text()
    # building up: a fourth row arrives and is drawn at the bottom
    rows4 = np.concatenate([rows, RNG.random((1, 5, 6, 4), dtype=np.float32)])
    panel.show_frame(ChainHistory("chain_history", 50, rows4, np.array([200, 400, 600, 800]), 200))
    assert panel.history_item.image.shape[0] == 4 * 7 - 1
    np.testing.assert_array_equal(panel.history_item.image[21:27, :4], rows4[3, 0])


def test_chains_panel_rejects_other_frames(qtbot):
    panel = shown(qtbot, chains_panel())
    with pytest.raises(TypeError, match="ChainState"):
        panel.show_frame(ImageGrid("filters", 1, np.zeros((1, 2, 2), np.float32)))


# ---------------------------------------------------------------------------------- curves
def rows_of(steps, walls, **series):
    return [(int(s), float(w), {name: float(v[i]) for name, v in series.items()})
            for i, (s, w) in enumerate(zip(steps, walls, strict=True))]


def plot_item(panel: CurvesPanel, name: str):
    """The plot of metric ``name`` (made now if it waits for its turn of the event loop)."""
    panel._make_waiting_plots()
    return panel._series[name].plot


def plotted(panel: CurvesPanel, name: str):
    """(x, y) given to the main curve of ``name`` (smoothed when smoothing is on), before log
    mapping and downsampling."""
    panel._make_waiting_plots()
    return panel._series[name].curve.getOriginalDataset()


def plotted_now(panel: CurvesPanel, name: str):
    """What ``name``'s curve shows once pending redraws have run (the panel holds them off for a
    moment when redraws get slow, e.g. on a loaded machine)."""
    panel.redraw()
    return plotted(panel, name)


def reference_smoothing(values, weight):
    """TensorBoard's loop, point by point."""
    last, count, out = 0.0, 0, []
    for v in values:
        if not np.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return np.array(out)


def test_add_rows_creates_a_curve_per_metric_and_fills_buffers(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of([10, 20], [100.0, 101.0], loss=[3.0, 2.0]))
    panel.add_rows([(30, 102.0, {"loss": 1.5, "acc": 0.5})])
    assert panel.names() == ["loss", "acc"]
    steps, walls, values = panel.series("loss")
    np.testing.assert_array_equal(steps, [10, 20, 30])
    np.testing.assert_array_equal(walls, [100.0, 101.0, 102.0])
    np.testing.assert_array_equal(values, [3.0, 2.0, 1.5])

    def all_rows_drawn():
        x, _ = plotted(panel, "loss")
        assert x is not None and len(x) == 3

    qtbot.waitUntil(all_rows_drawn)
    x, y = plotted(panel, "loss")
    np.testing.assert_array_equal(x, [10, 20, 30])
    np.testing.assert_array_equal(y, [3.0, 2.0, 1.5])
    assert plot_item(panel, "loss") is not plot_item(panel, "acc")      # one plot per metric
    panel.clear()
    assert panel.names() == []


def test_buffers_grow_by_doubling_not_per_row(qtbot):
    panel = shown(qtbot, CurvesPanel())
    capacities = set()
    for start in range(0, 5000, 50):
        panel.add_rows(rows_of(range(start, start + 50), range(start, start + 50), m=np.ones(50)))
        panel.redraw()                                           # its plot made, its rows in the buffer
        capacities.add(len(panel._series["m"].values))
    assert capacities == {1024, 2048, 4096, 8192}
    assert len(panel.series("m")[0]) == 5000


def test_plots_still_to_be_made_when_the_window_closes_are_dropped_quietly(qtbot):
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.add_rows([(1, 0.0, {"loss": 1.0, "kl": 2.0})])        # their plots come in later turns ...
    panel.plots.close()                                          # ... but the window closes first
    qtbot.wait(50)                                               # an exception in a slot fails the test
    assert not panel._plot_timer.isActive()


def test_a_plot_layout_deleted_under_a_valid_looking_wrapper_drops_the_waiting_plots(qtbot, monkeypatch):
    """Closing the window can delete the plots' C++ layout while its wrapper still passes the
    validity check (a first-use test caught this in the window's teardown): the plots waiting to be
    made are dropped, nothing raises in the event loop, and reading the curves does not spin."""
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.show()

    def deleted(*args, **kwargs):
        raise RuntimeError("libshiboken: Internal C++ object (GraphicsLayout) already deleted.")
    monkeypatch.setattr(panel.plots, "addPlot", deleted)
    panel.add_rows([(1, 0.0, {"loss": 1.0, "kl": 2.0})])
    qtbot.wait(50)                                               # an exception in a slot fails the test
    assert not panel._plot_timer.isActive() and panel.names() == []


def test_a_marker_label_lies_inside_its_plot(qtbot):
    panel = shown(qtbot, CurvesPanel(), (500, 230))      # a short plot: the label is a large share of it
    panel.add_rows(rows_of([10, 20, 30], [100.0, 101.0, 102.0], loss=[3.0, 2.0, 1.0]))
    panel.add_markers([(20, "lr=0.05")])
    qtbot.waitUntil(lambda: bool(panel._marker_lines), timeout=2_000)
    qtbot.wait(50)
    line = panel._marker_lines[0][0]
    view = line.getViewBox()
    inside = view.sceneBoundingRect().adjusted(-1, -1, 1, 1)
    assert inside.contains(line.label.sceneBoundingRect())            # not clipped at the top


def test_nan_values_are_kept_in_buffers_and_break_the_curve(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of([1, 2, 3, 4], [0, 1, 2, 3], m=[1.0, np.nan, 3.0, 4.0]))
    assert np.isnan(panel.series("m")[2][1])
    curve = panel._series["m"].curve
    assert curve.opts["connect"] == "finite"
    path = curve.curve.getPath()
    elements = [path.elementAt(i) for i in range(path.elementCount())]
    assert 2 not in [e.x for e in elements]                    # the NaN point is not drawn ...
    restart = next(e for e in elements if e.x == 3)
    assert restart.isMoveTo()                                  # ... and no line crosses its gap


def test_ema_vectorised_matches_the_loop_and_continues_across_chunks():
    values = RNG.normal(size=3000)
    values[[5, 100, 2999]] = np.nan
    for weight in (0.0, 0.3, 0.9, 0.99):
        expected = reference_smoothing(values, weight)
        whole, _ = smooth_debiased(values, weight)
        np.testing.assert_allclose(whole, expected, rtol=1e-10, atol=1e-12)
        first, state = smooth_debiased(values[:1234], weight)
        rest, _ = smooth_debiased(values[1234:], weight, state)
        np.testing.assert_allclose(np.concatenate([first, rest]), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ema(np.ones(5), 0.5), [0.5, 0.75, 0.875, 0.9375, 0.96875])


def test_smoothing_slider_draws_the_debiased_ema_over_the_faint_raw_curve(qtbot):
    panel = shown(qtbot, CurvesPanel())
    values = np.array([1.0, 5.0, 2.0, 8.0, 3.0, 9.0])
    panel.add_rows(rows_of(range(3), range(3), m=values[:3]))
    panel.smoothing_slider.setValue(60)
    panel.add_rows(rows_of(range(3, 6), range(3, 6), m=values[3:]))   # smoothed incrementally
    _, y = plotted_now(panel, "m")
    np.testing.assert_allclose(y, reference_smoothing(values, 0.6))
    assert y[0] == values[0]                  # debiased: the first point is not pulled to 0
    raw = panel._series["m"].raw_curve
    np.testing.assert_array_equal(raw.getOriginalDataset()[1], values)
    assert raw.opts["pen"].color().alpha() < 255
    panel.smoothing_slider.setValue(0)
    np.testing.assert_array_equal(plotted_now(panel, "m")[1], values)
    assert raw.getOriginalDataset() == (None, None)


def test_wall_time_axis_counts_seconds_from_the_first_row(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of([10, 20, 30], [1000.0, 1002.5, 1010.0], m=[1, 2, 3]))
    panel.x_axis_combo.setCurrentIndex(1)
    np.testing.assert_allclose(plotted_now(panel, "m")[0], [0.0, 2.5, 10.0])
    panel.set_series("early", [0, 5], [990.0, 995.0], [1.0, 1.0])   # a series starting earlier
    np.testing.assert_allclose(plotted_now(panel, "m")[0], [10.0, 12.5, 20.0])
    panel.x_axis_combo.setCurrentIndex(0)
    np.testing.assert_array_equal(plotted_now(panel, "m")[0], [10, 20, 30])


def test_log_axis_maps_positive_values_and_skips_the_rest(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of([1, 2, 3, 4], [0, 1, 2, 3], m=[10.0, 0.0, -1.0, 1000.0], neg=[-1, -2, -3, -4]))
    panel.redraw()
    panel.log_check.setChecked(True)
    plot = plot_item(panel, "m")
    assert plot.getAxis("left").logMode
    _, shown_y = panel._series["m"].curve.getData()
    np.testing.assert_array_equal(shown_y[[0, 3]], [1.0, 3.0])
    assert np.isnan(shown_y[1]) and np.isnan(shown_y[2])
    (_, _), (y0, y1) = plot.getViewBox().viewRange()
    assert y0 <= 1.0 and y1 >= 3.0                            # log10 space: 10 .. 1000 visible
    assert "log" in plot_item(panel, "neg").titleLabel.text      # nothing to show, said so
    assert all(np.isfinite(plot_item(panel, "neg").getViewBox().viewRange()[1]))
    panel.log_check.setChecked(False)
    assert plot_item(panel, "neg").titleLabel.text == "neg"


def test_curves_get_a_readable_height_and_columns_when_wide(qtbot):
    panel = shown(qtbot, CurvesPanel(), (500, 300))
    panel.add_rows(rows_of([1, 2], [0, 1], **{f"m{i}": [1.0, 2.0] for i in range(6)}))
    assert len(panel._series) < 6                               # the plots are made one per event-loop turn
    qtbot.waitUntil(lambda: panel.plots.minimumHeight() >= 6 * 120)   # one column: the panel scrolls
    panel.resize(1300, 300)
    qtbot.waitUntil(lambda: panel.plots.minimumHeight() == 2 * 120)   # three columns of two rows
    assert plot_item(panel, "m0").getAxis("bottom").labelText == "step"
    panel.x_axis_combo.setCurrentIndex(1)
    assert plot_item(panel, "m0").getAxis("bottom").labelText == "wall time (s)"


def test_live_edits_are_marked_on_every_plot(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of([10, 20, 30], [0, 1, 2], a=[1, 2, 3]))
    panel.add_markers([(20, "lr=0.5")])
    panel.add_rows(rows_of([40], [3], a=[4], b=[5]))             # a plot made later gets it too
    plots = [plot_item(panel, name) for name in ("a", "b")]
    cursors = {line for _, line in panel.cursor.lines}                  # the step cursor's, hidden live
    lines = [item for plot in plots for item in plot.items if isinstance(item, pg.InfiniteLine) and item not in cursors]
    assert [line.value() for line in lines] == [20, 20] and panel.markers() == [(20, "lr=0.5")]
    assert len(cursors) == 2 and not any(line.isVisible() for line in cursors)
    assert lines[0].label is not None and lines[0].label.format == "lr=0.5"
    panel.x_axis_combo.setCurrentIndex(1)                        # wall time: at the row's time
    assert lines[0].value() == 1.0


def settled_range(qtbot, panel: CurvesPanel, name: str):
    """The range of ``name``'s view once pending redraws have run and it has auto-ranged (it does
    when it paints; forced in case it has not)."""
    panel.redraw()
    qtbot.wait(10)
    view = plot_item(panel, name).getViewBox()
    view.updateAutoRange()
    return view.viewRange()


def test_live_rows_move_the_axes_only_when_they_leave_the_headroom(qtbot):
    panel = shown(qtbot, CurvesPanel())
    panel.add_rows(rows_of(range(0, 100, 10), range(10), m=np.linspace(1.0, 2.0, 10)))
    (x0, x1), (y0, y1) = settled_range(qtbot, panel, "m")
    assert x0 <= 0 and 90 <= x1 < 100 and y0 <= 1 and 2 <= y1 < 2.1    # a first box fits tightly
    panel.add_rows([(100, 10.0, {"m": 2.1})])                 # outgrown: the box grows with room
    grown = settled_range(qtbot, panel, "m")
    assert grown[0][1] >= 110 and grown[1][1] >= 2.2
    for step, value in ((110, 2.05), (115, 0.95)):            # inside the room: the axes stay put
        panel.add_rows([(step, 11.0, {"m": value})])
        assert settled_range(qtbot, panel, "m") == grown
    panel.add_rows([(1000, 12.0, {"m": 2.0})])
    assert settled_range(qtbot, panel, "m")[0][1] >= 1000


def test_hover_shows_every_curves_value_at_the_hovered_step(qtbot):
    panel = shown(qtbot, CurvesPanel(), (600, 500))
    panel.add_rows(rows_of([0, 100, 200, 300], [50.0, 51.0, 52.0, 53.0], loss=[4.0, 3.0, 2.5, 2.0], acc=[0.1] * 4))
    panel.add_rows([(300, 53.0, {"rare": 7.0})])               # a metric recorded at another step only
    qtbot.wait(20)
    view = plot_item(panel, "loss").getViewBox()
    panel._on_mouse_moved(view.mapViewToScene(QtCore.QPointF(190.0, 2.6)))
    text = panel.readout.text()
    assert text.startswith("step 200 · 2.0 s · ") and "loss 2.5" in text and "acc 0.1" in text
    assert "rare 7 at step 300" in text
    assert all(panel._series[name].marker.isVisible() for name in ("loss", "acc", "rare"))
    acc_view = plot_item(panel, "acc").getViewBox()
    panel._on_mouse_moved(acc_view.mapViewToScene(QtCore.QPointF(20.0, 0.1)))
    assert panel.readout.text().startswith("step 0 · ") and "loss 4" in panel.readout.text()
    assert panel._series["loss"].marker.getData()[0][0] == 0


def test_hidden_panel_defers_drawing_until_shown(qtbot):
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.add_rows(rows_of([1, 2], [0, 1], m=[1.0, 2.0]))
    assert plotted(panel, "m") == (None, None)            # nothing drawn while hidden
    np.testing.assert_array_equal(panel.series("m")[2], [1.0, 2.0])
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: plotted(panel, "m")[1] is not None, timeout=1000)
    np.testing.assert_array_equal(plotted(panel, "m")[1], [1.0, 2.0])


def test_a_million_points_per_curve_in_chunks(qtbot):
    panel = shown(qtbot, CurvesPanel(), (600, 500))
    total, chunk = 1_000_000, 20_000
    values = np.cumsum(RNG.normal(size=total))
    elapsed = 0.0                                           # time in the panel, not in making rows
    for start in range(0, total, chunk):
        rows = [(s, 0.01 * s, {"a": values[s], "b": -values[s]}) for s in range(start, start + chunk)]
        started = time.perf_counter()
        panel.add_rows(rows)
        elapsed += time.perf_counter() - started
    started = time.perf_counter()
    panel.smoothing_slider.setValue(90)
    panel.redraw()
    elapsed += time.perf_counter() - started
    print(f"1,000,000 points x 2 curves added in chunks + smoothed redraw: {elapsed:.2f} s")
    steps = panel.series("a")[0]
    assert len(steps) <= 200_000 and steps[-1] == total - 1    # thinned in memory, bounded; the run keeps all
    np.testing.assert_allclose(plotted_now(panel, "a")[1][-1], reference_smoothing(values[-5000:], 0.9)[-1], rtol=1e-6)
    settled_range(qtbot, panel, "a")                        # display data follow the range
    shown_x, _ = panel._series["a"].curve.getData()
    assert len(shown_x) < 50_000                           # peak-downsampled for display


def test_a_very_long_curve_keeps_bounded_memory_and_its_spikes(qtbot, monkeypatch):
    import engines.records.series as series

    monkeypatch.setattr(series, "MAX_POINTS", 1000)
    panel = shown(qtbot, CurvesPanel())
    values = np.ones(5000)
    values[3333] = 50.0                                         # a spike that must survive thinning
    values[4444] = np.nan
    for start in range(0, 5000, 250):
        chunk = range(start, start + 250)
        panel.add_rows(rows_of(chunk, chunk, m=values[start:start + 250]))
    steps, _, kept = panel.series("m")
    assert len(steps) <= 1000 and steps[-1] == 4999 and np.all(np.diff(steps) > 0)
    assert 50.0 in kept and np.isnan(kept).any()
    assert len(panel._series["m"].values) <= 1000                # the buffer itself stays bounded
