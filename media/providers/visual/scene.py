"""The one Painter a job uses: each scene goes to the painter of its visual type.

Slides, code, formulas, diagrams and title cards are always drawn here, offline. `image` scenes go to the
image provider chosen in settings (media.providers.registry): OpenAI images, or the offline stand-in card
that shows the prompt as text (clearly not a photo), so an explainer renders with no key and no network.
"""

from collections.abc import Mapping
from pathlib import Path

from media.providers.visual.base import Painter, Theme
from media.providers.visual.code import CodePainter
from media.providers.visual.diagram import DiagramPainter
from media.providers.visual.formula import FormulaPainter
from media.providers.visual.slide import SlidePainter
from media.providers.visual.title import TitlePainter
from media.script import Scene, VisualType


class ScenePainter:
    """Dispatches each scene to the painter of its visual type."""

    def __init__(self, painters: Mapping[VisualType, Painter]) -> None:
        self.painters = painters

    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        painter = self.painters[scene.visual]
        return await painter.paint(scene, dest, width=width, height=height, theme=theme)


def scene_painter(image: Painter) -> ScenePainter:
    """Every visual type drawn offline, except `image` scenes, which `image` paints."""
    return ScenePainter(
        {
            "slide": SlidePainter(),
            "code": CodePainter(),
            "formula": FormulaPainter(),
            "diagram": DiagramPainter(),
            "title": TitlePainter(),
            "image": image,
        }
    )
