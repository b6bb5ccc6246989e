"""The studio's display panels: Qt widgets that draw plain frame data (they never import torch).

:data:`PANELS` is the one place that says which panel draws which frame kind. A kind without an
entry of its own is drawn by the panel of its nearest base class (napari's layer-controls lookup),
so every kind has a panel: at worst the :class:`StillPanel`, which shows ``frame.still()``.
A family that needs a new kind of picture adds its panel module here and one line to the map.
"""
import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major")  # frames are (H, W) arrays: row 0 is the top row

from engines.core.config import FieldInfo  # noqa: E402
from engines.core.frames import FrameKindError, kind_class  # noqa: E402
from engines.core.views import View, kind_id  # noqa: E402
from studio.panels.attention import AttentionPanel  # noqa: E402
from studio.panels.base import Panel  # noqa: E402
from studio.panels.captions import CaptionsPanel  # noqa: E402
from studio.panels.chains import ChainsPanel  # noqa: E402
from studio.panels.chairs import ChairSlidersPanel  # noqa: E402
from studio.panels.curves import CurvesPanel  # noqa: E402
from studio.panels.dbm import LayerChainsPanel  # noqa: E402
from studio.panels.gan import GANSamplesPanel, PointFieldPanel, PyramidPanel  # noqa: E402
from studio.panels.images import StillPanel  # noqa: E402
from studio.panels.latent import DrawPanel, LatentGridPanel, LatentScatterPanel, LatentStatsPanel  # noqa: E402

# frame kind (module:Class) -> panel class
PANELS: dict[str, type[Panel]] = {
    "engines.core.frames:Frame": StillPanel,
    "engines.boltzmann.frames:ChainState": ChainsPanel,
    "engines.boltzmann.frames:ChainHistory": ChainsPanel,
    "engines.boltzmann.frames:LayerChains": LayerChainsPanel,
    "engines.deconv.frames:ChairView": ChairSlidersPanel,
    "engines.draw.frames:GlimpseTrace": AttentionPanel,
    "engines.draw.frames:CaptionTrace": CaptionsPanel,
    "engines.gan.frames:GANSamples": GANSamplesPanel,
    "engines.gan.frames:PyramidLevels": PyramidPanel,
    "engines.gan.frames:PointField": PointFieldPanel,
    "engines.vae.frames:LatentGrid": LatentGridPanel,
    "engines.vae.frames:LatentScatter": LatentScatterPanel,
    "engines.vae.frames:Drawing": DrawPanel,
    "engines.vae.frames:LatentStats": LatentStatsPanel,
}


def panel_class(kind: str) -> type[Panel]:
    """The panel for frames of ``kind``, looked up along the kind's class hierarchy (a kind that
    cannot be loaded here gets the still-picture panel; its frames will say why they cannot show)."""
    try:
        hierarchy = kind_class(kind).__mro__
    except FrameKindError:
        return StillPanel
    for cls in hierarchy:
        panel = PANELS.get(kind_id(cls))
        if panel is not None:
            return panel
    return StillPanel


def create_panel(view: View, fields: dict[str, FieldInfo] | None = None, parent=None) -> Panel:
    """The panel that draws ``view`` (chosen by the view's first frame kind)."""
    return panel_class(view.kinds[0])(view, fields, parent)


__all__ = ["PANELS", "ChainsPanel", "CurvesPanel", "Panel", "StillPanel", "create_panel", "panel_class"]
