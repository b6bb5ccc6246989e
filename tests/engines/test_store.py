import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from engines.boltzmann.frames import ChainState
from engines.core.frames import ImageGrid, as_unit, decode, encode
from engines.core.checkpoints import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint
from engines.core.store import RunStore, StoreError


def grid(step):
    return ImageGrid("filters", step, np.random.default_rng(step).random((4, 5, 6)).astype(np.float32), columns=2)


def test_scalars_frames_events_and_meta_round_trip(tmp_path):
    store = RunStore.create(tmp_path / "run", {"model": "rbm", "config": {"lr": 0.1}})
    for step in range(1, 6):
        store.add_scalars(step, {"loss": 1.0 / step, "bad": float("nan")})
    store.add_frames([grid(5), ChainState("chains", 5, np.zeros((2, 3, 3), np.float32),
                                          np.ones((2, 3, 3), np.uint8), np.array([4, 4]))])
    store.add_event(5, "set", "lr=0.2")
    store.close()
    reader = RunStore.open(tmp_path / "run")
    meta = reader.meta()
    assert meta["model"] == "rbm" and meta["config"] == {"lr": 0.1} and meta["status"] == "running"
    steps, walls, values = reader.scalars("loss")
    assert list(steps) == [1, 2, 3, 4, 5] and values[-1] == pytest.approx(0.2) and (walls > 0).all()
    assert np.isnan(reader.scalars("bad")[2]).all()
    assert reader.frame_names() == ["chains", "filters"]
    (frame,) = list(reader.frames("filters"))
    assert frame.step == 5 and frame.columns == 2
    np.testing.assert_allclose(as_unit(frame.images), grid(5).images, atol=0.5 / 255 + 1e-6)   # stored as 8-bit
    (chains,) = list(reader.frames("chains"))
    assert chains.samples.dtype == np.uint8 and list(chains.gibbs_steps) == [4, 4]
    assert reader.events() == [(5, "set", "lr=0.2")]


def test_an_existing_run_is_never_overwritten(tmp_path):
    RunStore.create(tmp_path / "run", {"model": "rbm"}).close()
    with pytest.raises(StoreError, match="already holds a run"):
        RunStore.create(tmp_path / "run", {"model": "rbm"})


def test_unwritable_run_directory_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot write run directory"):
        RunStore.create(blocker / "run", {})


