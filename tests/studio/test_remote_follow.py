"""File → Follow a remote run: a run served by a real ``serve`` child process on the loopback
interface, copied by the window's ``mirror`` child and shown as a followed run."""
import os
import signal

import pytest
from PySide6 import QtCore

from engines.core.store import writer_alive
from engines.runs import runs_root
from studio import remote_follow
from studio.window import MainWindow
from tests.engines import test_serving
from tests.engines.test_serving import add_step, write_run

served = test_serving.served          # the fixture: a real `serve` child process

START_MS = 15_000


def follow(qtbot, url, token) -> MainWindow:
    """A window following the run served at ``url`` through File → Follow a remote run."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    dialog = window.open_remote_dialog()
    dialog.url_edit.setText(url)
    dialog.token_edit.setText(token)
    dialog.follow_button.click()
    assert dialog.message.text() == "" and not dialog.isVisible()
    return window


def test_a_followed_remote_run_shows_its_curves_and_frames_as_they_come(qtbot, served, tmp_path):
    store = write_run(tmp_path / "run")
    url, token, _ = served(tmp_path / "run")
    window = follow(qtbot, url, token)
    qtbot.waitUntil(lambda: window.viewer is not None and window.viewer.following, timeout=START_MS)
    copy = window.run_dir
    assert copy.parent == runs_root() and copy.name.startswith(f"remote-127.0.0.1-{url.rsplit(':', 1)[1]}-")
    assert "following" in window.state_label.text()
    qtbot.waitUntil(lambda: "mean" in window.last_frames, timeout=START_MS)       # the rows the copy takes next
    assert window.last_frames["mean"].step == 1
    add_step(store, 2)
    qtbot.waitUntil(lambda: window.last_frames["mean"].step == 2, timeout=START_MS)
    qtbot.waitUntil(lambda: list(window.curves.series("loss")[0]) == [1, 2], timeout=START_MS)
    store.set_meta(status="finished", steps=2)
    store.close()
    qtbot.waitUntil(lambda: window.remote is None and not window.viewer.following, timeout=START_MS)
    assert window.error_text == "" and window.state_label.text() == "recorded · finished"
    assert window.timeline.slider.maximum() == 1
    window.close()


def test_a_server_that_goes_away_is_a_message_and_the_view_stops_following(qtbot, served, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_follow, "LOST_AFTER_S", 1.0)
    store = write_run(tmp_path / "run")
    url, token, server = served(tmp_path / "run")
    window = follow(qtbot, url, token)
    qtbot.waitUntil(lambda: window.viewer is not None and "mean" in window.last_frames, timeout=START_MS)
    server.send_signal(signal.SIGKILL)
    qtbot.waitUntil(lambda: "Lost the connection" in window.error_text, timeout=20_000)
    assert window.error_text == (f"Lost the connection to {url}: Connection refused; what was copied is kept "
                                 f"in {window.run_dir}")
    qtbot.waitUntil(lambda: not window.viewer.following, timeout=5_000)
    assert window.remote is None and window.last_frames["mean"].step == 1      # what was copied stays shown
    store.close()
    window.close()


def test_a_refused_token_is_a_message_and_closing_the_view_stops_the_copy(qtbot, served, tmp_path):
    write_run(tmp_path / "run").close()
    url, token, _ = served(tmp_path / "run")
    window = follow(qtbot, url, "wrong")
    qtbot.waitUntil(lambda: window.error_text != "", timeout=START_MS)
    assert window.error_text == f"The token was refused by {url}" and window.viewer is None
    assert not [p for p in runs_root().glob("remote-*") if not any(p.iterdir())]    # no empty folder left
    assert window.follow_remote("ftp://node", "t").startswith("A served run's address looks like http://")
    store = write_run(tmp_path / "live")                                           # a run still written
    url, token, _ = served(tmp_path / "live")
    assert window.follow_remote(url, token) == ""
    qtbot.waitUntil(lambda: window.viewer is not None and window.viewer.following, timeout=START_MS)
    pid, copy = window.remote.process.processId(), window.run_dir
    assert writer_alive(copy)
    window.close()                                     # the copy is stopped (its process gone), and kept
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not writer_alive(copy) and (copy / "run.sqlite").is_file()
    store.close()


def test_return_in_the_token_field_follows(qtbot):
    """Return from the token field is the Follow button (not From file…, the first button)."""
    asked = []
    dialog = remote_follow.FollowRemoteDialog(lambda url, token: asked.append((url, token)) or "")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.token_edit.setFocus()
    qtbot.keyClicks(dialog.token_edit, "secret")
    qtbot.keyClick(dialog.token_edit, QtCore.Qt.Key.Key_Return)
    assert asked == [(dialog.url_edit.text(), "secret")] and not dialog.isVisible()
