"""Export of recorded frames: MP4/GIF decode back to the expected frames, PNG sheets, multi-panel
layout, step ranges, cancel and failure leave no file, the CLI."""
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from engines.boltzmann.frames import ChainHistory, ChainState
from engines.core.frames import ImageGrid
from studio import __main__ as cli
from engines.records.export import (GAP, ExportCancelled, ExportError, export_run, exportable_panels, step_range,
                                    still_picture, to_rgb)

RECORDED_STEPS = [10, 20, 30, 40, 50, 60]


def _record_run(run_dir: Path, settings, control=None):
    from engines.core.runner import Runner
    from engines.core.store import RunStore
    from engines.registry import build_engine, describe

    # history_every=20 with 10 Gibbs steps per frame: the chain history starts one record late
    engine = build_engine("rbm", "digits", "cpu", 0, {"hidden": 16, "chains": 8, "history_every": 20, "gibbs_per_frame": 10})
    store = RunStore.create(run_dir, describe(engine, "digits"))
    return Runner(engine, store, control, settings), store


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from engines.core.runner import RunnerSettings

    path = tmp_path_factory.mktemp("export") / "run"
    runner, store = _record_run(path, RunnerSettings(max_steps=60, record_frames_every=10))
    assert runner.run()["status"] == "finished"
    store.close()
    return path


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _mp4_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _gif(path: Path) -> tuple[int, tuple[int, int], int]:
    with Image.open(path) as im:
        return im.n_frames, im.size, im.info["duration"]


# --------------------------------------------------------------------------------------- reading
def test_panels_and_step_range_come_from_the_store(run_dir):
    assert exportable_panels(run_dir) == ["chain_history", "chains", "filters", "reconstructions",
                                          "weights_and_gradients"]             # the Runner's own too
    assert step_range(run_dir, ["chains"]) == (10, 60)
    assert step_range(run_dir, ["chain_history"]) == (20, 60)
    assert step_range(run_dir, ["chain_history", "filters"]) == (10, 60)


def test_a_frame_is_drawn_tiled_upright_and_upscaled():
    images = np.zeros((4, 2, 3), np.float32)
    images[0, 0, 0] = 1.0                         # top-left pixel of the first image
    picture = to_rgb(still_picture(ImageGrid("filters", 5, images, columns=2)), 2)
    assert picture.dtype == np.uint8 and picture.shape == ((2 * 2 + 1) * 2, (2 * 3 + 1) * 2, 3)
    assert (picture[:2, :2] == 255).all() and (picture[2:4, :2] == 0).all()
    assert (picture[4:6, :] > 0).all()            # the separator row between the two rows of images

    probs = np.random.default_rng(0).random((3, 2, 2)).astype(np.float32)
    chains = ChainState("chains", 1, probs, (probs > 0.5).astype(np.uint8), np.zeros(3, int), columns=3)
    assert to_rgb(still_picture(chains), 1).shape == (2, 8, 3)
    assert to_rgb(still_picture(chains), 1)[0, 0, 0] == round(probs[0, 0, 0] * 255)   # probabilities, not samples

    history = ChainHistory("chain_history", 1, np.zeros((5, 4, 2, 2), np.float32), np.arange(5), 10)
    assert to_rgb(still_picture(history), 1).shape == (5 * 3 - 1, 4 * 3 - 1, 3)      # one row per record

    colour = ImageGrid("samples", 1, np.ones((2, 2, 2, 3), np.float32) * [1, 0, 0], columns=2)
    assert (to_rgb(still_picture(colour), 1)[0, 0] == [255, 0, 0]).all()


def test_a_kind_of_its_own_exports_its_still_and_an_animated_kind_plays_its_pictures(tmp_path):
    """Export knows no kind: it draws ``still()``, and plays ``animation()`` where a kind has one."""
    from dataclasses import dataclass

    from engines.core.frames import Frame
    from engines.core.store import RunStore
    from tests.toy.frames import Bars

    @dataclass(frozen=True)
    class Flip(Frame):                       # three pictures per frame: black, grey, white
        size: int = 4

        def still(self, fill=0.0):
            return np.ones((self.size, self.size), np.float32)

        def animation(self):
            return [np.full((self.size, self.size), v, np.float32) for v in (0.0, 0.5, 1.0)]

    store = RunStore.create(tmp_path / "run", {"model": "toy"})
    store.add_frames([Bars("bars", 1, np.array([0.2, 0.9], np.float32)), Flip("flip", 1)])
    store.add_frames([Bars("bars", 2, np.array([0.4, 0.1], np.float32)), Flip("flip", 2)])
    store.close()
    assert export_run(tmp_path / "run", ["bars"], tmp_path / "bars.gif", scale=1) == 2
    with Image.open(tmp_path / "bars.gif") as gif:
        assert gif.size[1] > 20 and gif.n_frames == 2
    assert export_run(tmp_path / "run", ["flip", "bars"], tmp_path / "both.gif", scale=1) == 6


