import pkgutil
import subprocess
import sys

import engines


def test_importing_every_engine_module_loads_no_qt():
    names = [m.name for m in pkgutil.walk_packages(engines.__path__, "engines.") if not m.name.endswith("__main__")]
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(names) > 10
    assert out.stdout.strip() == "[]"
