"""One contract for every Painter: whatever the visual type or vendor, `paint` leaves a PNG that decodes, has
the frame's size and shows something (not a flat colour), for portrait and landscape frames.

The offline painters run for real; OpenAI images runs through httpx.MockTransport answering with a real PNG.
Each picture is also copied to tests/_artifacts/visuals/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from media.providers.registry import Providers
from media.providers.visual.base import Painter, Theme
from media.providers.visual.code import CodePainter
from media.providers.visual.diagram import DiagramPainter
from media.providers.visual.formula import FormulaPainter
from media.providers.visual.openai import OpenAIPainter
from media.providers.visual.placeholder import PlaceholderPainter
from media.providers.visual.slide import SlidePainter
from media.providers.visual.title import StandInPainter, TitlePainter
from media.script import Scene

VISUALS = Path(__file__).resolve().parents[2] / "_artifacts" / "visuals"
SIZES = [(1080, 1920), (1920, 1080)]

SCENES = {
    "slide": Scene(
        narration="n",
        visual="slide",
        title="Why caching matters",
        content="- Cuts response times from hundreds of milliseconds to a few\n"
        "- Shields the database from bursts of identical reads\n"
        "- Costs memory, and invalidation is famously hard",
    ),
    "code": Scene(
        narration="n",
        visual="code",
        title="Retry with backoff",
        code_language="python",
        content="# highlight: 3\nimport asyncio\n\nasync def retry(call, tries=3):\n"
        "    for attempt in range(tries):\n        try:\n            return await call()\n"
        "        except TimeoutError:\n            await asyncio.sleep(2 ** attempt)\n",
    ),
    "formula": Scene(
        narration="n", visual="formula", title="Gauss", content=r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}"
    ),
    "diagram": Scene(
        narration="n",
        visual="diagram",
        title="Upload",
        content="A[Load file] --> B{Valid?}\nB -->|yes| C(Save)\nB -->|no| D[Show error]\nD --> A",
    ),
    "title": Scene(
        narration="n", visual="title", title="How HTTP caching works", content="A short explainer"
    ),
    "image": Scene(
        narration="n", visual="image", title="Lighthouse", content="A watercolour lighthouse at dusk"
    ),
}


def png_bytes(width: int, height: int) -> bytes:
    """A real picture (a two-colour gradient), as OpenAI would send."""
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    pixels = np.broadcast_to(ramp * np.array([1.0, 0.5, 0.2], np.float32), (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def openai_answer(request: httpx.Request) -> httpx.Response:
    width, height = (int(v) for v in json.loads(request.content)["size"].split("x"))
    data = base64.b64encode(png_bytes(width, height)).decode()
    return httpx.Response(200, json={"created": 1713833628, "data": [{"b64_json": data}]})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(openai_answer)) as client:
        yield client


PAINTERS: dict[str, Callable[[httpx.AsyncClient], tuple[Painter, Scene]]] = {
    "slide": lambda http: (SlidePainter(), SCENES["slide"]),
    "code": lambda http: (CodePainter(), SCENES["code"]),
    "formula": lambda http: (FormulaPainter(), SCENES["formula"]),
    "diagram": lambda http: (DiagramPainter(), SCENES["diagram"]),
    "title": lambda http: (TitlePainter(), SCENES["title"]),
    "image_offline": lambda http: (StandInPainter(), SCENES["image"]),
    "image_openai": lambda http: (OpenAIPainter(http=http, key="sk-test"), SCENES["image"]),
    "placeholder": lambda http: (
        PlaceholderPainter(),
        SCENES["diagram"].model_copy(
            update={"content": "DIAGRAM_INVALID: line 2: expected '-->' at column 3"}
        ),
    ),
}


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["portrait", "landscape"])
@pytest.mark.parametrize("name", list(PAINTERS))
async def test_every_painter_leaves_a_decodable_png_of_the_frame_size_that_is_not_flat(
    name: str, width: int, height: int, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    painter, scene = PAINTERS[name](http)
    path = await painter.paint(scene, tmp_path / "visual.png", width=width, height=height, theme=Theme())
    assert path.is_file() and path.parent == tmp_path
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        assert abs(image.width - width) <= width * 0.01 and abs(image.height - height) <= height * 0.01
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert pixels.std(axis=(0, 1)).max() > 4.0  # a flat frame (or a failed draw) has ~0
    assert len(np.unique(pixels.reshape(-1, 3)[::97], axis=0)) > 20
    VISUALS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, VISUALS / f"{name}_{width}x{height}.png")


async def test_painting_again_to_the_same_destination_replaces_the_picture(tmp_path: Path) -> None:
    painter = SlidePainter()
    first = await painter.paint(SCENES["slide"], tmp_path / "s.png", width=640, height=360, theme=Theme())
    other = SCENES["title"].model_copy(update={"visual": "slide"})
    second = await painter.paint(other, first, width=640, height=360, theme=Theme())
    assert second == first and files(tmp_path) == ["s.png"]


@pytest.mark.parametrize("visual", ["slide", "code", "formula", "diagram", "title", "image"])
async def test_the_offline_dispatcher_paints_every_visual_type(visual: str, tmp_path: Path) -> None:
    painter = Providers.offline().painter
    scene = SCENES[visual]
    path = await painter.paint(scene, tmp_path / f"{visual}.png", width=480, height=270, theme=Theme())
    with Image.open(path) as image:
        assert image.size == (480, 270)
