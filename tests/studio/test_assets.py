"""The assets folder: the icon and the stylesheet load from a checkout, and ship in the wheel."""
import subprocess
import sys
import zipfile
from pathlib import Path

from PySide6 import QtGui, QtWidgets

import assets
from studio.theme import apply_theme

ROOT = Path(__file__).parents[2]


def test_the_app_gets_its_icon_and_stylesheet(qapp):
    apply_theme(qapp)
    icon = QtWidgets.QApplication.windowIcon()
    assert not icon.isNull() and not icon.pixmap(64, 64).isNull()
    assert "errorBanner" in qapp.styleSheet()
    image = icon.pixmap(64, 64).toImage()
    assert QtGui.QColor(image.pixel(32, 32)).isValid()


def test_the_wheel_carries_the_assets(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path), "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("genstudio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert f"assets/{assets.ICON}" in names and f"assets/{assets.STYLESHEET}" in names
