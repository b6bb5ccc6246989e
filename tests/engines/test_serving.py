"""Following a run from another machine: a real ``serve`` child process and a real ``mirror`` child
process on the loopback interface, with a run trained by the Runner and runs the test writes itself."""
import http.client
import http.server
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engines.core.frames import ImageGrid
from engines.core.store import COPIED_TABLES, RunStore, writer_alive
from engines.records import serving

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def engines(*args, env=ENV) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engines", *map(str, args)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def served():
    """Start ``serve RUN_DIR --port 0``: (url, token) once it listens; stopped (and checked) after."""
    servers = []

    def start(run_dir):
        server = engines("serve", run_dir, "--port", 0)
        servers.append(server)
        line = server.stderr.readline()
        found = re.search(r"read-only on (http://127\.0\.0\.1:(\d+)) \(token in (.+)\)$", line.strip())
        assert found, line + server.stderr.read()
        token_file = Path(found.group(3))
        assert token_file == Path(run_dir) / serving.TOKEN_FILE
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        return found.group(1), token_file.read_text().strip(), server
    yield start
    for server in servers:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)


def write_run(path) -> RunStore:
    """A run this process writes (it holds the writer's lock): a scalar, an event and a frame."""
    store = RunStore.create(path, {"model": "toy", "data": "digits", "seed": 0, "config": {"lr": 0.1}})
    add_step(store, 1)
    return store


def add_step(store: RunStore, step: int) -> None:
    store.add_scalars(step, {"loss": 1.0 / step, "lr": 0.1})
    images = np.random.default_rng(step).random((4, 8, 8)).astype(np.float32)
    store.add_frames([ImageGrid("mean", step, images, columns=2)])
    store.add_event(step, "info", f"step {step}")
    store.flush()


def rows(run_dir) -> dict:
    store = RunStore.open(run_dir)
    try:
        return {table: store.rows_after(table, 0, 10**6) for table in COPIED_TABLES}
    finally:
        store.close()


def mirror(url, token, into, *options) -> subprocess.Popen:
    return engines("mirror", url, "--token-env", "TEST_TOKEN", "--into", into, *options,
                   env={**ENV, "TEST_TOKEN": token})


def test_a_mirror_copies_a_trained_run_row_for_row_and_ends_with_it(served, tmp_path):
    from engines.core.runner import Runner, RunnerSettings
    from engines.registry import build_engine, describe

    run = tmp_path / "trained"
    engine = build_engine("toy", "digits", "cpu", 0)
    store = RunStore.create(run, describe(engine, "digits"))
    Runner(engine, store, settings=RunnerSettings(max_steps=30, record_frames_every=10,
                                                  record_frames_early=True)).run()      # as `train` runs
    store.close()
    url, token, server = served(run)
    copy = mirror(url, token, tmp_path / "copy")
    out, err = copy.communicate(timeout=20)
    assert copy.returncode == 0, err
    assert out.strip() == f"mirroring {url} into {tmp_path / 'copy'}" and err == ""
    source, copied = rows(run), rows(tmp_path / "copy")
    assert len(source["frames"]) > serving.MAX_ROWS["frames"] and len(source["scalars"]) >= 30   # several pages
    assert copied == source                             # ids, steps, values, frame blobs: all of it
    a, b = RunStore.open(run), RunStore.open(tmp_path / "copy")
    assert b.meta() == a.meta() and b.meta()["status"] == "finished"
    assert b.events() == a.events() and b.scalar_names() == a.scalar_names()
    for name in a.frame_names():                        # the copies decode as the originals do
        assert [f.step for f in b.frames(name)] == [f.step for f in a.frames(name)]
    a.close()
    b.close()
    server.send_signal(signal.SIGTERM)                 # stops cleanly, its token gone
    assert server.wait(10) == 0 and not (run / serving.TOKEN_FILE).exists()


