"""Following a run from another machine: ``python -m engines serve RUN_DIR`` serves a run's records
read-only, and ``python -m engines mirror URL --into DIR`` copies them, as they come, into a local
run store that the studio follows like any run another process writes.

Why: SQLite's WAL mode must not be used over a network file system, so a cluster job records its
run on its node's local disk (rank 0), where no other machine can read it.

How it is kept safe, and simple:

- The server listens on 127.0.0.1 only: another machine reaches it through an SSH tunnel
  (``ssh -N -L 8765:localhost:8765 node``), which encrypts the traffic and authenticates the user.
- Every request must carry the token the server writes to ``RUN_DIR/serve-token`` (readable by the
  run's owner only, mode 0600) as ``Authorization: Bearer TOKEN``, because other users of the node
  can reach its loopback port too; without it the answer is 401 and no data.
- It answers GET on two fixed endpoints, reads the store and never writes it:
  ``/v1/meta`` gives ``{"meta": the run's description, "writing": whether a process writes the run
  (null: cannot tell)}``; ``/v1/rows?table=T&after=ID[&limit=N]`` gives ``{"rows": [...], "more":
  bool}``, the rows of T (one of :data:`~engines.core.store.COPIED_TABLES`, its columns in that
  order) whose id is past ID, in id order, a frame's data in base64, and whether there may be more.
  A bad parameter or path is a one-line 400 or 404; any other method, http.server's 501.
- The mirror checks what it is sent (table names are its own, every value's type, ids that grow)
  and writes only its own run store; frames are decoded later by the store's own checks.

The mirror asks once a second for the description, then each table's new rows until none is left,
then writes the description (a run read as ended has all its rows written already). It ends, with
status 0, once the served run is no longer written (its writer finished, stopped, failed or died)
and every row is copied. Rows are copied once: a later change on the node to a copied row (a resume
setting rows aside) is not carried over. A request that fails is tried again for ``--retry-s``
seconds; then the mirror ends with one line, ``lost the connection to URL: why`` (status 1); a
refused token ends it at once. The rows copied stay.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import signal
import socketserver
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from engines.cli import STOP_SIGNALS, UsageError, raise_keyboard_interrupt
from engines.core.files import replaced_atomically
from engines.core.store import COPIED_TABLES, SCHEMA_VERSION, RunStore, StoreError, check_described, writer_alive

HOST = "127.0.0.1"            # loopback only: another machine comes through an SSH tunnel
DEFAULT_PORT = 8765
TOKEN_FILE = "serve-token"    # in the run directory, mode 0600
TOKEN_ENV = "GENSTUDIO_SERVE_TOKEN"   # how the studio hands the mirror its token (not on a command line)
MAX_ROWS = {"frames": 16}     # rows in one answer: frames are large, the other rows small
DEFAULT_MAX_ROWS = 1000
MAX_ANSWER_BYTES = 64 * 2**20  # the mirror refuses a larger answer
REQUEST_TIMEOUT_S = 10.0
RETRY_S = 15.0                # how long the mirror tries a failed request again
POLL_S = 1.0
LINGER_S = 3.0                # stop_serving waits this long, so that a mirror copies the run's end
PARENT_CHECK_S = 1.0          # a server of train --serve checks this often whether its training process still runs
EXIT_LOST = 1
TYPES = {"rowid": int, "id": int, "step": int, "superseded": int, "base": (int, type(None)), "wall": (float, int),
         "value": (float, int, type(None)), "name": str, "kind": str, "meta": str, "message": str, "data": str}


class BadRequest(ValueError):
    """A request the server does not answer with data (``status``: 400, or 404 for an unknown
    endpoint); the message says why in one line."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------ the server
