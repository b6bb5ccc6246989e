"""The dark theme: Fusion style, a dark palette (images of white digits on black read best on a
dark frame), the stylesheet from ``assets/`` for what a palette cannot say, and the app's icon."""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

BACKGROUND = "#1e1e20"
BASE = "#151517"
PANEL = "#26262a"
TEXT = "#e1e1e1"
MUTED = "#8a8a90"
ACCENT = "#4fc3f7"
ERROR = "#ef5350"

def dark_palette() -> QtGui.QPalette:
    palette = QtGui.QPalette()
    role, color = QtGui.QPalette.ColorRole, QtGui.QColor
    for r, c in ((role.Window, BACKGROUND), (role.WindowText, TEXT), (role.Base, BASE),
                 (role.AlternateBase, PANEL), (role.ToolTipBase, PANEL), (role.ToolTipText, TEXT),
                 (role.Text, TEXT), (role.Button, PANEL), (role.ButtonText, TEXT),
                 (role.BrightText, ERROR), (role.Link, ACCENT), (role.Highlight, "#2f6f8f"),
                 (role.HighlightedText, "#ffffff"), (role.PlaceholderText, MUTED)):
        palette.setColor(r, color(c))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, r, color("#6a6a70"))
    return palette


def apply_theme(app: QtWidgets.QApplication) -> None:
    import assets

    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(assets.text(assets.STYLESHEET))
    app.setWindowIcon(QtGui.QIcon(str(assets.path(assets.ICON))))
    app.setDesktopFileName("genstudio")