# --------------------------------------------------------------------------------------- formats
def test_mp4_decodes_to_every_recorded_step_at_an_even_size(run_dir, tmp_path):
    progress = []
    count = export_run(run_dir, ["chains"], tmp_path / "chains.mp4", fps=12.5, scale=3,
                       progress=lambda done, total: progress.append((done, total)))
    assert count == len(RECORDED_STEPS)
    assert progress == [(i, count) for i in range(1, count + 1)]
    frames = _mp4_frames(tmp_path / "chains.mp4")
    export_run(run_dir, ["chains"], tmp_path / "one.gif", first_step=60, scale=3)
    _, (width, height), _ = _gif(tmp_path / "one.gif")
    assert len(frames) == count
    assert frames[0].shape == (height + height % 2, width + width % 2, 3)
    assert width % 2 == 1                          # the layout is odd here: padding was needed
    with av.open(str(tmp_path / "chains.mp4")) as container:
        assert container.streams.video[0].average_rate == 12.5
    assert not np.array_equal(frames[0], frames[-1])
    assert _files(tmp_path) == ["chains.mp4", "one.gif"]


def test_gif_has_one_frame_per_recorded_step(run_dir, tmp_path):
    out = tmp_path / "chains.gif"
    assert export_run(run_dir, ["chains"], out, fps=5) == len(RECORDED_STEPS)
    n_frames, _, duration = _gif(out)
    assert (n_frames, duration) == (len(RECORDED_STEPS), 200)


def test_png_sheet_tiles_the_pictures(run_dir, tmp_path):
    export_run(run_dir, ["chains"], tmp_path / "one.gif", first_step=60, scale=3)
    _, (width, height), _ = _gif(tmp_path / "one.gif")
    assert export_run(run_dir, ["chains"], tmp_path / "sheet.png", scale=3) == 6
    with Image.open(tmp_path / "sheet.png") as sheet:   # 6 pictures: 3 columns, 2 rows
        assert sheet.format == "PNG"
        assert sheet.size == (3 * width + 2 * GAP, 2 * height + GAP)


def test_colour_images_stay_in_colour_and_grey_ones_grey(run_dir, tmp_path):
    from engines.core.store import RunStore

    store = RunStore.create(tmp_path / "colour", {"model": "test"})
    red = np.zeros((4, 3, 3, 3), np.float32)
    red[..., 0] = 1.0
    store.add_frames([ImageGrid("samples", step, red, columns=2) for step in (1, 2, 3)])
    store.close()
    assert export_run(tmp_path / "colour", ["samples"], tmp_path / "red.gif", scale=2) == 3
    with Image.open(tmp_path / "red.gif") as gif:
        colours = {rgb for _, rgb in gif.convert("RGB").getcolors(10_000)}
        assert gif.n_frames == 3 and (255, 0, 0) in colours
    export_run(tmp_path / "colour", ["samples"], tmp_path / "red.png", scale=2)
    export_run(run_dir, ["chains"], tmp_path / "grey.png")
    with Image.open(tmp_path / "red.png") as red_sheet, Image.open(tmp_path / "grey.png") as grey_sheet:
        assert (red_sheet.mode, grey_sheet.mode) == ("RGB", "L")
        assert (255, 0, 0) in {rgb for _, rgb in red_sheet.getcolors(100_000)}


def test_gif_is_written_one_picture_at_a_time_and_reads_back_exactly(run_dir, tmp_path):
    count = export_run(run_dir, ["chains", "filters"], tmp_path / "a.gif", fps=20, scale=2)
    export_run(run_dir, ["chains", "filters"], tmp_path / "a.png", scale=2, last_step=10)
    with Image.open(tmp_path / "a.gif") as gif, Image.open(tmp_path / "a.png") as first:
        assert gif.n_frames == count and gif.info["duration"] == 50 and gif.info["loop"] == 0
        gif.seek(0)
        np.testing.assert_array_equal(np.asarray(gif.convert("L")), np.asarray(first.convert("L")))


