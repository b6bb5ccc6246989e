"""The run store: one run = one directory holding ``run.sqlite`` (WAL mode) and ``checkpoints/``.

The database keeps the run's description (model, dataset, seed, the config in force: the starting
one with the live edits applied so far), every scalar, frames (compressed arrays) at the Runner's
cadence, events (live config changes, errors) and checkpoint records. WAL lets another process
(the studio) read a run while a headless job still writes it.
The checkpoint files themselves (writing, finding and loading them) are :mod:`engines.core.checkpoints`.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from engines.core.frames import Frame, decode, encode, quantized

KEYFRAME_EVERY = 10          # every 10th stored frame of a name is whole; the others differences to the last

DB_NAME = "run.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scalars(step INTEGER NOT NULL, wall REAL NOT NULL, name TEXT NOT NULL,
                                   value REAL, superseded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS scalars_by_name ON scalars(name, step);
CREATE TABLE IF NOT EXISTS frames(id INTEGER PRIMARY KEY, step INTEGER NOT NULL, wall REAL NOT NULL,
                                  name TEXT NOT NULL, kind TEXT NOT NULL, meta TEXT NOT NULL,
                                  data BLOB NOT NULL, superseded INTEGER NOT NULL DEFAULT 0,
                                  base INTEGER);   -- the frame this one is a difference to; NULL: whole
CREATE INDEX IF NOT EXISTS frames_by_name ON frames(name, step);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, step INTEGER NOT NULL, wall REAL NOT NULL,
                                  kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints(step INTEGER PRIMARY KEY, wall REAL NOT NULL,
                                       file TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scalar_order(name TEXT PRIMARY KEY);
"""
SCHEMA_VERSION = 1            # the description's schema_version: the tables above, as this version reads them
LOCK_NAME = "run.lock"        # held (flock) by the one process writing the run, for as long as it does
# Resuming a run from its last checkpoint sets aside what was recorded after it: those rows stay in
# the file, marked superseded, and readers skip them (an event says what happened).


class StoreError(RuntimeError):
    """A run directory that cannot be created, opened or read; the message says which and why."""


# the fields of a run's description that readers rely on: (types allowed, in words)
DESCRIBED_TYPES = {"model": (str, "a model's name"), "data": ((str, type(None)), "a dataset's name"),
                   "seed": (int, "a whole number"), "config": (dict, "a mapping of settings"),
                   "status": (str, "a word"), "device": (str, "a device's name"),
                   "steps": (int, "a whole number")}


def check_described(path, key: str, value) -> None:
    """Raise StoreError when ``value`` is not what readers rely on for the description's ``key``
    (a damaged or crafted store: ``seed`` "abc", ``data`` 7)."""
    expected = DESCRIBED_TYPES.get(key)
    if expected and not (isinstance(value, expected[0]) and not isinstance(value, bool)):
        raise StoreError(f"run {path} is damaged: its description's '{key}' should be "
                         f"{expected[1]}, not {value!r}"[:300])


# The rows a copy of a run on another machine takes (engines.records.serving), by table: their
# columns, the first the row's id. Ids only grow (a new row's is past every other's; thinning removes
# only older frames), so "the rows past id N" are the rows added since. Checkpoint records are not
# copied: the files they name stay where the run trains.
COPIED_TABLES = {"scalar_order": ("rowid", "name"),
                 "scalars": ("rowid", "step", "wall", "name", "value", "superseded"),
                 "frames": ("id", "step", "wall", "name", "kind", "meta", "data", "superseded", "base"),
                 "events": ("id", "step", "wall", "kind", "message")}


class StoreWriteError(StoreError):
    """Writing to the run failed (a full disk, a vanished directory); what was written before is intact."""


