"""The panels of a run as docks around the run setup: built from the run's views, placed by the
views' areas, remembered per model between launches, and put back by View → Reset layout.

First-launch arrangement: the run setup on the left, the ``main`` views (largest pictures) to its
right, the ``side`` views stacked in a column beside them, the curves along the bottom. On a small
screen (:data:`COMPACT_SCREEN`) the side views are tabs beside the run setup and the curves go under
them, so the main picture has the window's whole height and most of its width.
"""
from __future__ import annotations

import re

from PySide6 import QtCore, QtWidgets

from engines.core.config import FieldInfo
from engines.core.frames import kind_class
from engines.core.views import View, kind_id, undeclared_view
from studio.panels import CurvesPanel, Panel, create_panel

SETTINGS_ORG, SETTINGS_APP = "genstudio", "studio"
LAYOUT_VERSION = 3           # a layout saved by another version is not restored
SETUP_WIDTH = 290            # first-launch widths of the setup dock, the main column and the side column
MAIN_WIDTH = 700
SIDE_WIDTH = 400
CURVES_HEIGHT = 280          # first-launch height of the curves dock
CURVES_SHARE = 0.28          # at most this share of a small screen's height
SIDE_STACKS = 3              # side views stacked in the column at most; more become tabs
SIDE_VIEW_HEIGHT = 240       # a stacked side view gets at least this much of the screen's height
CHROME_HEIGHT = 160          # menus, toolbars, dock titles and the status bar
COMPACT_SCREEN = (1280, 800)  # a screen narrower or lower than this gets the compact arrangement
COMPACT_CURVES_SHARE = 0.4   # where the curves take this share of the left column's height
CURVES = "curves"


def settings() -> QtCore.QSettings:
    fmt, scope = QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope
    return QtCore.QSettings(fmt, scope, SETTINGS_ORG, SETTINGS_APP)


def view_for_frame(frame) -> View:
    """A view for frames no view declares: a dock of its own, titled after the frame's name."""
    return undeclared_view(frame.name, kind_id(type(frame)))


def short_title(title: str) -> str:
    """A view's title up to its first ' · ', ' (' or ': ' ("Filters (hidden units)" -> "Filters")."""
    return re.split(r" · | \(|: ", title, maxsplit=1)[0]

