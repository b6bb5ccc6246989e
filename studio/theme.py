"""The dark theme: Fusion style, a dark palette (images of white digits on black read best on a
dark frame), and a few stylesheet rules for what a palette cannot say."""
from __future__ import annotations

from PySide6 import QtGui, QtWidgets

BACKGROUND = "#1e1e20"
BASE = "#151517"
PANEL = "#26262a"
TEXT = "#e1e1e1"
MUTED = "#8a8a90"
ACCENT = "#4fc3f7"
ERROR = "#ef5350"

STYLESHEET = f"""
QDockWidget::title {{ background: {PANEL}; padding: 4px 6px; }}
QToolBar {{ border: none; spacing: 4px; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QLabel#summary, QLabel#legend {{ color: {MUTED}; }}
QLabel#errorBanner {{ background: #5c1f1f; color: #ffdede; padding: 6px 10px; border-radius: 3px; }}
*[invalid="true"] {{ border: 1px solid {ERROR}; }}
QGroupBox {{ border: 1px solid #3a3a40; border-radius: 4px; margin-top: 1.2em; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {MUTED}; }}
"""


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
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
