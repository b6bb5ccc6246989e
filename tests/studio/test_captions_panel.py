"""The captions panel: typing calls set_caption (after a pause or on Enter), unknown words marked,
canvas and word heat map drawn from the frame, held-out compositions one click away."""
import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engines.core.frames import tile
from engines.core.views import View
from engines.data.captions import VOCABULARY
from engines.draw.frames import CaptionTrace
from studio.panels.captions import CaptionsPanel

RNG = np.random.default_rng(0)
VIEW = View("captions", "Images from captions", kinds=(CaptionTrace,), calls=("set_caption",), area="main")
CAPTIONS = ("the digit 3 is at the top left of the image", "the digit 1 is on the left of the digit 2")


def frame(steps=4, columns=2, typed=False, step=5):
    rows = len(CAPTIONS)
    words = tuple(tuple(c.split()) for c in CAPTIONS)
    alignment = RNG.random((rows * columns, steps, 11), dtype=np.float32)
    alignment /= alignment.sum(-1, keepdims=True)
    write = np.tile(np.array([20, 30, 2, 1, 1], np.float32), (rows * columns, steps, 1))
    return CaptionTrace("captions", step, RNG.random((rows * columns, steps, 16, 16), dtype=np.float32), write,
                        alignment, captions=CAPTIONS, words=words, vocabulary=VOCABULARY,
                        suggestions=("the digit 5 is on the left of the digit 8",), typed=typed, write_n=4,
                        columns=columns)


@pytest.fixture
def panel(qtbot):
    widget = CaptionsPanel(VIEW)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_live(True)
    return widget


def test_the_frame_draws_canvases_windows_and_the_heat_map(panel):
    f = frame()
    panel.show_frame(f)
    assert panel.player.t == 4
    panel.player.slider.setValue(2)
    np.testing.assert_array_equal(panel.canvas.mosaic, tile(f.canvases[:, 1], 2))
    assert all(items.rect.isVisible() for items in panel.canvas.write_items[:4])
    np.testing.assert_array_equal(panel.heat_map.image_item.image, f.alignment[0, :, :11])
    assert panel.heat_map.marker.value() == pytest.approx(1.5)
    ticks = panel.heat_map.plot.getAxis("bottom")._tickLevels[0]
    assert [w for _, w in ticks] == list(CAPTIONS[0].split())
    panel.row_combo.setCurrentIndex(1)
    np.testing.assert_array_equal(panel.heat_map.image_item.image, f.alignment[2])
    assert panel.suggestions.count() == 1
    assert panel.grab().width() > 0


def test_typing_calls_set_caption_after_a_pause_and_enter_at_once(panel, qtbot):
    panel.show_frame(frame())
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    QTest.keyClicks(panel.caption_box, "the digit 4")
    assert calls == [] and panel.typing_timer.isActive()
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=3000)
    assert calls[0] == ("set_caption", ("the digit 4",))
    QTest.keyClicks(panel.caption_box, " is at the top left of the image")
    QTest.keyClick(panel.caption_box, QtCore.Qt.Key.Key_Return)
    assert calls[-1] == ("set_caption", ("the digit 4 is at the top left of the image",))
    assert not panel.typing_timer.isActive()


def test_unknown_words_are_marked_and_empty_captions_not_sent(panel):
    panel.show_frame(frame())
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    panel.caption_box.setText("the digit 4 is near a zebra")
    panel._on_edited(panel.caption_box.text())
    assert "line-through" in panel.words_label.text() and "zebra" in panel.words_label.text()
    assert "near" in panel.words_label.text().split("left out:")[1]
    assert "ff5252" in panel.caption_box.styleSheet()
    panel.submit()
    assert calls == [("set_caption", ("the digit 4 is near a zebra",))]     # the model leaves them out
    panel.caption_box.setText("   ")
    panel.submit()
    panel.caption_box.setText("zebra crossing")
    panel.submit()
    assert len(calls) == 1 and "nothing to draw" in panel.words_label.text()


def test_a_held_out_composition_is_one_click_away(panel):
    panel.show_frame(frame())
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    item = panel.suggestions.item(0)
    rect = panel.suggestions.visualItemRect(item)
    QTest.mouseClick(panel.suggestions.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     QtCore.Qt.KeyboardModifier.NoModifier, rect.center())
    assert calls == [("set_caption", ("the digit 5 is on the left of the digit 8",))]
    assert panel.caption_box.text() == "the digit 5 is on the left of the digit 8"


def test_replay_does_not_call(panel):
    panel.set_live(False)
    panel.show_frame(frame())
    calls = []
    panel.methodCalled.connect(lambda method, args: calls.append((method, args)))
    panel.caption_box.setText("the digit 2 is at the top of the digit 3")
    panel.submit()
    assert calls == [] and "replay" in panel.words_label.text()


def test_the_typed_caption_row_is_selected_when_it_appears(panel):
    panel.show_frame(frame())
    panel.row_combo.setCurrentIndex(1)
    panel.show_frame(frame(typed=True))
    assert panel.row_combo.currentIndex() == 0 and panel.row_combo.itemText(0).startswith("typed: ")
