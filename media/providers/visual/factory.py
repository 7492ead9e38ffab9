"""The painter a job uses: one per visual type, chosen by the scene.

Slides, code, formulas, diagrams and title cards are always drawn offline. `image` scenes go to the image
provider named in settings: "openai", or "offline", which paints a labelled card of the prompt (clearly not
a photo) so an explainer renders with no key and no network.
"""

from pathlib import Path

import httpx

from media.providers.http import ProviderError, require_key
from media.providers.visual.base import Painter, Theme
from media.providers.visual.code import CodePainter
from media.providers.visual.diagram import DiagramPainter
from media.providers.visual.formula import FormulaPainter
from media.providers.visual.openai import API_URL, OpenAIPainter
from media.providers.visual.slide import SlidePainter
from media.providers.visual.title import StandInPainter, TitlePainter
from media.script import Scene, VisualType

IMAGE_PROVIDERS = ("offline", "openai")


class ScenePainter:
    """Dispatches each scene to the painter of its visual type."""

    def __init__(self, painters: dict[VisualType, Painter]) -> None:
        self.painters = painters

    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        painter = self.painters[scene.visual]
        return await painter.paint(scene, dest, width=width, height=height, theme=theme)


def make_painter(
    image_provider: str,
    *,
    http: httpx.AsyncClient | None,
    openai_key: str | None,
    openai_base_url: str = API_URL,
) -> Painter:
    """The painter for every visual type; raises ProviderError when the image provider is unknown or lacks
    its key, so a misconfigured worker fails at start-up rather than on its first image scene."""
    image: Painter
    if image_provider == "openai":
        key = require_key(openai_key, "OpenAI images", "CLIPFORGE_OPENAI_API_KEY")
        if http is None:
            raise ProviderError("PROVIDER_NOT_CONFIGURED", "OpenAI images needs an HTTP client")
        image = OpenAIPainter(http=http, key=key, base_url=openai_base_url)
    elif image_provider == "offline":
        image = StandInPainter()
    else:
        raise ProviderError(
            "PROVIDER_NOT_CONFIGURED",
            f"unknown image provider {image_provider!r}: use one of {', '.join(IMAGE_PROVIDERS)}",
        )
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