@contextlib.contextmanager
def writing(path: Path):
    """Turn the file system's and SQLite's write errors into one :class:`StoreWriteError`."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc):
            raise StoreWriteError(f"the disk is full: cannot write to the run in {path}") from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreWriteError(f"cannot write to the run in {path}: {reason}") from None


def is_run_dir(path) -> bool:
    return (Path(path) / DB_NAME).is_file()


def _take_writer_lock(path: Path):
    """An exclusive lock on the run's lock file, held while the returned file stays open; None
    where locks are not available. Raises StoreError if another live process holds it."""
    try:
        import fcntl
    except ImportError:        # not on this platform: a crashed writer then cannot be told apart
        return None
    handle = open(path / LOCK_NAME, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StoreError(f"run {path} is being written by another process") from None
    return handle


def writer_alive(path) -> bool | None:
    """Whether a process is writing the run now (holds its lock); None where it cannot be told."""
    try:
        import fcntl
    except ImportError:
        return None
    lock = Path(path) / LOCK_NAME
    if not lock.exists():
        return False
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _schema_version(row) -> int | str | None:
    """The schema_version a run's description holds (None: none, as before 0.1.0)."""
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except (TypeError, ValueError):
        return str(row[0])[:40]
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)[:40]


class RunStore:
    """Writer and reader of one run directory. Safe to share between threads (one lock)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, writable: bool, writer_lock=None):
        self.path = path
        self.writable = writable
        self._conn = conn
        self._writer_lock = writer_lock
        self._lock = threading.Lock()
        self._current = "superseded = 0"
        self._pending: list[tuple] = []
        self._new_names: list[str] = []
        self._names_seen: set[str] = set()
        self._written: dict[str, tuple[int, Frame, int]] = {}   # name -> (row id, frame, frames since a whole one)
        self._last_flush = time.monotonic()

    # ----------------------------------------------------------------------------- creation
    @classmethod
    def create(cls, path, description: dict) -> "RunStore":
        """A new run in ``path`` (made if missing); refuses a directory that already holds a run.
        The database is built under a temporary name and linked into place complete, so a reader
        never sees a run without its description, and of two processes racing for ``path`` one wins."""
        path = Path(path).expanduser()
        if is_run_dir(path):
            raise StoreError(f"run directory {path} already holds a run; choose another directory")
        temp = path / f".{DB_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            (path / "checkpoints").mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(temp)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            with conn:
                rows = [(k, json.dumps(v)) for k, v in {**description, "created": time.time(), "status": "running",
                                                         "schema_version": SCHEMA_VERSION}.items()]
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
            conn.close()
            lock = _take_writer_lock(path)
            try:
                os.link(temp, path / DB_NAME)       # fails if another process got there first
            except OSError:
                if lock is not None:
                    lock.close()
                raise
        except FileExistsError:
            raise StoreError(f"run directory {path} already holds a run; choose another directory") from None
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot write run directory {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
        finally:
            for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
        conn = sqlite3.connect(path / DB_NAME, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return cls(path, conn, writable=True, writer_lock=lock)

    @classmethod
    def open(cls, path, writable: bool = False) -> "RunStore":
        """An existing run, read-only unless ``writable``: then this process becomes its writer (to
        resume it), which is refused while another process writes it."""
        path = Path(path).expanduser()
        if not path.is_dir():
            raise StoreError(f"no run directory at {path}")
        if not is_run_dir(path):
            raise StoreError(f"{path} is not a run directory (no {DB_NAME} in it)")
        lock = _take_writer_lock(path) if writable else None
        try:
            conn = sqlite3.connect(path / DB_NAME, check_same_thread=False, timeout=10)
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as exc:
            if lock is not None:
                lock.close()
            if shutil.disk_usage(path).free == 0:   # SQLite cannot make its shared-memory file
                raise StoreError(f"the disk is full: cannot open the run in {path}") from None
            raise StoreError(f"cannot read run {path}: {exc}") from None
        recorded = _schema_version(version)
        if recorded != SCHEMA_VERSION:
            conn.close()
            if lock is not None:
                lock.close()
            raise StoreError(f"run {path} was recorded by a genstudio "
                             + ("older than 0.1.0 (it has no schema version): record it again" if recorded is None
                                else f"of another run format ({recorded}; this one reads {SCHEMA_VERSION})"))
        return cls(path, conn, writable, lock)

    # ----------------------------------------------------------------------------- writing
    def set_meta(self, /, **values) -> None:
        with writing(self.path), self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                   [(k, json.dumps(v)) for k, v in values.items()])

    def add_scalars(self, step: int, values: dict[str, float], wall: float | None = None) -> None:
        """Queue one step's scalars; they reach the file at the next :meth:`flush` (at most
        every half second from the Runner), so logging every step costs no disk write."""
        wall = time.time() if wall is None else wall
        with self._lock:
            self._pending.extend((step, wall, k, _finite_or_none(v)) for k, v in values.items())
            for name in values:
                if name not in self._names_seen:
                    self._names_seen.add(name)
                    self._new_names.append(name)

    def add_frames(self, frames: list[Frame], wall: float | None = None) -> None:
        """Record frames. One that repeats the last one of its name is not stored again (a reader
        shows the newest frame at or before a step); most are stored as differences to the last."""
        wall = time.time() if wall is None else wall
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()
            for frame in frames:
                last = self._written.get(frame.name)
                if last is not None and frame.repeats(last[1]):
                    continue
                delta = last is not None and last[2] + 1 < KEYFRAME_EVERY
                kind, meta, blob = encode(frame, quantized(last[1]) if delta else None)
                base = last[0] if "__delta" in meta else None
                cursor = self._conn.execute("INSERT INTO frames(step, wall, name, kind, meta, data, base) "
                                            "VALUES (?,?,?,?,?,?,?)",
                                            (frame.step, wall, frame.name, kind, json.dumps(meta), blob, base))
                self._written[frame.name] = (cursor.lastrowid, frame, last[2] + 1 if delta else 0)

    def add_event(self, step: int, kind: str, message: str) -> None:
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()
            self._conn.execute("INSERT INTO events(step, wall, kind, message) VALUES (?,?,?,?)",
                               (step, time.time(), kind, message))

    def flush(self, min_interval: float = 0.0) -> None:
        """Write queued scalars, unless the last write was less than ``min_interval`` s ago."""
        if time.monotonic() - self._last_flush < min_interval:
            return
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._new_names:
            self._conn.executemany("INSERT OR IGNORE INTO scalar_order VALUES (?)", [(n,) for n in self._new_names])
            self._new_names = []
        if self._pending:
            self._conn.executemany("INSERT INTO scalars(step, wall, name, value) VALUES (?,?,?,?)", self._pending)
            self._pending = []
        self._last_flush = time.monotonic()

    def record_checkpoint(self, step: int, name: str, keep_last: int) -> list[str]:
        """Record checkpoint file ``name`` of ``step`` (with what was recorded before it); the
        records past the newest ``keep_last`` are dropped and their file names returned."""
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()
            self._conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?,?,?)", (step, time.time(), name))
            old = self._conn.execute("SELECT step, file FROM checkpoints ORDER BY step DESC LIMIT -1 OFFSET ?",
                                     (keep_last,)).fetchall()
            self._conn.executemany("DELETE FROM checkpoints WHERE step = ?", [(old_step,) for old_step, _ in old])
        return [str(name) for _, name in old]

    def add_rows(self, table: str, rows: list[tuple]) -> None:
        """Write rows of ``table`` (one of :data:`COPIED_TABLES`, its columns in that order) as
        another run's :meth:`rows_after` gave them, ids kept; a row whose id is here already is skipped."""
        columns = COPIED_TABLES[table]
        with writing(self.path), self._lock, self._conn:
            self._conn.executemany(f"INSERT OR IGNORE INTO {table}({', '.join(columns)}) "
                                   f"VALUES ({', '.join('?' * len(columns))})", rows)

    def supersede_after(self, step: int) -> int:
        """Set aside the scalars and frames recorded after ``step`` (a resumed run continues from
        its checkpoint at ``step``); returns how many rows. They stay in the file, unread."""
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()
            count = sum(self._conn.execute(f"UPDATE {table} SET superseded = 1 WHERE step > ? AND superseded = 0",
                                           (step,)).rowcount for table in ("scalars", "frames"))
        self._written.clear()       # the next frame of each name is stored whole
        return count

    def last_step(self) -> int:
        """The last step anything was recorded at (scalars or frames)."""
        rows = self._query(f"SELECT max(step) FROM (SELECT step FROM scalars WHERE {self._current} "
                           f"UNION ALL SELECT step FROM frames WHERE {self._current})")
        return int(rows[0][0] or 0)

    def close(self) -> None:
        with self._lock:
            if self.writable:
                try:
                    with self._conn:
                        self._flush_locked()
                except sqlite3.Error:
                    pass
            self._conn.close()
            if self._writer_lock is not None:
                self._writer_lock.close()

    # ----------------------------------------------------------------------------- reading
    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot read run {self.path}: {exc}") from None

    def meta(self) -> dict:
        """The run's description. A value that is not JSON, or a described field of the wrong type
        (a damaged or crafted store: ``seed`` "abc", ``data`` 7), raises StoreError."""
        out = {}
        for key, value in self._query("SELECT key, value FROM meta"):
            try:
                out[key] = json.loads(value)
            except (TypeError, ValueError):
                raise StoreError(f"run {self.path} is damaged: its description's '{key}' is not readable") from None
            check_described(self.path, key, out[key])
        return out

    def rows_after(self, table: str, after: int, limit: int) -> list[tuple]:
        """Up to ``limit`` rows of ``table`` (one of :data:`COPIED_TABLES`) whose id is past
        ``after``, in id order, with the columns :data:`COPIED_TABLES` names."""
        columns = COPIED_TABLES[table]
        return self._query(f"SELECT {', '.join(columns)} FROM {table} WHERE {columns[0]} > ? "
                           f"ORDER BY {columns[0]} LIMIT ?", (after, limit))

    def scalar_names(self) -> list[str]:
        """Scalar names in the order they were first logged (as a live view shows them)."""
        return [r[0] for r in self._query("SELECT name FROM scalar_order ORDER BY rowid")]

    def scalars(self, name: str, since_step: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, wall times, values) of one scalar after ``since_step``; missing values are NaN."""
        rows = self._query(f"SELECT step, wall, value FROM scalars WHERE name = ? AND step > ? AND {self._current} "
                           "ORDER BY step", (name, since_step))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
        return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2]

    def last_scalars(self) -> dict[str, float]:
        """The last value of every scalar (one indexed look-up each)."""
        out = {}
        for name in self.scalar_names():
            rows = self._query(f"SELECT value FROM scalars WHERE name = ? AND {self._current} "
                               "ORDER BY step DESC LIMIT 1", (name,))
            if rows:
                out[name] = float("nan") if rows[0][0] is None else rows[0][0]
        return out

    def frame_names(self) -> list[str]:
        return [r[0] for r in self._query(f"SELECT DISTINCT name FROM frames WHERE {self._current} ORDER BY name")]

    def frame_kind(self, name: str) -> str:
        """The kind of the frames recorded under ``name`` (of the first one)."""
        rows = self._query("SELECT kind FROM frames WHERE name = ? ORDER BY id LIMIT 1", (name,))
        return rows[0][0] if rows else "engines.core.frames:ImageGrid"

    def frame_steps(self, name: str) -> list[int]:
        return [r[0] for r in self._query(f"SELECT step FROM frames WHERE name = ? AND {self._current} ORDER BY step",
                                          (name,))]

    def frames(self, name: str, first_step: int = 0, last_step: int | None = None):
        """Yield the recorded frames of one panel in step order, decoded one at a time."""
        last = 2**62 if last_step is None else last_step
        ids = self._query(f"SELECT id FROM frames WHERE name = ? AND step BETWEEN ? AND ? AND {self._current} "
                          "ORDER BY step, id", (name, first_step, last))
        decoded: dict[int, Frame] = {}
        for (frame_id,) in ids:
            frame = self._decode(frame_id, decoded)
            decoded = {frame_id: frame}          # the next one is most likely a difference to this one
            yield frame

    def _decode(self, frame_id: int, decoded: dict[int, Frame]) -> Frame:
        """Frame ``frame_id``, decoding the frames its difference chain rests on (at most
        ``KEYFRAME_EVERY``; ``decoded`` holds those already known)."""
        chain = []
        while frame_id not in decoded:
            rows = self._query("SELECT kind, meta, data, base FROM frames WHERE id = ?", (frame_id,))
            if not rows:
                raise StoreError(f"run {self.path}: a stored frame refers to frame {frame_id}, which is missing")
            kind, meta, blob, base = rows[0]
            try:
                meta = json.loads(meta)
            except (TypeError, ValueError):
                raise StoreError(f"cannot read a frame of run {self.path}: its description is not readable") from None
            if not isinstance(meta, dict) or not isinstance(base, (int, type(None))):
                raise StoreError(f"cannot read a frame of run {self.path}: its description is damaged")
            chain.append((frame_id, kind, meta, blob, base))
            if base is None or len(chain) > KEYFRAME_EVERY:
                break
            frame_id = base
        frame = decoded.get(frame_id)
        for frame_id, kind, meta, blob, base in reversed(chain):
            try:
                frame = decode(kind, meta, blob, quantized(frame) if base is not None and frame is not None else None)
            except ValueError as exc:
                raise StoreError(f"cannot read a frame of run {self.path}: {exc}") from None
        return frame

    def events(self) -> list[tuple[int, str, str]]:
        return [tuple(r) for r in self._query("SELECT step, kind, message FROM events ORDER BY id")]

    def newest_checkpoint_name(self) -> str | None:
        """The file name the newest checkpoint record gives (as stored: see
        :func:`engines.core.checkpoints.latest_checkpoint`)."""
        rows = self._query("SELECT file FROM checkpoints ORDER BY step DESC LIMIT 1")
        return str(rows[0][0]) if rows else None

    def used_bytes(self) -> int:
        """Bytes the run's database holds (pages in use, not free ones a thinning left)."""
        with self._lock:
            pages, free, size = (self._conn.execute(f"PRAGMA {name}").fetchone()[0]
                                 for name in ("page_count", "freelist_count", "page_size"))
        return (pages - free) * size

    def thin(self, max_bytes: int) -> int:
        """Keep the run within ``max_bytes``: past it, the older half of the recorded frames keeps
        only its whole frames (every ``KEYFRAME_EVERY``-th of a name; the differences between them
        go). SQLite reuses the freed pages, so the file stops growing. Returns the frames removed."""
        if not max_bytes or self.used_bytes() <= max_bytes:
            return 0
        with writing(self.path), self._lock, self._conn:
            self._flush_locked()
            (lo, hi), = self._conn.execute("SELECT min(step), max(step) FROM frames").fetchall()
            if lo is None:
                return 0
            cutoff, removed = (lo + hi) // 2, 0
            names = [r[0] for r in self._conn.execute("SELECT DISTINCT name FROM frames")]
            for name in names:      # up to a whole frame, so that no difference loses its base
                (whole,), = self._conn.execute(
                    "SELECT min(id) FROM frames WHERE name = ? AND step >= ? AND base IS NULL",
                    (name, cutoff)).fetchall()
                if whole is not None:
                    removed += self._conn.execute(
                        "DELETE FROM frames WHERE name = ? AND id < ? AND base IS NOT NULL",
                        (name, whole)).rowcount
            if removed:
                self._conn.execute("INSERT INTO events(step, wall, kind, message) VALUES (?,?,?,?)",
                                   (hi, time.time(), "info", f"thinned {removed} frames before step {cutoff} "
                                    f"to keep the run under {max_bytes / 2**20:.0f} MB"))
        return removed

    def free_bytes(self) -> int:
        """Free space on the disk that holds the run."""
        return shutil.disk_usage(self.path).free


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
