"""One contract for every ScriptWriter: the offline writer, and each cloud client wired (through
httpx.MockTransport) to a played model that reads our prompt and answers with a valid script in its vendor's
documented envelope. Whatever the writer, the pipeline may rely on what is asserted here."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from media.providers.registry import TABLE, ProviderConfig, build_providers
from media.providers.script.base import ScriptWriter
from media.script import VISUAL_TYPES
from tests.media.providers.test_writer_clients import answer

PROSE = """Photosynthesis turns light into chemical energy. Plants capture sunlight with chlorophyll, a green
pigment in their leaves, and use it to split water.

The oxygen we breathe is a by-product of that split. The hydrogen goes on to build sugars from carbon dioxide.

Those sugars feed the plant and, through food chains, almost every animal on Earth."""

MIXED = """Gradient descent finds the minimum of a function by walking downhill in small steps.

Each update follows the rule $$w \\leftarrow w - \\eta \\nabla L(w)$$ where eta is the learning rate.

1. Start from a guess
2. Compute the gradient
3. Step against it

```python
def step(w, grad, lr=0.1):
    return w - lr * grad
```

Too large a step overshoots; too small a step crawls."""


def played_model(vendor: str) -> httpx.MockTransport:
    """A model that does as told: at most N scenes, the title it was given, a scene per paragraph."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        prompt = {
            "openai": lambda: body["messages"][1]["content"],
            "anthropic": lambda: body["messages"][0]["content"],
            "gemini": lambda: body["contents"][0]["parts"][0]["text"],
        }[vendor]()
        return httpx.Response(200, json=answer(vendor, write_like_a_model(prompt)))

    return httpx.MockTransport(handle)


def write_like_a_model(prompt: str) -> dict[str, Any]:
    limit = int(re.search(r"at most (\d+) scenes", prompt).group(1))  # type: ignore[union-attr]
    asked = re.search(r'Use exactly this title: "(.*?)"', prompt)
    source = prompt.split("<<<\n", 1)[1].rsplit("\n>>>", 1)[0]
    paragraphs = [" ".join(p.split()) for p in source.split("\n\n") if p.strip()]
    scenes = []
    for paragraph in paragraphs[:limit]:
        code = paragraph.startswith("```")
        scenes.append(
            {
                "narration": "Here is the code that takes one step downhill." if code else paragraph[:400],
                "visual": "code" if code else "slide",
                "title": paragraph.split(".")[0][:60],
                "content": paragraph.strip("`") if code else "Key point one\nKey point two",
                "code_language": "python" if code else None,
                "duration_hint": None if code else 9.0,
            }
        )
    return {"title": asked.group(1) if asked else "A short explainer", "scenes": scenes}


@pytest.fixture(params=list(TABLE["llm"].factories))  # every language model in the registry, and none
async def writer(request: pytest.FixtureRequest) -> AsyncIterator[ScriptWriter]:
    provider: str = request.param
    transport = None if provider == "offline" else played_model(provider)
    async with httpx.AsyncClient(transport=transport) as http:
        keys = ProviderConfig(
            http=http, openai_api_key="sk-test", anthropic_api_key="sk-ant-test", gemini_api_key="AIza"
        )
        yield build_providers({"llm": provider}, keys).script


@pytest.mark.parametrize(
    ("text", "title", "max_scenes"),
    [(PROSE, None, 6), (PROSE, "How plants eat light", 2), (MIXED, None, 8), (MIXED, "Gradient descent", 1)],
)
async def test_a_script_keeps_the_protocols_promises(
    writer: ScriptWriter, text: str, title: str | None, max_scenes: int
) -> None:
    script = await writer.write_script(text, title=title, max_scenes=max_scenes, language="en")
    assert 1 <= len(script.scenes) <= max_scenes
    assert all(scene.narration.strip() for scene in script.scenes)
    assert all(scene.visual in VISUAL_TYPES for scene in script.scenes)
    assert script.title.strip()
    if title is not None:
        assert script.title == title  # the caller's title, as given


async def test_a_code_scene_carries_code_and_a_language(writer: ScriptWriter) -> None:
    script = await writer.write_script(MIXED, title=None, max_scenes=8, language="en")
    code = [scene for scene in script.scenes if scene.visual == "code"]
    assert code and all("def step" in scene.content and scene.code_language for scene in code)
