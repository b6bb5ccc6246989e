"""The README is checked as a user reads it: every command it shows is one that
``tests/readme_commands.py`` runs (CI runs it after the tests), and every figure it gives as
measured is one that ``benchmarks/readme_figures.py`` measures again."""
import importlib.util
import re
import sys
from pathlib import Path

from tests.readme_commands import readme_commands, shortened

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def figures_script():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # as `python benchmarks/readme_figures.py` has it
    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "benchmarks" / "readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module              # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_readme_command_is_found_and_ci_runs_them():
    commands = readme_commands(README)
    kinds = {c.kind for c in commands}
    assert {"setup", "train", "eval", "export", "gui", "benchmark"} <= kinds
    texts = [c.text for c in commands]
    for expected in ("python -m engines train rbm --steps 2000 --run-dir runs/rbm1", "python main.py --open runs/rbm1",
                     "GENSTUDIO_DISPLAY_SHARE=0.1 genstudio", "python -m engines train --resume runs/rbm1 --steps 5000"):
        assert expected in texts
    assert all(c.text.split()[0] != "torchrun" or "engines train" in c.text for c in commands)
    assert "python -m engines train" not in texts                  # a name in a sentence, not a command
    for c in commands:
        if c.kind == "benchmark":
            assert (ROOT / c.program.split()[1]).is_file(), c.text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python tests/readme_commands.py" in ci and "python tests/readme_commands.py" in README


def test_commands_are_shortened_only_in_length():
    assert shortened("train dbm --steps 3000 --run-dir runs/d") == "train dbm --steps 201 --run-dir runs/d"
    assert shortened("train vae --epochs 50 --set hidden=400") == "train vae --epochs 6 --set hidden=400"
    assert shortened("train rbm --steps 120") == "train rbm --steps 120"
    assert shortened("main.py --model vae") == "main.py --model vae"


def test_every_measured_figure_is_measured_again_by_the_figures_script():
    """Each figure template matches the README once, and every passage that says it was measured
    holds figures the script reproduces."""
    module = figures_script()
    spans = [(m.start(), m.end()) for _, m in importlib.import_module("figures").matches(README, module.FIGURES)]
    blocks = [(m.start(), m.end()) for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", README)]
    for i, (start, end) in enumerate(blocks):
        text = README[start:end]
        if "Measured here" not in text and "measured:" not in text:
            continue
        if text.endswith(":"):                     # "Measured here ...:" then its table
            end = blocks[i + 1][1]
        assert any(start <= a and b <= end for a, b in spans), text[:80]
    experiments = {read.experiment for group in module.FIGURES for read in group.values.values()}
    assert experiments <= set(module.EXPERIMENTS)