def test_scale_is_automatic_by_default_and_bounded(run_dir, tmp_path):
    export_run(run_dir, ["chains"], tmp_path / "auto.gif")
    _, (width, height), _ = _gif(tmp_path / "auto.gif")
    assert width <= 1280 and height <= 720                     # the whole picture fits a slide
    assert width > 640 or height > 360                         # ... at the largest whole scale that fits
    with pytest.raises(ExportError, match="scale must be a whole number from 1 to 16"):
        export_run(run_dir, ["chains"], tmp_path / "big.gif", scale=100_000)
    assert not (tmp_path / "big.gif").exists()


def test_a_png_sheet_too_large_to_build_is_refused(run_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("engines.records.export.MAX_SHEET_PIXELS", 10_000)
    with pytest.raises(ExportError, match="a PNG sheet of 6 frames would be .* pixels; choose a narrower"):
        export_run(run_dir, ["chains"], tmp_path / "sheet.png")
    assert _files(tmp_path) == []


def test_fmt_overrides_the_suffix(run_dir, tmp_path):
    out = tmp_path / "animation.bin"
    export_run(run_dir, ["chains"], out, fmt="gif", last_step=20)
    assert _gif(out)[0] == 2


def test_several_panels_side_by_side_keep_one_size(run_dir, tmp_path):
    # chain_history grows a row every other record and starts at step 20: at step 10 it shows its
    # first frame, and every picture is as tall as its tallest frame.
    export_run(run_dir, ["chain_history"], tmp_path / "history.gif", first_step=60, scale=3)
    export_run(run_dir, ["chains"], tmp_path / "chains.gif", first_step=60, scale=3)
    count = export_run(run_dir, ["chains", "chain_history", "filters"], tmp_path / "three.mp4", scale=3)
    assert count == len(RECORDED_STEPS)
    frames = _mp4_frames(tmp_path / "three.mp4")
    assert len(frames) == count and len({f.shape for f in frames}) == 1
    height, width = frames[0].shape[:2]
    _, (history_w, history_h), _ = _gif(tmp_path / "history.gif")
    _, (chains_w, _), _ = _gif(tmp_path / "chains.gif")
    assert height == history_h + history_h % 2
    assert width > history_w + chains_w

    export_run(run_dir, ["chain_history", "chains"], tmp_path / "history_first.gif", scale=3)
    assert _gif(tmp_path / "history_first.gif")[0] == 3       # time points: chain_history's steps
    # (a history is stored only when it changed: a new row every other record, from step 20)


def test_step_range_selects_the_time_points(run_dir, tmp_path):
    assert export_run(run_dir, ["chains"], tmp_path / "a.gif", first_step=20, last_step=40) == 3
    assert _gif(tmp_path / "a.gif")[0] == 3
    assert export_run(run_dir, ["chains"], tmp_path / "b.gif", first_step=35) == 3
    assert export_run(run_dir, ["chains"], tmp_path / "c.gif", last_step=10) == 1


# --------------------------------------------------------------------------------------- no half files
@pytest.mark.parametrize("suffix", ["mp4", "gif", "png"])
def test_cancel_leaves_no_file_and_keeps_the_old_one(run_dir, tmp_path, suffix):
    out = tmp_path / f"anim.{suffix}"
    out.write_bytes(b"previous export")
    calls = []

    def progress(done, total):
        calls.append(done)
        return done < 2

    with pytest.raises(ExportCancelled, match="cancelled after 2 of 6"):
        export_run(run_dir, ["chains", "filters"], out, progress=progress)
    assert calls == [1, 2]
    assert out.read_bytes() == b"previous export"
    assert _files(tmp_path) == [out.name]


def test_a_failure_mid_write_leaves_no_temp_file(run_dir, tmp_path):
    def progress(done, total):
        if done == 3:
            raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="No space left on device"):
        export_run(run_dir, ["chains"], tmp_path / "anim.mp4", progress=progress)
    assert _files(tmp_path) == []


def test_success_replaces_an_existing_file(run_dir, tmp_path):
    out = tmp_path / "anim.gif"
    out.write_bytes(b"old")
    export_run(run_dir, ["chains"], out)
    assert _gif(out)[0] == 6 and _files(tmp_path) == ["anim.gif"]


