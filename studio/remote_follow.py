"""File → Follow a remote run: a run that another machine (a cluster node) records on its own disk
and serves (``python -m engines serve RUN_DIR``, or ``train --serve PORT``), reached through an SSH
tunnel and followed here like any run another process writes.

The copying is ``python -m engines mirror`` in a child process (:mod:`engines.records.serving`), so
the GUI neither waits on the network nor runs threads. It writes a local copy under the runs folder,
which the window opens once the copy exists. The token reaches the child in its environment, not on
its command line (which other users of this machine can read). When the child ends, the copy is no
longer written, so the view stops following it; if it ended with an error, its one line says why.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from engines.cli import UsageError
from engines.records.serving import DEFAULT_PORT, RETRY_S, TOKEN_ENV, TOKEN_FILE, read_token
from studio.output_options import form_buttons

STOP_WAIT_MS = 3000          # a stopped mirror leaves at once; past this it is killed
LOST_AFTER_S = RETRY_S       # how long the copy tries a lost connection again before it gives up


class RemoteMirror(QtCore.QObject):
    """``python -m engines mirror URL --into INTO`` as a child process: ``ready`` (the folder) once
    the local copy exists, ``ended`` when the child ends: "" when the served run ended and all of it
    is copied, else why the copy stopped."""

    ready = QtCore.Signal(str)
    ended = QtCore.Signal(str)

    def __init__(self, url: str, token: str, into: Path, parent=None):
        super().__init__(parent)
        self.url, self.into = url, Path(into)
        self.shown = False                 # the window shows the copy: closing that view stops it
        self._announced = False
        self._output = b""
        self.process = QtCore.QProcess(self)
        environment = QtCore.QProcessEnvironment.systemEnvironment()
        environment.insert(TOKEN_ENV, token)
        self.process.setProcessEnvironment(environment)
        self.process.setProgram(sys.executable)
        self.process.setArguments(["-m", "engines", "mirror", url, "--token-env", TOKEN_ENV, "--into", str(self.into),
                                   "--retry-s", f"{LOST_AFTER_S:g}"])
        self.process.setWorkingDirectory(str(Path(__file__).resolve().parents[1]))
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)

    def start(self) -> None:
        self.process.start()

    def _read_output(self) -> None:
        """The child's one line on stdout (``mirroring URL into DIR``) says the copy exists."""
        self._output += bytes(self.process.readAllStandardOutput())
        if not self._announced and b"\n" in self._output and self._output.startswith(b"mirroring "):
            self._announced = True
            self.ready.emit(str(self.into))

    def _finished(self, code: int, status) -> None:
        errors = bytes(self.process.readAllStandardError()).decode(errors="replace").strip().splitlines()
        if code == 0 and status == QtCore.QProcess.ExitStatus.NormalExit:
            self.ended.emit("")
        elif errors:
            self.ended.emit(errors[-1].removeprefix("error: "))
        else:
            crashed = status != QtCore.QProcess.ExitStatus.NormalExit
            self.ended.emit(f"the copy stopped (exit {'crash' if crashed else code})")

    def _failed_to_start(self, error) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            self.ended.emit("the copy could not start (python -m engines mirror)")

    def stop(self) -> None:
        """End the child (SIGTERM: the copy is closed and kept; a kill if it lingers), saying nothing."""
        self.blockSignals(True)
        if self.process.state() != QtCore.QProcess.ProcessState.NotRunning:
            self.process.terminate()
            if not self.process.waitForFinished(STOP_WAIT_MS):
                self.process.kill()
                self.process.waitForFinished(STOP_WAIT_MS)

    def forget_if_empty(self) -> None:
        """Remove the copy's folder if nothing was copied into it."""
        try:
            self.into.rmdir()
        except OSError:
            pass


class FollowRemoteDialog(QtWidgets.QDialog):
    """The served run's address and its token (typed, or read from a copy of its token file).
    Follow hands them to ``follow(url, token)``, which returns "" once the copy has started (the
    dialog closes) or what is wrong (shown in the dialog)."""

    def __init__(self, follow, parent=None):
        super().__init__(parent)
        self.follow = follow
        self.setWindowTitle("Follow a remote run")
        self.url_edit = QtWidgets.QLineEdit(f"http://localhost:{DEFAULT_PORT}")
        self.token_edit = QtWidgets.QLineEdit()
        self.token_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(f"the run's {TOKEN_FILE}")
        file_button = QtWidgets.QPushButton("From file…")
        file_button.setToolTip(f"Read the token from a copy of the run's {TOKEN_FILE}")
        file_button.clicked.connect(self._token_from_file)
        token_row = QtWidgets.QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(file_button)
        hint = QtWidgets.QLabel(
            f"On the node: <tt>python -m engines serve RUN_DIR</tt> (or <tt>train … --serve {DEFAULT_PORT}</tt>); "
            f"here: <tt>ssh -N -L {DEFAULT_PORT}:localhost:{DEFAULT_PORT} NODE</tt>. The token is in "
            f"<tt>RUN_DIR/{TOKEN_FILE}</tt> on the node.")
        hint.setWordWrap(True)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        form = QtWidgets.QFormLayout()
        form.addRow("Address", self.url_edit)
        form.addRow("Token", token_row)
        buttons, self.follow_button = form_buttons(self, "Follow", self.start_following)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.follow_button.setDefault(True)             # Return, now that it is in the dialog
        self.setMinimumWidth(520)

    def _token_from_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "The run's token file", str(Path.home()))
        if path:
            try:
                self.token_edit.setText(read_token(path, None))
            except UsageError as exc:
                self.message.setText(str(exc)[:1].upper() + str(exc)[1:])

    def start_following(self) -> None:
        problem = self.follow(self.url_edit.text(), self.token_edit.text())
        if problem:
            self.message.setText(problem)
        else:
            self.accept()
