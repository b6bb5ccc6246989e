"""The panels of a run as docks around the run setup: built from the run's views, placed by the
views' areas, remembered per model between launches, and put back by View → Reset layout.

First-launch arrangement: the run setup on the left, the ``main`` views (largest pictures) to its
right, the ``side`` views stacked in a column beside them, the curves along the bottom.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engines.core.config import FieldInfo
from engines.core.frames import kind_class
from engines.core.views import View, kind_id
from studio.panels import CurvesPanel, Panel, create_panel

SETTINGS_ORG, SETTINGS_APP = "genstudio", "studio"
LAYOUT_VERSION = 2           # a layout saved by another version is not restored
SETUP_WIDTH = 290            # first-launch widths of the setup dock, the main column and the side column
MAIN_WIDTH = 700
SIDE_WIDTH = 400
CURVES_HEIGHT = 280          # first-launch height of the curves dock
COMPACT_SCREEN = (1280, 800)  # on a smaller screen the side views share one dock area as tabs
CURVES = "curves"


def settings() -> QtCore.QSettings:
    fmt, scope = QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope
    return QtCore.QSettings(fmt, scope, SETTINGS_ORG, SETTINGS_APP)


def view_for_frame(frame) -> View:
    """A view for frames no view declares: a dock of its own, titled after the frame's name."""
    return View(frame.name, frame.name.replace("_", " ").capitalize(), (kind_id(type(frame)),))


class DockLayout(QtCore.QObject):
    """Owns the panel docks of one window: ``use(model, views, fields)`` shows a run's panels."""

    layoutChanged = QtCore.Signal()         # docks were added or removed (the View menu follows)
    visibilityChanged = QtCore.Signal()     # a dock was shown, hidden or tabbed: visible_frames() changed

    def __init__(self, window: QtWidgets.QMainWindow, setup_dock: QtWidgets.QDockWidget):
        super().__init__(window)
        self.window = window
        self.setup_dock = setup_dock
        self.model = ""
        self.views: dict[str, View] = {}
        self.panels: dict[str, Panel | CurvesPanel] = {}
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.frame_views: dict[str, str] = {}          # frame name -> view name
        self.fields: dict[str, FieldInfo] = {}
        self.curves = CurvesPanel()
        self._add_dock(CURVES, "Curves", self.curves)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, setup_dock)
        self._place(CURVES)

    # ------------------------------------------------------------------------------ building
    def dock(self, name: str, title: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        return dock

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
        self._place(view.name)
        return panel

    def panel_for(self, frame) -> tuple[Panel, bool]:
        """The panel that draws ``frame`` and whether it was made just now (a frame no view declares
        gets a dock of its own)."""
        name = self.frame_views.get(frame.name)
        if name is not None:
            return self.panels[name], False
        kind_class(kind_id(type(frame)))          # a kind the studio can decode and draw
        panel = self._add_view(view_for_frame(frame))
        self.layoutChanged.emit()
        return panel, True

    # ------------------------------------------------------------------------------ placement
    def _place(self, name: str) -> None:
        area = QtCore.Qt.DockWidgetArea
        dock = self.docks[name]
        if name == CURVES:
            self.window.addDockWidget(area.BottomDockWidgetArea, dock)
        else:
            view = self.views[name]
            main = [self.docks[n] for n, v in self.views.items() if v.area == "main" and n != name]
            side = [self.docks[n] for n, v in self.views.items() if v.area == "side" and n != name]
            if view.area == "main":
                if main:
                    self.window.tabifyDockWidget(main[-1], dock)
                else:
                    self.window.addDockWidget(area.RightDockWidgetArea, dock)
                    if side:
                        self.window.splitDockWidget(dock, side[0], QtCore.Qt.Orientation.Horizontal)
            elif side and self.compact:
                self.window.tabifyDockWidget(side[-1], dock)
                side[0].raise_()
            elif side:
                self.window.splitDockWidget(side[-1], dock, QtCore.Qt.Orientation.Vertical)
            elif main:
                self.window.splitDockWidget(main[0], dock, QtCore.Qt.Orientation.Horizontal)
            else:
                self.window.addDockWidget(area.RightDockWidgetArea, dock)
        dock.show()

    def default_sizes(self) -> None:
        main = [self.docks[n] for n, v in self.views.items() if v.area == "main"][:1]
        side = [self.docks[n] for n, v in self.views.items() if v.area == "side"][:1]
        docks = [self.setup_dock, *main, *side]
        widths = [SETUP_WIDTH] + [MAIN_WIDTH] * len(main) + [SIDE_WIDTH] * len(side)
        self.window.resizeDocks(docks, widths, QtCore.Qt.Orientation.Horizontal)
        self.window.resizeDocks([self.docks[CURVES]], [CURVES_HEIGHT], QtCore.Qt.Orientation.Vertical)

    def reset(self) -> None:
        """Put every dock back where a first launch puts it."""
        for dock in [self.setup_dock, *self.docks.values()]:
            self.window.removeDockWidget(dock)
        self.window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.setup_dock.show()
        names = list(self.docks)
        placed, self.views = self.views, {}
        for name in names:               # in order of creation, as _place expects
            if name in placed:
                self.views[name] = placed[name]
            self._place(name)
        QtCore.QTimer.singleShot(0, self.default_sizes)

    @property
    def compact(self) -> bool:
        """A small screen: side views are tabs, not a column of small pictures."""
        screen = self.window.screen().availableGeometry()
        return screen.width() < COMPACT_SCREEN[0] or screen.height() < COMPACT_SCREEN[1]

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
        return [self.setup_dock, *self.docks.values()]

    def visible_frames(self) -> set[str]:
        """The frame names drawn by panels shown now (a closed or tabbed-away dock draws none)."""
        return {name for view_name, view in self.views.items() if self.panels[view_name].isVisible()
                for name in view.frames}