@pytest.mark.parametrize("change, message", [
    ({"run_dir": "missing"}, "no run directory at"),
    ({"run_dir": "empty"}, "is not a run directory"),
    ({"panels": ["nope"]}, "no recorded frames for panel 'nope' .* \\(recorded: chain_history, chains, filters, "
                           "reconstructions, weights_and_gradients\\)"),
    ({"panels": []}, "at least one panel"),
    ({"first_step": 1000}, "no frames of 'chains' between steps 1000 and 60 \\(recorded: steps 10 to 60\\)"),
    ({"first_step": 50, "last_step": 20}, "empty step range"),
    ({"fps": 0}, "frame rate must be a positive number"),
    ({"scale": 0}, "scale must be"),
    ({"out": "anim.avi"}, "unknown export format 'avi'"),
    ({"out": "anim"}, "unknown export format none"),
    ({"out": "no/such/dir/anim.mp4"}, "directory .* does not exist"),
    ({"out": "a_file/anim.mp4"}, "a_file is not a directory"),
])
def test_bad_input_is_a_clear_export_error_and_writes_nothing(run_dir, tmp_path, change, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_bytes(b"")
    args = {"run_dir": run_dir, "panels": ["chains"], "out": "anim.mp4", **change}
    args["out"] = tmp_path / args["out"]
    if args["run_dir"] != run_dir:
        args["run_dir"] = tmp_path / args["run_dir"]
    with pytest.raises(ExportError, match=message) as info:
        export_run(**args)
    assert "\n" not in str(info.value)
    assert _files(tmp_path) == ["a_file", "empty"]


def test_exports_a_run_that_is_still_being_written(tmp_path):
    from engines.core.runner import Control, RunnerSettings

    control = Control()
    runner, store = _record_run(tmp_path / "live", RunnerSettings(record_frames_every=5), control)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(store.frame_steps("chains")) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        count = export_run(tmp_path / "live", ["chains", "filters"], tmp_path / "live.gif")
        assert count >= 4 and _gif(tmp_path / "live.gif")[0] == count
    finally:
        control.stop()
        thread.join(timeout=20)
        store.close()
    assert not thread.is_alive()


# --------------------------------------------------------------------------------------- CLI
def test_cli_exports_and_reports(run_dir, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    assert cli.main(["export", str(run_dir), "--panel", "chains,filters", "--panel", "reconstructions",
                     "--out", str(out), "--fps", "24", "--first-step", "20", "--scale", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote 5 frames to {out}\n"
    assert "exporting frame 5/5" in captured.err
    assert len(_mp4_frames(out)) == 5

    assert cli.main(["export", str(run_dir), "--panel", "chains", "--format", "png",
                     "--out", str(tmp_path / "sheet.img")]) == 0
    with Image.open(tmp_path / "sheet.img") as sheet:
        assert sheet.format == "PNG"


@pytest.mark.parametrize("argv, message", [
    (["--panel", "nope", "--out", "x.gif"], "error: no recorded frames for panel 'nope'"),
    (["--panel", "chains", "--out", "x.gif", "--fps", "-1"], "error: frame rate must be"),
    (["--panel", "chains", "--out", "x.webm"], "error: unknown export format 'webm'"),
    (["--panel", "chains", "--out", "x.gif", "--format", "avi"], "error: argument --format: invalid choice"),
    (["--out", "x.gif"], "error: export needs --panel NAME and --out FILE, or --scalars FILE.csv"),
    (["--panel", "chains", "--out", "x.gif", "--scale", "big"], "error: argument --scale: invalid int"),
])
def test_cli_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, capsys, argv, message):
    argv = ["export", str(run_dir)] + [str(tmp_path / a) if a.startswith("x.") else a for a in argv]
    try:
        status = cli.main(argv)
    except SystemExit as exit_:       # argparse's own errors
        status = exit_.code
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert captured.err.startswith(message) and captured.err.count("\n") == 1
    assert _files(tmp_path) == []


def test_python_m_studio_export_runs_without_qt_or_torch_at_import(run_dir, tmp_path):
    probe = ("import sys, engines.records.export, studio.__main__; "
             "print(sorted({'torch', 'PySide6'} & set(sys.modules)))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"

    out = tmp_path / "cli.gif"
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(run_dir), "--panel", "filters",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"wrote 6 frames to {out}\n")
    assert _gif(out)[0] == 6
    bad = subprocess.run([sys.executable, "-m", "studio", "export", str(tmp_path), "--panel", "chains",
                          "--out", str(tmp_path / "x.gif")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