class DockLayout(QtCore.QObject):
    """Owns the panel docks of one window: ``use(model, views, fields)`` shows a run's panels."""

    layoutChanged = QtCore.Signal()         # docks were added or removed (the View menu follows)
    visibilityChanged = QtCore.Signal()     # a dock was shown, hidden or tabbed: visible_frames() changed

    def __init__(self, window: QtWidgets.QMainWindow, left_docks: list[QtWidgets.QDockWidget]):
        """``left_docks``: the docks that share the left column as tabs, the run setup first."""
        super().__init__(window)
        self.window = window
        self.left_docks = left_docks
        self.setup_dock = left_docks[0]
        self.model = ""
        self.views: dict[str, View] = {}
        self.panels: dict[str, Panel | CurvesPanel] = {}
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.frame_views: dict[str, str] = {}          # frame name -> view name
        self.fields: dict[str, FieldInfo] = {}
        self.full_titles: dict[str, str] = {}           # a dock's short title -> its view's whole title
        self.curves = CurvesPanel()
        self._add_dock(CURVES, "Curves", self.curves)
        window.setTabPosition(QtCore.Qt.DockWidgetArea.AllDockWidgetAreas, QtWidgets.QTabWidget.TabPosition.North)
        self._arrange()

    # ------------------------------------------------------------------------------ building
    def dock(self, name: str, title: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        """A dock titled with the short form of ``title`` (its tab stays legible in a narrow
        window); the whole title is the tab's tooltip and the panel's caption."""
        short = short_title(title)
        dock = QtWidgets.QDockWidget(short, self.window)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        self.full_titles[short] = title
        dock.dockLocationChanged.connect(self.title_tabs)
        return dock

    def title_tabs(self) -> None:
        """Each dock tab whole (short titles, scroll arrows when they do not fit, not "D…"), its view's
        whole title as its tooltip (Qt makes the tab bars as docks are tabbed)."""
        for bar in self.window.findChildren(QtWidgets.QTabBar):
            bar.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
            for i in range(bar.count()):
                full = self.full_titles.get(bar.tabText(i))
                if full is not None:
                    bar.setTabToolTip(i, full)

    def _add_dock(self, name: str, title: str, widget) -> QtWidgets.QDockWidget:
        dock = self.dock(name, title, widget)
        dock.visibilityChanged.connect(self.visibilityChanged)      # signal to signal: gone with either
        self.panels[name], self.docks[name] = widget, dock
        return dock

    def use(self, model: str, views: list[View], fields: list[FieldInfo]) -> list[Panel]:
        """Show ``model``'s panels, laid out as the user left them for this model; returns the new
        panels (the window wires them). The curves panel stays."""
        if model == self.model and [v.name for v in views] == [n for n in self.views]:
            return []
        if self.model:
            self.save()
        for name in list(self.views):
            dock = self.docks.pop(name)
            self.panels.pop(name)
            self.window.removeDockWidget(dock)
            dock.deleteLater()
        self.model, self.views, self.frame_views = model, {}, {}
        self.fields = {f.name: f for f in fields}
        created = [self._add_view(view) for view in views]
        self._arrange()
        state = settings().value(f"layout/{model}")
        same_screen = settings().value(f"layout/{model}/screen") == self.screen_key
        if state is None or not same_screen or not self.window.restoreState(state, LAYOUT_VERSION):
            QtCore.QTimer.singleShot(0, self.default_sizes)   # once the new docks are laid out
        self.layoutChanged.emit()
        return created

    def _add_view(self, view: View) -> Panel:
        panel = create_panel(view, self.fields)
        self._add_dock(view.name, view.title, panel)
        self.views[view.name] = view
        for frame_name in view.frames:
            self.frame_views[frame_name] = view.name
        return panel

    @property
    def main_panel(self) -> Panel | None:
        """The panel of the run's first main view (the picture the live figures are about)."""
        return next((self.panels[n] for n, v in self.views.items() if v.area == "main"), None)

    def panel_for(self, frame) -> tuple[Panel, bool]:
        """The panel that draws ``frame`` and whether it was made just now (a frame no view declares
        gets a dock of its own: a tab of the side column's last stack, or of the left column in the
        compact arrangement, or, with no side column, a tab behind the main view, which stays shown)."""
        name = self.frame_views.get(frame.name)
        if name is not None:
            return self.panels[name], False
        kind_class(kind_id(type(frame)))          # a kind the studio can decode and draw
        view = view_for_frame(frame)
        heads = self._side_heads()                  # before the new view is one of them
        main = [self.docks[n] for n, v in self.views.items() if v.area == "main"][:1]
        panel = self._add_view(view)
        dock = self.docks[view.name]
        if heads:
            self.window.tabifyDockWidget(heads[-1], dock)
        elif self.compact:
            self.window.tabifyDockWidget(self.setup_dock, dock)
        elif main:
            self.window.tabifyDockWidget(main[0], dock)
        else:
            self.window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.show()
        for shown in main:
            shown.raise_()
        QtCore.QTimer.singleShot(0, self.title_tabs)
        self.layoutChanged.emit()
        return panel, True

    # ------------------------------------------------------------------------------ placement
    def _arrange(self) -> None:
        """The first-launch arrangement: the run setup on the left, the main views as tabs of the
        big area right of it, the side views in a column beside that, at most ``side_stacks`` of
        them stacked and the others joining those stacks as tabs in turn, the curves along the
        bottom. On a small screen (``compact``) the side views are tabs of the left column, beside
        the run setup, and the curves sit under them: the main view keeps the window's height and
        most of its width. (Qt makes a dock split from a tabbed one another tab: columns are built
        before their tabs.)"""
        area, orientation = QtCore.Qt.DockWidgetArea, QtCore.Qt.Orientation
        window = self.window
        for dock in [*self.left_docks, self.docks[CURVES]]:     # placed afresh, not moved: Qt deleted
            window.removeDockWidget(dock)                       # what a move left while animating it
        window.addDockWidget(area.LeftDockWidgetArea, self.setup_dock)
        if self.compact:
            window.splitDockWidget(self.setup_dock, self.docks[CURVES], orientation.Vertical)
        else:
            window.addDockWidget(area.BottomDockWidgetArea, self.docks[CURVES])
        main = [self.docks[n] for n, v in self.views.items() if v.area == "main"]
        side = [self.docks[n] for n, v in self.views.items() if v.area == "side"]
        heads = self._side_heads()
        first = (main or heads or [None])[0]
        if first is not None:
            window.addDockWidget(area.RightDockWidgetArea, first)
        previous = first
        for head in heads:
            if head is not first:
                window.splitDockWidget(previous, head, orientation.Horizontal if previous is first and main
                                       else orientation.Vertical)
                previous = head
        for dock in self.left_docks[1:]:
            window.tabifyDockWidget(self.setup_dock, dock)
        for dock in main[1:]:
            window.tabifyDockWidget(main[0], dock)
        groups = heads or [self.setup_dock]
        for i, dock in enumerate(side[len(heads):]):
            window.tabifyDockWidget(groups[i % len(groups)], dock)
        for dock in [*self.left_docks, *self.docks.values()]:
            dock.show()
        for dock in [self.setup_dock, *main[:1], *heads]:
            dock.raise_()            # the first view of each tab group is the one shown
        QtCore.QTimer.singleShot(0, self.title_tabs)     # once Qt has made the tab bars

    def _side_heads(self) -> list[QtWidgets.QDockWidget]:
        """The side views that head a stack of the side column (none in the compact arrangement of
        a run with a main view: its side views are tabs of the left column)."""
        main = any(v.area == "main" for v in self.views.values())
        if self.compact and main:
            return []
        return [self.docks[n] for n, v in self.views.items() if v.area == "side"][:self.side_stacks]

    def default_sizes(self) -> None:
        main = [self.docks[n] for n, v in self.views.items() if v.area == "main"][:1]
        side = self._side_heads()[:1]
        docks = [self.setup_dock, *main, *side]
        side_width = SIDE_WIDTH * len(side)
        main_width = self.window.width() - SETUP_WIDTH - side_width   # the main view takes the rest
        if not self.compact:
            main_width = max(MAIN_WIDTH, main_width)
        widths = [SETUP_WIDTH] + [main_width] * len(main) + [SIDE_WIDTH] * len(side)
        self.window.resizeDocks(docks, widths, QtCore.Qt.Orientation.Horizontal)
        if self.compact:
            curves = int(COMPACT_CURVES_SHARE * self.window.height())
            self.window.resizeDocks([self.setup_dock, self.docks[CURVES]], [self.window.height() - curves, curves],
                                    QtCore.Qt.Orientation.Vertical)
        else:      # the curves and the dock above them at once (Qt moves one alone halfway at a time)
            screen_height = self.window.screen().availableGeometry().height()
            height = min(CURVES_HEIGHT, int(CURVES_SHARE * screen_height))
            above = [*main, *side][:1]
            self.window.resizeDocks([*above, self.docks[CURVES]], [self.window.height() - height] * len(above) + [height],
                                    QtCore.Qt.Orientation.Vertical)

    def reset(self) -> None:
        """Put every dock back where a first launch puts it."""
        for dock in [*self.left_docks, *self.docks.values()]:
            dock.setFloating(False)
            self.window.removeDockWidget(dock)
        self._arrange()
        QtCore.QTimer.singleShot(0, self.default_sizes)

    @property
    def compact(self) -> bool:
        """Whether the screen is small enough for the compact arrangement."""
        screen = self.window.screen().availableGeometry()
        return screen.width() < COMPACT_SCREEN[0] or screen.height() < COMPACT_SCREEN[1]

    @property
    def side_stacks(self) -> int:
        """How many side views stack in the column: as many as fit the screen's height at
        ``SIDE_VIEW_HEIGHT`` each, at most ``SIDE_STACKS`` (a small screen: one, the others tabs)."""
        height = self.window.screen().availableGeometry().height()
        return max(1, min(SIDE_STACKS, (height - CHROME_HEIGHT - CURVES_HEIGHT) // SIDE_VIEW_HEIGHT))

    @property
    def screen_key(self) -> str:
        """The size of the screen the window is on: layouts are remembered per screen size."""
        screen = self.window.screen().availableGeometry()
        return f"{screen.width()}x{screen.height()}"

    def save(self) -> None:
        """Remember the layout of the model shown, for a screen of this size (another screen, or
        another version of the studio, starts from the first-launch layout)."""
        if self.model:
            settings().setValue(f"layout/{self.model}", self.window.saveState(LAYOUT_VERSION))
            settings().setValue(f"layout/{self.model}/screen", self.screen_key)

    def all_docks(self) -> list[QtWidgets.QDockWidget]:
        return [*self.left_docks, *self.docks.values()]

    def visible_frames(self) -> set[str]:
        """The frame names drawn by panels shown now (a closed or tabbed-away dock draws none: Qt
        may keep a tabbed-away dock "visible", with nothing of it on screen)."""
        return {name for view_name, view in self.views.items() if self._on_screen(self.panels[view_name])
                for name in view.frames}

    @staticmethod
    def _on_screen(panel: QtWidgets.QWidget) -> bool:
        return panel.isVisible() and not panel.visibleRegion().isEmpty()