def test_a_mirror_follows_a_run_as_it_is_written_and_a_lost_server_ends_it_with_one_line(served, tmp_path):
    store = write_run(tmp_path / "run")
    url, token, server = served(tmp_path / "run")
    copy = mirror(url, token, tmp_path / "copy", "--retry-s", 1)
    assert copy.stdout.readline().startswith("mirroring")
    assert writer_alive(tmp_path / "copy")              # followed by the studio as any run being written
    for step in (2, 3, 4):
        add_step(store, step)
    deadline = time.monotonic() + 10
    while rows(tmp_path / "copy") != rows(tmp_path / "run"):
        assert time.monotonic() < deadline and copy.poll() is None
        time.sleep(0.1)
    server.kill()                                      # the node, or the tunnel, is gone
    started = time.monotonic()
    _, err = copy.communicate(timeout=20)
    assert copy.returncode == serving.EXIT_LOST and time.monotonic() - started < 20
    assert err == f"error: lost the connection to {url}: Connection refused\n"
    assert rows(tmp_path / "copy") == rows(tmp_path / "run") and not writer_alive(tmp_path / "copy")   # kept
    store.close()


def test_a_request_without_the_token_gets_no_data_and_a_mirror_with_a_wrong_one_stops(served, tmp_path):
    write_run(tmp_path / "run").close()
    url, token, _ = served(tmp_path / "run")
    host, port = serving.parse_url(url)

    def get(target, token=None, method="GET"):
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request(method, target, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, body

    assert get("/v1/meta") == (401, b"the token was refused\n")
    assert get("/v1/rows?table=scalars&after=0", token + "x") == (401, b"the token was refused\n")
    status, body = get("/v1/meta", token)
    assert status == 200 and json.loads(body)["meta"]["model"] == "toy" and json.loads(body)["writing"] is False
    status, body = get("/v1/rows?table=frames&after=0&limit=1", token)
    assert status == 200 and len(json.loads(body)["rows"]) == 1 and json.loads(body)["more"] is True
    for target in ("/v1/rows?table=meta&after=0", "/v1/rows?table=scalars", "/v1/rows?table=scalars&after=-1",
                   "/v1/rows?table=scalars&after=0&limit=100000", "/v1/rows?table=scalars&after=0&after=1"):
        status, body = get(target, token)
        assert status == 400 and body.count(b"\n") == 1, target
    assert get("/run.sqlite", token)[0] == 404 and get("/v1/meta", token, method="POST")[0] == 501
    (tmp_path / "wrong").write_text("not-the-token\n")
    copy = engines("mirror", url, "--token-file", tmp_path / "wrong", "--into", tmp_path / "copy")
    out, err = copy.communicate(timeout=20)
    assert copy.returncode == serving.EXIT_LOST and out == ""
    assert err == f"error: the token was refused by {url}\n" and not (tmp_path / "copy" / "run.sqlite").exists()


def test_the_server_listens_on_loopback_only_and_says_so_when_its_port_is_taken(tmp_path):
    write_run(tmp_path / "run").close()
    store = RunStore.open(tmp_path / "run")
    server = serving.RunServer(store, "token", 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        outward = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            outward.connect(("192.0.2.1", 9))            # no packet sent: which address leads outwards
            address = outward.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
        finally:
            outward.close()
        if not address.startswith("127."):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, server.port), timeout=5).close()
        taken = subprocess.run([sys.executable, "-m", "engines", "serve", tmp_path / "run", "--port", str(server.port)],
                               cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30)
        assert taken.returncode == 2 and taken.stderr.startswith(f"error: cannot listen on 127.0.0.1:{server.port}")
        assert len(taken.stderr.splitlines()) == 1
    finally:
        server.server_close()
        store.close()