def test_open_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(StoreError, match="no run directory"):
        RunStore.open(tmp_path / "missing")
    with pytest.raises(StoreError, match="not a run directory"):
        RunStore.open(tmp_path)
    (tmp_path / "run.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(StoreError, match="cannot read run"):
        RunStore.open(tmp_path)


def test_another_process_reads_a_run_while_it_is_written(tmp_path):
    store = RunStore.create(tmp_path / "run", {"model": "rbm"})
    store.add_scalars(1, {"loss": 1.0})
    store.flush()
    code = ("from engines.core.store import RunStore; s = RunStore.open(r'%s'); "
            "print(len(s.scalars('loss')[0]))" % (tmp_path / "run"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    store.add_scalars(2, {"loss": 0.5})
    store.flush()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
    store.close()


def test_checkpoints_are_atomic_and_only_the_newest_are_kept(tmp_path):
    store = RunStore.create(tmp_path / "run", {})
    for step in (10, 20, 30, 40):
        save_checkpoint(store, step, {"w": torch.full((2,), float(step))}, keep_last=2)
    files = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert files == ["step-000000030.pt", "step-000000040.pt"]
    assert latest_checkpoint(store).name == "step-000000040.pt"
    assert load_checkpoint(latest_checkpoint(store))["w"][0] == 40


class Hostile:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/genstudio-pwned",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Hostile()}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Hostile(), protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not os.path.exists("/tmp/genstudio-pwned")


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"PK\x03\x04 truncated zip", b"hello world",
                                     b"step: 1000\nlr: 0.1\n"])
def test_a_corrupt_checkpoint_gives_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt|refused"):
        load_checkpoint(path)


def test_a_checkpoint_that_is_not_a_state_dict_is_refused(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not an engine state"):
        load_checkpoint(tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


def test_frames_are_stored_as_differences_and_read_back_in_any_order(tmp_path):
    """Image fields are kept as 8-bit differences to the previous frame of their name (a whole
    frame every KEYFRAME_EVERY); reading any one of them gives the frame back."""
    from engines.core.store import KEYFRAME_EVERY

    rng = np.random.default_rng(0)
    base = rng.random((16, 8, 8)).astype(np.float32)
    frames = [ImageGrid("filters", step, np.clip(base + 0.01 * step, 0, 1), columns=4) for step in range(25)]
    store = RunStore.create(tmp_path / "run", {"model": "toy"})
    for frame in frames:
        store.add_frames([frame])
    store.close()
    reader = RunStore.open(tmp_path / "run")
    bases = [base for (base,) in reader._query("SELECT base FROM frames ORDER BY id")]
    assert [base is not None for base in bases] == [i % KEYFRAME_EVERY != 0 for i in range(25)]
    for frame, back in zip(frames, reader.frames("filters")):
        np.testing.assert_allclose(as_unit(back.images), frame.images, atol=0.5 / 255 + 1e-6)
    (last,) = list(reader.frames("filters", 24, 24))          # random access: its chain is decoded
    np.testing.assert_allclose(as_unit(last.images), frames[24].images, atol=0.5 / 255 + 1e-6)


def test_a_frame_that_repeats_the_last_one_is_not_stored_again(tmp_path):
    from engines.boltzmann.frames import ChainHistory

    rows = np.zeros((2, 3, 4, 4), np.float32)
    store = RunStore.create(tmp_path / "run", {"model": "rbm"})
    for step in (10, 20, 30):
        store.add_frames([ChainHistory("chain_history", step, rows, np.array([100, 200]), 100)])
    store.add_frames([ChainHistory("chain_history", 40, rows, np.array([200, 300]), 100)])
    store.close()
    assert RunStore.open(tmp_path / "run").frame_steps("chain_history") == [10, 40]


def test_a_run_past_its_size_keeps_only_whole_frames_in_its_older_half(tmp_path):
    rng = np.random.default_rng(0)
    store = RunStore.create(tmp_path / "run", {"model": "toy"})
    for step in range(1, 61):
        store.add_frames([ImageGrid("filters", step, rng.random((16, 16, 16)).astype(np.float32))])
    before = store.used_bytes()
    assert store.thin(10 * before) == 0                           # under the cap: nothing happens
    removed = store.thin(before // 2)
    assert removed == 27            # up to the first whole frame at or past the middle (31): 1, 11, 21 stay
    steps = store.frame_steps("filters")
    assert steps[:3] == [1, 11, 21] and steps[3:] == list(range(31, 61))
    assert store.used_bytes() < before
    for frame in store.frames("filters"):                         # every frame left still decodes
        assert frame.images.shape == (16, 16, 16)
    assert any("thinned 27 frames" in message for _, _, message in store.events())
    store.close()


def crafted(tmp_path, sql: str, args=()) -> RunStore:
    """A recorded run changed behind the store's back by ``sql``, reopened."""
    store = RunStore.create(tmp_path / "run", {"model": "toy", "data": "digits", "seed": 0, "config": {}})
    store.add_frames([grid(1)])
    store.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "run" / "run.sqlite") as db:
        db.execute(sql, args)
    return RunStore.open(tmp_path / "run")


@pytest.mark.parametrize("key, value, words", [("config", "{not json", "'config' is not readable"),
                                               ("seed", '"abc"', "'seed' should be a whole number"),
                                               ("data", "7", "'data' should be a dataset's name"),
                                               ("model", "[1, 2]", "'model' should be a model's name")])
def test_a_damaged_description_is_a_store_error(tmp_path, key, value, words):
    store = crafted(tmp_path, "UPDATE meta SET value = ? WHERE key = ?", (value, key))
    with pytest.raises(StoreError, match=words):
        store.meta()
    store.close()


@pytest.mark.parametrize("column, value", [("meta", "{not json"), ("meta", "[1, 2]"), ("base", "x")])
def test_a_frame_whose_description_is_damaged_is_a_store_error(tmp_path, column, value):
    store = crafted(tmp_path, f"UPDATE frames SET {column} = ?", (value,))
    with pytest.raises(StoreError, match="cannot read a frame"):
        list(store.frames("filters"))
    store.close()


def npz_claiming(shape) -> bytes:
    """An .npz whose one array's header claims ``shape`` (uint8) over 16 bytes of data."""
    import io
    import zipfile

    member = io.BytesIO()
    np.lib.format.write_array_header_2_0(member, {"descr": "|u1", "fortran_order": False, "shape": shape})
    member.write(bytes(16))
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as archive:
        archive.writestr("images.npy", member.getvalue())
    return blob.getvalue()


def test_a_frame_claiming_a_huge_shape_is_refused_before_anything_is_allocated(tmp_path):
    import resource

    store = crafted(tmp_path, "UPDATE frames SET data = ?", (npz_claiming((100000, 100000, 100)),))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(StoreError, match=r"claims shape \(100000, 100000, 100\)"):
        list(store.frames("filters"))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000     # kB: nothing big touched
    store.close()
    chains = ChainState("chains", 1, probs=np.zeros((2, 3, 3), np.float32), samples=np.ones((2, 3, 3), np.uint8),
                        gibbs_steps=np.zeros(2, np.int64))
    kind, meta, blob = encode(chains)
    meta["samples__shape"] = [100000, 100000, 100]          # bit-packed samples claiming 10^12 of them
    with pytest.raises(ValueError, match="more than its 24 bits"):
        decode(kind, meta, blob)


def test_a_frame_kind_named_as_before_0_1_0_is_refused_with_what_to_do():
    from engines.core.frames import FrameKindError, kind_class

    with pytest.raises(FrameKindError, match="older than 0.1.0; record the run again"):
        kind_class("ChainState")
    with pytest.raises(FrameKindError, match="unknown frame kind 'os:system'"):
        kind_class("os:system")


@pytest.mark.parametrize("version, says", [(None, "older than 0.1.0"), ("2", "another run format")])
def test_a_run_of_another_format_is_refused_with_what_to_do(tmp_path, version, says):
    import sqlite3

    RunStore.create(tmp_path / "run", {"model": "toy"}).close()
    with sqlite3.connect(tmp_path / "run" / "run.sqlite") as conn:
        if version is None:
            conn.execute("DELETE FROM meta WHERE key = 'schema_version'")
        else:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    for writable in (False, True):
        with pytest.raises(StoreError, match=says):
            RunStore.open(tmp_path / "run", writable=writable)
