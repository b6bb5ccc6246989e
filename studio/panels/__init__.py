"""The studio's display panels: Qt widgets that draw plain frame data (they never import torch).

:data:`PANELS` is the one place that says which panel draws which frame kind. A kind without an
entry of its own is drawn by the panel of its nearest base class (napari's layer-controls lookup),
so every kind has a panel: at worst the :class:`StillPanel`, which shows ``frame.still()``.
A family that needs a new kind of picture adds its panel module here and one line to the map (keyed
by the frame class itself: a misspelt kind fails at import instead of falling back).
"""
import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major")  # frames are (H, W) arrays: row 0 is the top row

from engines.core.config import FieldInfo  # noqa: E402
from engines.boltzmann.frames import ChainHistory, ChainState, LayerChains  # noqa: E402
from engines.core.frames import Frame, FrameKindError, kind_class  # noqa: E402
from engines.core.parameters import ParameterStats  # noqa: E402
from engines.core.views import View  # noqa: E402
from engines.deconv.frames import ChairView  # noqa: E402
from engines.draw.frames import CaptionTrace, GlimpseTrace  # noqa: E402
from engines.gan.frames import GANSamples, PointField, PyramidLevels  # noqa: E402
from engines.vae.frames import Drawing, LatentGrid, LatentScatter, LatentStats  # noqa: E402
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
from studio.panels.parameters import ParametersPanel  # noqa: E402

# frame kind -> panel class; a kind without an entry gets the entry of its nearest base class
PANELS: dict[type[Frame], type[Panel]] = {
    Frame: StillPanel,
    ChainState: ChainsPanel,
    ChainHistory: ChainsPanel,
    LayerChains: LayerChainsPanel,
    ChairView: ChairSlidersPanel,
    GlimpseTrace: AttentionPanel,
    CaptionTrace: CaptionsPanel,
    GANSamples: GANSamplesPanel,
    PyramidLevels: PyramidPanel,
    PointField: PointFieldPanel,
    LatentGrid: LatentGridPanel,
    LatentScatter: LatentScatterPanel,
    Drawing: DrawPanel,
    LatentStats: LatentStatsPanel,
    ParameterStats: ParametersPanel,
}


def panel_class(kind: str) -> type[Panel]:
    """The panel for frames of ``kind``, looked up along the kind's class hierarchy (a kind that
    cannot be loaded here gets the still-picture panel; its frames will say why they cannot show)."""
    try:
        hierarchy = kind_class(kind).__mro__
    except FrameKindError:
        return StillPanel
    return next(PANELS[cls] for cls in hierarchy if cls in PANELS)


def create_panel(view: View, fields: dict[str, FieldInfo] | None = None, parent=None) -> Panel:
    """The panel that draws ``view`` (chosen by the view's first frame kind)."""
    return panel_class(view.kinds[0])(view, fields, parent)


__all__ = ["PANELS", "ChainsPanel", "CurvesPanel", "Panel", "StillPanel", "create_panel", "panel_class"]
