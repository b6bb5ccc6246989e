"""Scalars out as CSV: one run wide (``step, wall_time``, a column per scalar, empty where a scalar
was not recorded), several runs long (``run, step, name, value``), from the studio's command line
too, and bad input as one line."""
import csv
import math

import pytest

from engines.core.store import RunStore
from engines.records.export import ExportError
from engines.records.scalars_csv import write_long_csv, write_scalars_csv
from studio.__main__ import main as studio_main


def recorded(path, scale: float = 1.0):
    store = RunStore.create(path, {"model": "rbm"})
    for step in range(1, 5):
        store.add_scalars(step, {"loss": scale / step}, wall=1000.0 + step)
        if step % 2 == 0:
            store.add_scalars(step, {"grad_norm/W": 2.0 * step, "odd": float("nan")}, wall=1000.5 + step)
    store.close()
    return path


def read(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_one_run_is_written_wide_a_row_per_step_and_a_column_per_scalar(tmp_path):
    run = recorded(tmp_path / "run")
    assert write_scalars_csv(run, tmp_path / "out.csv") == 4
    header, *rows = read(tmp_path / "out.csv")
    assert header == ["step", "wall_time", "loss", "grad_norm/W", "odd"]
    assert rows[0] == ["1", "1001.0", "1.0", "", ""]                  # not recorded at step 1: empty
    assert rows[1][:4] == ["2", "1002.0", "0.5", "4.0"] and math.isnan(float(rows[1][4]))
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4]
    assert not list(tmp_path.glob(".out.csv*"))                       # no temp file left


def test_a_comparison_is_written_long_one_row_per_value(tmp_path):
    runs = [("a", recorded(tmp_path / "a")), ("b", recorded(tmp_path / "b", scale=3.0))]
    assert write_long_csv(runs, tmp_path / "long.csv") == 2 * (4 + 2 + 2)
    header, *rows = read(tmp_path / "long.csv")
    assert header == ["run", "step", "name", "value"]
    assert rows[0] == ["a", "1", "loss", "1.0"] and ["b", "2", "loss", "1.5"] in rows
    assert ["b", "4", "grad_norm/W", "8.0"] in rows


def test_the_studio_command_writes_the_csv_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    run = recorded(tmp_path / "run")
    assert studio_main(["export", str(run), "--scalars", str(tmp_path / "s.csv")]) == 0
    assert read(tmp_path / "s.csv")[0][:3] == ["step", "wall_time", "loss"]
    assert "wrote 4 steps of scalars" in capsys.readouterr().out
    for argv, why in ((["export", str(tmp_path / "none"), "--scalars", str(tmp_path / "x.csv")], "no run directory"),
                      (["export", str(run), "--scalars", str(tmp_path / "no" / "x.csv")], "cannot write"),
                      (["export", str(run)], "needs --panel")):
        assert studio_main(argv) == 2
        err = capsys.readouterr().err
        assert why in err and len(err.strip().splitlines()) == 1, err


def test_a_run_without_scalars_says_so(tmp_path):
    RunStore.create(tmp_path / "empty", {"model": "rbm"}).close()
    with pytest.raises(ExportError, match="no scalars"):
        write_scalars_csv(tmp_path / "empty", tmp_path / "e.csv")
