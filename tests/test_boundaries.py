"""The packages' boundaries, enforced: Qt only in ``studio/``; torch never in the GUI process (nor in
``engines/live`` and ``engines/records`` when imported); nothing in ``studio/`` outside ``panels/``
naming a model family; ``engines/core`` importing nothing built on it. Each rule is checked on the
code as it is, and shown to catch a breach."""
import ast
import os
import subprocess
import textwrap
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "shiboken6", "pyqtgraph")


def imported(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``, at any depth (a lazy import counts)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
    return found


def qt_imports(path: Path, source: str) -> list[str]:
    """A module outside ``studio/`` that imports Qt (or pyqtgraph)."""
    return [f"{path}:{line} imports {name}" for line, name in imported(source) if name.split(".")[0] in QT]


def family_packages() -> set[str]:
    """The packages that hold the registered model families (``engines.vae``, ``tests.toy``, …)."""
    from engines.registry import models

    return {target.split(":")[0].rsplit(".", 1)[0] for target in models().values()}


def family_imports(path: Path, source: str, families: set[str]) -> list[str]:
    """A module of ``studio/`` outside ``panels/`` that imports a model family."""
    return [f"{path}:{line} imports {name}" for line, name in imported(source)
            if any(name == family or name.startswith(family + ".") for family in families)]


def sources(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path.relative_to(ROOT), path.read_text()


def test_nothing_outside_studio_imports_qt():
    breaches = [b for path, source in sources("engines") for b in qt_imports(path, source)]
    assert breaches == []
    assert qt_imports(Path("engines/live/display.py"), "def draw():\n    from PySide6 import QtGui\n")


def test_studio_names_no_model_family_outside_its_panels():
    families = family_packages()
    assert {"engines.boltzmann", "engines.vae", "engines.gan", "tests.toy"} <= families
    breaches = [b for path, source in sources("studio") if "panels" not in path.parts
                for b in family_imports(path, source, families)]
    assert breaches == []
    assert family_imports(Path("studio/window.py"), "from engines.vae.frames import LatentGrid\n", families)


def core_imports(path: Path, source: str) -> list[str]:
    """A module of ``engines/core`` that imports the registry, a family, or the live or recorded
    runs: the core sits under all of them (an import back up made a circle)."""
    above = ("engines.registry", "engines.runs", "engines.cli", "engines.live", "engines.records", *family_packages())
    return [f"{path}:{line} imports {name}" for line, name in imported(source)
            if any(name == a or name.startswith(a + ".") for a in above)]


def test_the_core_imports_nothing_built_on_it():
    breaches = [b for path, source in sources("engines/core") for b in core_imports(path, source)]
    assert breaches == []
    assert core_imports(Path("engines/core/frames.py"), "def f():\n    from engines.registry import models\n")


def torch_loaded_after(code: str, folder: Path, timeout: float = 120) -> bool:
    """Whether torch is in ``sys.modules`` after ``code`` ran as the main script of a new
    interpreter (a script, so that the children it may spawn can import their main module)."""
    script = folder / "check.py"
    script.write_text("def main():\n" + textwrap.indent(code, "    ") + "\n\nif __name__ == '__main__':\n"
                      "    main()\n    import sys\n    print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1] == "True"


def test_the_runtime_and_the_studio_import_no_torch(tmp_path):
    modules = [f"{p}.{m.stem}" for p in ("engines.live", "engines.records", "studio", "studio.panels")
               for m in sorted((ROOT / p.replace(".", "/")).glob("*.py")) if m.stem not in ("__init__", "__main__")]
    assert "engines.live.training" in modules and "studio.window" in modules
    assert not torch_loaded_after("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules),
                                  tmp_path)
    assert torch_loaded_after("import engines.live.training\nimport engines.core.engine", tmp_path)   # it can fail


def test_every_models_spec_and_the_whole_catalog_import_no_torch(tmp_path):
    """What the studio reads to show a model (its spec: name, summary, default data, config fields,
    views) is declared without the engine: listing every model and its catalog entry loads no
    torch, while building the engine it names does."""
    from engines.registry import models

    specs = sorted({target.partition(":")[0] for target in models().values()})
    assert "engines.boltzmann.spec" in specs and "engines.gan.spec" in specs
    assert not torch_loaded_after("from engines.registry import catalog, model_spec, models\n"
                                  "assert all('error' not in entry for entry in catalog().values())\n"
                                  "[model_spec(name).Config() for name in models()]", tmp_path)
    assert torch_loaded_after("from engines.registry import model_spec\nmodel_spec('rbm').engine_class()", tmp_path)


GUI_SESSION = """
import time
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from studio.window import MainWindow
from engines.live.protocol import RunSpec

def wait(predicate, seconds):
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    assert predicate(), window.error_text

window = MainWindow()
window.show()
window.start_run(RunSpec(model="toy", data="digits"))
wait(lambda: window.state == "running" and {"mean", "bars"} <= set(window.last_frames), 90)
run_dir = window.run_dir
window.stop_run()
wait(lambda: window.worker is None, 60)
assert window.open_run(str(run_dir)), window.error_text
app.processEvents()
from engines.records.export import export_run
export_run(str(run_dir), ["bars", "mean"], str(Path(run_dir) / "check.gif"))
window.close()
app.processEvents()
"""


def test_the_gui_process_trains_watches_opens_and_exports_without_torch(tmp_path):
    """The window, a live run drawn in it (its children import torch, the window does not), the
    run opened afterwards and exported."""
    assert not torch_loaded_after(GUI_SESSION, tmp_path, timeout=180)
