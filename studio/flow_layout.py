"""A layout that places its widgets in a row and wraps them onto further rows when the row is
full, as words in a line of text: a panel's controls stay visible in a narrow panel instead of
hiding behind a horizontal scroll bar. Its height follows its width (``heightForWidth``)."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class FlowLayout(QtWidgets.QLayout):
    """Items left to right, each row as tall as its tallest item, ``spacing`` pixels between items
    and rows; an item wider than the layout gets a row of its own (its minimum width at least)."""

    def __init__(self, parent=None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QtWidgets.QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # ------------------------------------------------------------------------------ the items
    def addItem(self, item: QtWidgets.QLayoutItem) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)

    def insertWidget(self, index: int, widget: QtWidgets.QWidget) -> None:  # noqa: N802 - as QBoxLayout's
        """``widget`` at position ``index`` (the panel's own controls come first)."""
        self.addChildWidget(widget)
        self._items.insert(index, QtWidgets.QWidgetItem(widget))
        self.invalidate()

    def spacing(self) -> int:
        """Pixels between items and between rows."""
        return self._spacing

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # ------------------------------------------------------------------------------ sizes
    def expandingDirections(self) -> QtCore.Qt.Orientation:  # noqa: N802
        return QtCore.Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._place(QtCore.QRect(0, 0, width, 0), move=False)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        """All items in one row."""
        hints = [item.sizeHint() for item in self._visible()]
        width = sum(h.width() for h in hints) + self._spacing * max(0, len(hints) - 1)
        return QtCore.QSize(width, max((h.height() for h in hints), default=0)) + self._margins()

    def minimumSize(self) -> QtCore.QSize:  # noqa: N802
        """The widest item's minimum: every item on a row of its own."""
        size = QtCore.QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return size + self._margins()

    def setGeometry(self, rect: QtCore.QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._place(rect, move=True)

    # ------------------------------------------------------------------------------ placing
    def _margins(self) -> QtCore.QSize:
        m = self.contentsMargins()
        return QtCore.QSize(m.left() + m.right(), m.top() + m.bottom())

    def _visible(self) -> list[QtWidgets.QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _place(self, rect: QtCore.QRect, move: bool) -> int:
        """Lay the items out in ``rect`` (moving them when ``move``); returns the height used."""
        items = self._visible()
        if not items:
            return 0
        area = rect.marginsRemoved(self.contentsMargins())
        x, y, row_height = area.x(), area.y(), 0
        for item in items:
            hint = item.sizeHint()
            width = min(hint.width(), max(area.width(), item.minimumSize().width()))
            if x > area.x() and x + width > area.x() + area.width():      # full: a new row
                x, y, row_height = area.x(), y + row_height + self._spacing, 0
            if move:
                item.setGeometry(QtCore.QRect(QtCore.QPoint(x, y), QtCore.QSize(width, hint.height())))
            x += width + self._spacing
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + self.contentsMargins().bottom()
