"""The window's commands in one table (:data:`ACTIONS`), from which its actions, menus, toolbar,
shortcuts and the F1 list are all made.

Each row names the window method it runs, its keys and what it does (the status tip, the tooltip
and the F1 line). :data:`MENUS` and :data:`TOOLBAR` place the rows by name (``"-"``: a separator;
:data:`SAVE_PICTURE`, :data:`RECORD_PANEL`: the File menu's "Save picture of" and "Record panel"
submenus, filled when they open).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets


@dataclass(frozen=True)
class ActionRow:
    name: str                  # the window's attribute is action_<name>
    text: str
    slot: str                  # the window method it runs (a checkable action passes its state)
    keys: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    everywhere: bool = False   # its keys work in the window's other windows too (the export dialog)


ACTIONS = (
    ActionRow("start", "Start", "start_clicked", ("F5",), "Start a run with these settings"),
    ActionRow("pause", "Pause", "set_paused", ("Space",), "Pause or resume training", checkable=True),
    ActionRow("step", "Step", "step_once", ("S", "Ctrl+Right"), "Train exactly one step"),
    ActionRow("stop", "Stop", "stop_run", ("Shift+F5",), "Stop training (the run is kept)"),
    ActionRow("reset", "Reset", "reset_run", ("Ctrl+R",), "Stop this run and start a new one"),
    ActionRow("open", "Open run…", "open_run_dialog", ("Ctrl+O",), "Open a recorded run", everywhere=True),
    ActionRow("follow_remote", "Follow a remote run…", "open_remote_dialog", (),
              "Follow a run that another machine trains and serves (engines serve), through an SSH tunnel"),
    ActionRow("resume", "Resume run", "resume_viewed_run", ("Ctrl+Shift+R",),
              "Continue the run shown (stopped or crashed) from its last checkpoint"),
    ActionRow("export", "Export…", "open_export_dialog", ("Ctrl+E",), "Export an animation", everywhere=True),
    ActionRow("export_scalars", "Export scalars…", "export_scalars_dialog", (),
              "Write the run's scalars as CSV: step, wall_time, then one column per scalar", everywhere=True),
    ActionRow("animate", "Animate…", "open_animate_dialog", ("Ctrl+Shift+A",),
              "Animate the model itself from a checkpoint: chains mixing, a latent walk, a GAN's loop", everywhere=True),
    ActionRow("record", "Record", "set_recording", ("F9",),
              "Record the window as it looks to a video; again to stop and save (File → Record panel: one panel)",
              checkable=True),
    ActionRow("quit", "Quit", "close", ("Ctrl+Q",), "Quit genstudio", everywhere=True),
    ActionRow("reset_layout", "Reset layout", "reset_layout", (), "Put the panels back"),
    ActionRow("shortcuts", "Keyboard shortcuts", "show_shortcuts", ("F1",), "List the shortcuts"),
    ActionRow("about", "About genstudio", "show_about"),
)
SAVE_PICTURE = "save_picture_menu"
RECORD_PANEL = "record_panel_menu"
MENUS = {"&File": ("open", "follow_remote", "resume", "export", "export_scalars", "animate", SAVE_PICTURE, "-", "record", RECORD_PANEL,
                   "-", "quit"),
         "&Run": ("start", "pause", "step", "stop", "reset"),
         "&Help": ("shortcuts", "about")}
VIEW_MENU = "&View"                  # the docks' toggles, then reset_layout (rebuilt as docks come and go)
TOOLBAR = ("start", "pause", "step", "stop", "reset", "-", "export", "record")


def make_actions(window: QtWidgets.QMainWindow) -> dict[str, QtGui.QAction]:
    """An action per row of :data:`ACTIONS`, added to ``window`` (its keys work with the toolbar
    hidden) and set as ``window.action_<name>``."""
    actions = {}
    for row in ACTIONS:
        action = QtGui.QAction(row.text, window)
        action.setShortcuts([QtGui.QKeySequence(k) for k in row.keys])
        action.setStatusTip(row.tip)
        action.setToolTip(f"{row.tip} ({', '.join(row.keys)})" if row.keys else row.tip)
        action.setCheckable(row.checkable)
        if row.everywhere:
            action.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
        (action.toggled if row.checkable else action.triggered).connect(getattr(window, row.slot))
        window.addAction(action)
        setattr(window, f"action_{row.name}", action)
        actions[row.name] = action
    return actions


def fill(container, names: tuple[str, ...], actions: dict[str, QtGui.QAction], submenus: dict) -> None:
    """Put the named actions (and separators, submenus) into a menu or a toolbar, in order."""
    for name in names:
        if name == "-":
            container.addSeparator()
        elif name in submenus:
            container.addMenu(submenus[name])
        else:
            container.addAction(actions[name])


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str]]:
    """(keys, what they do) of every action of ``window`` with a shortcut: the F1 list."""
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    return [(" or ".join(k.toString(native) for k in action.shortcuts()), action.statusTip())
            for action in window.actions() if action.shortcuts()]
