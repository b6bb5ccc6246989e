"""The Runs dock's hyper-parameter view: config fields and last metrics as chosen columns, sorted
and filtered by them (``lr>0.01``), and a parallel-coordinates plot of the runs coloured by a
metric, whose lines select their runs."""
import numpy as np
import pytest
from PySide6 import QtCore

from engines.core.store import RunStore
from engines.records.run_index import scan
from studio.hparams import axis_positions, holds
from studio.run_browser import COLUMNS, RunBrowser

RUNS = {"vae-a": ({"lr": 0.001, "latent": 2}, 95.0), "vae-b": ({"lr": 0.003, "latent": 2}, 91.0),
        "vae-c": ({"lr": 0.01, "latent": 8}, 88.5), "vae-d": ({"lr": 0.03, "latent": 8}, 120.0)}


@pytest.fixture(scope="module")
def four_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hparams")
    for name, (config, loss) in RUNS.items():
        store = RunStore.create(root / name, {"model": "vae", "data": "digits", "config": config, "seed": 0})
        store.add_scalars(10, {"loss": loss + 5, "kl": 3.0})
        store.add_scalars(20, {"loss": loss})
        store.set_meta(status="finished", steps=20)
        store.close()
    return root


def browser_of(qtbot, folder, tmp_path):
    browser = RunBrowser(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    qtbot.addWidget(browser)
    browser.folders = [str(folder)]
    browser.resize(900, 700)
    browser.show()
    qtbot.waitUntil(lambda: browser.proxy.rowCount() == 4, timeout=10_000)
    return browser


def column_values(browser, title):
    headers = [browser.proxy.headerData(c, QtCore.Qt.Orientation.Horizontal) for c in range(browser.proxy.columnCount())]
    col = headers.index(title)
    return [browser.proxy.index(row, col).data() for row in range(browser.proxy.rowCount())]


def test_chosen_settings_and_metrics_become_sortable_columns_remembered(qtbot, four_runs, tmp_path):
    browser = browser_of(qtbot, four_runs, tmp_path)
    browser._fill_columns_menu()
    offered = [a.text() for a in browser.columns_menu.actions() if a.isCheckable()]
    assert offered == ["lr", "latent", "seed", "loss (last)", "kl (last)"]
    next(a for a in browser.columns_menu.actions() if a.text() == "lr").setChecked(True)   # as a user ticks it
    browser.show_column("metric:loss")
    assert browser.model.columnCount() == len(COLUMNS) + 2
    browser.table.sortByColumn(len(COLUMNS) + 1, QtCore.Qt.SortOrder.AscendingOrder)       # by the last loss
    assert column_values(browser, "loss (last)") == ["88.5", "91", "95", "120"]
    assert column_values(browser, "run") == ["vae-c", "vae-b", "vae-a", "vae-d"]
    again = browser_of(qtbot, four_runs, tmp_path)                                         # the choice is kept
    assert again.columns == ["setting:lr", "metric:loss"]


def test_the_filter_takes_comparisons_on_settings_and_metrics_and_plain_words(qtbot, four_runs, tmp_path):
    browser = browser_of(qtbot, four_runs, tmp_path)
    for text, shown in (("lr>0.002", {"vae-b", "vae-c", "vae-d"}), ("lr>0.002 loss<100", {"vae-b", "vae-c"}),
                        ("latent=8", {"vae-c", "vae-d"}), ("LATENT!=8 vae-a", {"vae-a"}),
                        ("model=vae", set(RUNS)), ("nosuch>1", set()), ("", set(RUNS))):
        browser.filter_edit.setText(text)
        assert {browser.proxy.index(r, 0).data() for r in range(browser.proxy.rowCount())} == shown, text
    run = next(s for s in scan([four_runs]) if s.path.name == "vae-a")
    assert holds(run, "steps", ">=", "20") and not holds(run, "model", "<", "vae")


def test_axes_place_numbers_by_value_and_other_values_by_order():
    heights, labels = axis_positions([0.001, 0.003, None, 0.01])
    assert list(heights[[0, 1, 3]]) == pytest.approx([0, 0.2222, 1], abs=1e-4) and np.isnan(heights[2])
    assert labels == [(0.0, "0.001"), (1.0, "0.01")]
    heights, labels = axis_positions(["relu", "tanh", "relu"])
    assert list(heights) == [0, 1, 0] and labels == [(0.0, "relu"), (1.0, "tanh")]


def test_the_parallel_plot_draws_the_runs_coloured_by_a_metric_and_a_click_selects_one(qtbot, four_runs, tmp_path):
    browser = browser_of(qtbot, four_runs, tmp_path)
    browser.plot_button.setChecked(True)
    assert browser.plot_box.isVisible()
    browser.colour_box.setCurrentIndex(browser.colour_box.findData("metric:loss"))
    assert set(browser.plot.lines) == {str(four_runs / name) for name in RUNS}       # none selected: all listed
    ticks = [text for _, text in browser.plot.getAxis("bottom")._tickLevels[0]]
    assert ticks == ["lr", "latent", "loss (last)"]                                  # the settings that differ
    assert browser.plot.colour_range == (88.5, 120.0) and "from 88.5 (purple) to 120 (yellow)" in browser.plot_caption.text()
    best, worst = (browser.plot.lines[str(four_runs / n)].opts["pen"].color() for n in ("vae-c", "vae-d"))
    assert best.red() < 100 and worst.red() > 200                                    # viridis: purple to yellow
    x, y = browser.plot.lines[str(four_runs / "vae-d")].getData()
    assert list(x) == [0, 1, 2] and list(y) == [1.0, 1.0, 1.0]                       # the largest of each
    browser.plot.lines[str(four_runs / "vae-b")].sigClicked.emit(browser.plot.lines[str(four_runs / "vae-b")], None)
    assert browser.selected_paths() == [str(four_runs / "vae-b")]
    browser.filter_edit.setText("latent=8")                                          # the plot follows the filter
    assert set(browser.plot.lines) == {str(four_runs / "vae-c"), str(four_runs / "vae-d")}
    browser.table.selectAll()
    assert len(browser.plot.lines) == 2