def test_start_and_stop_serving_as_train_serve_does(tmp_path):
    write_run(tmp_path / "run").close()
    process = serving.start_serving(tmp_path / "run", 0)
    deadline = time.monotonic() + 10
    while not (tmp_path / "run" / serving.TOKEN_FILE).exists():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    serving.stop_serving(process, linger_s=0.2)
    assert process.returncode == 0 and not (tmp_path / "run" / serving.TOKEN_FILE).exists()


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (not ended, nor ended and waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_server_whose_training_process_was_killed_stops_on_its_own(tmp_path):
    """train --serve's server survives the job's stop signals (its own session) but not the job."""
    write_run(tmp_path / "run").close()
    parent = subprocess.Popen([sys.executable, "-c", "import sys, time; from engines.records.serving import "
                               "start_serving; print(start_serving(sys.argv[1], 0).pid, flush=True); time.sleep(600)",
                               str(tmp_path / "run")], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    server = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while not (tmp_path / "run" / serving.TOKEN_FILE).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while running(server):
        assert time.monotonic() < deadline, "the server outlived its training process"
        time.sleep(0.1)
    assert not (tmp_path / "run" / serving.TOKEN_FILE).exists()


class Hostile(http.server.BaseHTTPRequestHandler):
    """A server that answers with what the test puts in ``answers`` (path prefix -> bytes)."""
    answers: dict = {}

    def do_GET(self):  # noqa: N802
        body = next(body for prefix, body in self.answers.items() if self.path.startswith(prefix))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("answers, said", [
    ({"/v1/meta": b"<html>"}, "did not answer as a genstudio run server"),
    ({"/v1/meta": json.dumps({"meta": {"model": "toy", "schema_version": 1, "seed": "abc"}}).encode()},
     "its description's 'seed' should be a whole number"),
    ({"/v1/meta": json.dumps({"meta": {"model": "toy", "schema_version": 7}}).encode()}, "another format (7"),
    ({"/v1/meta": json.dumps({"meta": {"model": "toy", "schema_version": 1, "self": 1, "../x": 2},
                              "writing": True}).encode(),
      "/v1/rows?table=scalar_order": b'{"rows": [[1, "loss"]], "more": false}',
      "/v1/rows?table=scalars": b'{"rows": [[1, 1, 0.5, "loss", "DROP TABLE", 0]], "more": false}'},
     "sent a row of scalars that is not one"),
    ({"/v1/meta": json.dumps({"meta": {"model": "toy", "schema_version": 1}, "writing": True}).encode(),
      "/v1/rows?table=scalar_order": b'{"rows": [[5, "loss"], [5, "again"]], "more": true}'},
     "sent a row of scalar_order that is not one"),
])
def test_a_hostile_server_gets_one_line_and_writes_nothing_outside_the_copy(tmp_path, answers, said):
    Hostile.answers = answers
    server = http.server.HTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with pytest.raises(serving.MirrorError, match=re.escape(said)):
            serving.mirror(f"http://127.0.0.1:{server.server_address[1]}", "t", tmp_path / "copy", retry_s=0)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(p.name for p in tmp_path.rglob("*")) in ([], ["checkpoints", "copy", "run.lock", "run.sqlite"])


def test_bad_ports_addresses_and_tokens_are_one_line(tmp_path, capsys):
    from engines.cli import main

    for argv in (["serve", tmp_path, "--port", "70000"], ["train", "toy", "--serve", "-1"]):
        with pytest.raises(SystemExit) as exited:
            main(list(map(str, argv)))
        assert exited.value.code == 2 and "a port is a whole number from 0 to 65535" in capsys.readouterr().err
    (tmp_path / "empty").write_text("\n")
    for argv, said in ((["serve", tmp_path], "is not a run directory"),
                       (["mirror", "localhost:8765", "--token-env", "X", "--into", tmp_path / "c"],
                        "a served run's address looks like http://localhost:8765, not 'localhost:8765'"),
                       (["mirror", "http://localhost:8765", "--token-file", tmp_path / "empty", "--into",
                         tmp_path / "c"], "no token in"),
                       (["mirror", "http://localhost:1", "--token-env", "PATH", "--into", tmp_path / "c",
                         "--retry-s", "nan"], "--retry-s must be from 0 to 3600 seconds")):
        assert main(list(map(str, argv))) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and err.count("\n") == 1, err