class RunServer(socketserver.TCPServer):
    """Serves one run's records, read-only, on 127.0.0.1:``port`` (0: a free port), to requests
    that carry ``token``; one request at a time."""

    allow_reuse_address = True            # a server started again binds at once

    def __init__(self, store: RunStore, token: str, port: int):
        self.store = store
        self.expected = f"Bearer {token}".encode()
        super().__init__((HOST, port), RunRequest)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def answer(self, target: str) -> dict:
        """The JSON answer to GET ``target``; BadRequest for an unknown endpoint or parameter."""
        url = urlsplit(target)
        if url.path == "/v1/meta":
            return {"meta": self.store.meta(), "writing": writer_alive(self.store.path)}
        if url.path != "/v1/rows":
            raise BadRequest(f"no endpoint {url.path[:80]!r}: ask /v1/meta or /v1/rows", 404)
        try:
            params = parse_qs(url.query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise BadRequest("unreadable query") from None
        if not {"table", "after"} <= params.keys() <= {"table", "after", "limit"} or any(
                len(values) != 1 for values in params.values()):
            raise BadRequest("ask /v1/rows?table=T&after=ID with an optional &limit=N, each once")
        table = params["table"][0]
        if table not in COPIED_TABLES:
            raise BadRequest(f"table must be one of {', '.join(COPIED_TABLES)}")
        most = MAX_ROWS.get(table, DEFAULT_MAX_ROWS)
        after = _whole(params, "after", 0, 2**62)
        limit = _whole(params, "limit", 1, most) if "limit" in params else most
        rows = self.store.rows_after(table, after, limit)
        return {"rows": [[base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in row] for row in rows],
                "more": len(rows) == limit}


def _whole(params: dict, name: str, low: int, high: int) -> int:
    text = params[name][0]
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(text)


class RunRequest(http.server.BaseHTTPRequestHandler):
    """One request to a :class:`RunServer`: GET with the token, or a refusal without data."""

    timeout = REQUEST_TIMEOUT_S       # a client that sends nothing does not hold the server up
    server_version = "genstudio-serve"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        given = self.headers.get("Authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self.server.expected):
            self._send(401, b"the token was refused\n", "text/plain", {"WWW-Authenticate": "Bearer"})
            return
        try:
            body = json.dumps(self.server.answer(self.path)).encode()
        except BadRequest as exc:
            self._send(exc.status, f"{exc}\n".encode(), "text/plain")
            return
        except StoreError as exc:
            self._send(500, f"{exc}\n".encode(), "text/plain")
            return
        self._send(200, body, "application/json")

    def _send(self, code: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(code)
        for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's name
        """Quiet: a mirror asks several times a second."""


def write_token(run_dir: Path, token: str) -> Path:
    """``run_dir/serve-token`` holding ``token``, readable by its owner only (written whole, then
    renamed into place)."""
    path = Path(run_dir) / TOKEN_FILE
    with replaced_atomically(path) as temp:
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(token + "\n")
    return path


def serve(run_dir, port: int = DEFAULT_PORT, with_parent: bool = False) -> int:
    """``python -m engines serve``: serve the run in ``run_dir`` until SIGTERM or Ctrl+C (then 0),
    or, ``with_parent``, until the process that started it has ended (``train --serve``: a server
    left behind by a killed training job stops within a second). One line on stderr says where:
    ``serving RUN_DIR read-only on http://127.0.0.1:PORT (token in FILE)``, a new random token in
    FILE; the token file is removed when it stops."""
    parent = os.getppid() if with_parent else None
    store = RunStore.open(run_dir)
    try:
        token = secrets.token_urlsafe(32)
        try:
            server = RunServer(store, token, port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
        try:
            token_path = write_token(store.path, token)
        except OSError:
            server.server_close()
            raise
        print(f"serving {store.path} read-only on http://{HOST}:{server.port} (token in {token_path})",
              file=sys.stderr, flush=True)
        previous = {sig: signal.signal(sig, raise_keyboard_interrupt) for sig in STOP_SIGNALS}
        server.timeout = PARENT_CHECK_S
        try:
            while parent is None or os.getppid() == parent:
                server.handle_request()        # one request, or none within PARENT_CHECK_S
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            server.server_close()
            with contextlib.suppress(OSError):
                if token_path.read_text().strip() == token:     # not another server's, started since
                    token_path.unlink()
    finally:
        store.close()
    return 0


def start_serving(run_dir, port: int) -> subprocess.Popen:
    """``python -m engines serve RUN_DIR --port PORT --with-parent`` as a child process (``train
    --serve``); its line (or its error) goes to this process's stderr. It runs in a session of its
    own, so a signal that stops the training job (torchrun passes SIGTERM to its workers' process
    groups) leaves it to serve the run's end until :func:`stop_serving`."""
    return subprocess.Popen([sys.executable, "-m", "engines", "serve", str(run_dir), "--port", str(port),
                             "--with-parent"], start_new_session=True)


def stop_serving(process: subprocess.Popen, linger_s: float = LINGER_S) -> None:
    """Stop a server of :func:`start_serving` once the run is closed: after ``linger_s`` seconds
    (in which a mirror, polling once a second, copies the run's last rows and its final status),
    SIGTERM, then a kill if it has not stopped 5 s later."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(linger_s)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ------------------------------------------------------------------------------------ the mirror
class MirrorError(RuntimeError):
    """The mirror cannot go on; the message says why in one line."""


def parse_url(url: str) -> tuple[str, int]:
    """(host, port) of a server's address ``http://HOST:PORT``; ValueError saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        good = parts.scheme == "http" and parts.hostname and parts.port is not None and parts.path in ("", "/")
    except ValueError:                   # a port that is no number
        good = False
    if not good or parts.query or parts.fragment:
        raise ValueError(f"a served run's address looks like http://localhost:{DEFAULT_PORT}, not {url!r}")
    return parts.hostname, parts.port


class Source:
    """The served run at ``url``, asked with ``token``."""

    def __init__(self, url: str, token: str, retry_s: float = RETRY_S):
        self.url = url.strip().rstrip("/")
        self.host, self.port = parse_url(url)
        self.token = token
        self.retry_s = retry_s
        self.reached = False

    def get(self, target: str) -> dict:
        """The JSON object the server answers to ``target``, the request tried again for
        ``retry_s`` seconds while it fails; MirrorError when it cannot be had."""
        deadline, wait = time.monotonic() + self.retry_s, 0.25
        while True:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            try:
                connection.request("GET", target, headers={"Authorization": f"Bearer {self.token}"})
                response = connection.getresponse()
                body = response.read(MAX_ANSWER_BYTES + 1)
                break
            except (OSError, http.client.HTTPException) as exc:
                if time.monotonic() + wait > deadline:
                    why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                    raise MirrorError(f"lost the connection to {self.url}: {why}" if self.reached else
                                      f"cannot reach {self.url}: {why} (is the SSH tunnel open?)") from None
                time.sleep(wait)
                wait = min(2 * wait, 2.0)
            finally:
                connection.close()
        self.reached = True
        if response.status == 401:
            raise MirrorError(f"the token was refused by {self.url}")
        if response.status != 200:
            line = body[:300].decode(errors="replace").strip().splitlines()
            raise MirrorError(f"{self.url} answered {response.status}: {line[0] if line else response.reason}")
        if len(body) > MAX_ANSWER_BYTES:
            raise MirrorError(f"{self.url} sent an answer over {MAX_ANSWER_BYTES // 2**20} MB")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise MirrorError(f"{self.url} did not answer as a genstudio run server")
        return answer

    def meta(self) -> tuple[dict, bool | None]:
        """The run's description, checked as the store checks its own, and whether it is written."""
        answer = self.get("/v1/meta")
        meta, writing = answer.get("meta"), answer.get("writing")
        if not isinstance(meta, dict) or not isinstance(meta.get("model"), str) or writing not in (True, False, None):
            raise MirrorError(f"{self.url} sent no run description")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise MirrorError(f"{self.url} serves a run of another format ({str(meta.get('schema_version'))[:40]}; "
                              f"this genstudio reads {SCHEMA_VERSION})")
        try:
            for key, value in meta.items():
                check_described(self.url, key, value)
        except StoreError as exc:
            raise MirrorError(str(exc)) from None
        return meta, writing

    def rows(self, table: str, after: int) -> tuple[list[tuple], bool]:
        """The rows of ``table`` past id ``after`` (checked: each column's type, ids growing past
        ``after``, frames' data decoded) and whether there may be more."""
        answer = self.get(f"/v1/rows?table={table}&after={after}")
        rows, more = answer.get("rows"), answer.get("more")
        columns = COPIED_TABLES[table]
        if not isinstance(rows, list) or not isinstance(more, bool):
            raise MirrorError(f"{self.url} sent unreadable rows of {table}")
        out = []
        for row in rows:
            if not (isinstance(row, list) and len(row) == len(columns) and all(
                    isinstance(value, TYPES[column]) and not isinstance(value, bool)
                    for column, value in zip(columns, row)) and row[0] > after):
                raise MirrorError(f"{self.url} sent a row of {table} that is not one: {str(row)[:120]}")
            if table == "frames":
                try:
                    row[columns.index("data")] = base64.b64decode(row[columns.index("data")], validate=True)
                except binascii.Error:
                    raise MirrorError(f"{self.url} sent a frame whose data is not base64") from None
            out.append(tuple(row))
            after = row[0]
        return out, more and bool(out)


def mirror(url: str, token: str, into, retry_s: float = RETRY_S, poll_s: float = POLL_S) -> int:
    """``python -m engines mirror``: copy the run served at ``url`` into a new run store ``into``
    (its writer, as the run's own process is, for as long as it copies), until the served run is
    no longer written and every row is copied (0). Prints ``mirroring URL into DIR`` on stdout
    once the local run exists; MirrorError when the copy cannot go on."""
    source = Source(url, token, retry_s)
    meta, writing = source.meta()
    store = RunStore.create(into, meta)
    try:
        store.set_meta(**meta)                         # the served run's start time and status
        print(f"mirroring {source.url} into {store.path}", flush=True)
        after = dict.fromkeys(COPIED_TABLES, 0)
        while True:
            ended = writing is False or (writing is None and meta.get("status") != "running")
            for table in COPIED_TABLES:
                more = True
                while more:
                    rows, more = source.rows(table, after[table])
                    if rows:
                        store.add_rows(table, rows)
                        after[table] = rows[-1][0]
            store.set_meta(**meta)
            if ended:
                return 0
            time.sleep(poll_s)
            meta, writing = source.meta()
    finally:
        store.close()


def read_token(token_file: str | None, token_env: str | None) -> str:
    """The token from ``--token-file`` or ``--token-env``; UsageError when there is none."""
    if token_file:
        try:
            token = Path(token_file).expanduser().read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot read the token file {token_file}: {why}") from None
    else:
        token = os.environ.get(token_env or "", "").strip()
    if not token:
        raise UsageError(f"no token in {token_file or f'${token_env}'}")
    if not token.isascii() or not token.isprintable():
        raise UsageError("the token holds characters no serve-token has")
    return token
