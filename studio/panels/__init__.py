"""The studio's display panels: Qt widgets that draw plain frame data (they never import torch)."""
import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major")  # frames are (H, W) arrays: row 0 is the top row

from PySide6.QtWidgets import QWidget  # noqa: E402

from studio.panels.chains import ChainsPanel  # noqa: E402
from studio.panels.curves import CurvesPanel  # noqa: E402
from studio.panels.images import ImageGridPanel  # noqa: E402

PANEL_TITLES: dict[str, str] = {
    "chains": "Gibbs chains",
    "filters": "Filters (hidden units)",
    "reconstructions": "Reconstructions",
    "curves": "Curves",
}


def create_panel(name: str, parent=None) -> QWidget:
    """The panel that shows frames named ``name``: chains and curves have their own widgets, every
    other name gets an image grid titled from ``PANEL_TITLES`` (or the name itself)."""
    if name == "chains":
        return ChainsPanel(parent)
    if name == "curves":
        return CurvesPanel(parent)
    return ImageGridPanel(PANEL_TITLES.get(name, name), parent)


__all__ = ["PANEL_TITLES", "ChainsPanel", "CurvesPanel", "ImageGridPanel", "create_panel"]
