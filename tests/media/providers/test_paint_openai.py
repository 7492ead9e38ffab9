"""OpenAI images through httpx.MockTransport: the request we send is the documented one, the documented
answer becomes a picture of the frame's size, errors and rate limits behave as the retry policy says."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from media.errors import MediaError
from media.providers.http import ProviderError
from media.providers.registry import ProviderConfig, build_providers, make
from media.providers.visual.base import Theme
from media.providers.visual.openai import OpenAIPainter, closest_size
from media.script import Scene
from tests.media.providers.test_painters_contract import files, png_bytes

SCENE = Scene(narration="n", visual="image", title="Lighthouse", content="A watercolour lighthouse at dusk")
Answer = Callable[[httpx.Request], httpx.Response]


def generated(width: int, height: int) -> httpx.Response:
    """The documented success body: `data[0].b64_json` (GPT image models always answer in base64)."""
    data = base64.b64encode(png_bytes(width, height)).decode()
    usage = {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50}
    return httpx.Response(200, json={"created": 1713833628, "data": [{"b64_json": data}], "usage": usage})


class Recorder:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)(request)


async def paint(recorder: Recorder, tmp_path: Path, slept: list[float], width: int, height: int) -> Path:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        painter = OpenAIPainter(http=http, key="sk-test", sleep=sleep)
        return await painter.paint(SCENE, tmp_path / "image.png", width=width, height=height, theme=Theme())


async def test_the_request_is_the_documented_generations_call_and_the_answer_fills_the_frame(
    tmp_path: Path,
) -> None:
    recorder = Recorder(lambda request: generated(1024, 1536))
    path = await paint(recorder, tmp_path, [], 1080, 1920)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/images/generations"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gpt-image-1",
        "prompt": "A watercolour lighthouse at dusk",
        "n": 1,
        "size": "1024x1536",
        "quality": "medium",
    }
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1080, 1920)
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    # The test picture ramps from black on the left to orange on the right; the fitted frame keeps that.
    assert pixels[960, 20, 0] < 40 and pixels[960, 1060, 0] > 200


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (1080, 1920, "1024x1536"),
        (1920, 1080, "1536x1024"),
        (1080, 1080, "1024x1024"),
        (1080, 1350, "1024x1536"),
    ],
)
def test_the_requested_size_is_the_documented_one_closest_to_the_frames_aspect(
    width: int, height: int, size: str
) -> None:
    assert closest_size(width, height) == size


async def test_a_content_policy_rejection_fails_at_once_with_the_vendors_message(tmp_path: Path) -> None:
    body = {
        "error": {
            "message": "Your request was rejected by the safety system.",
            "type": "image_generation_user_error",
            "param": None,
            "code": "moderation_blocked",
        }
    }
    recorder = Recorder(lambda request: httpx.Response(400, json=body))
    with pytest.raises(ProviderError) as caught:
        await paint(recorder, tmp_path, [], 1080, 1920)
    assert caught.value.code == "PROVIDER_REJECTED" and caught.value.status == 400
    assert "rejected by the safety system" in caught.value.message
    assert len(recorder.requests) == 1  # a rejection is not retried: it would be rejected again, and cost
    assert files(tmp_path) == []


async def test_a_429_is_retried_after_the_servers_retry_after_and_then_succeeds(tmp_path: Path) -> None:
    limited = {
        "error": {"message": "Rate limit reached for images", "type": "requests", "code": "rate_limit"}
    }
    recorder = Recorder(
        lambda request: httpx.Response(429, headers={"retry-after": "1"}, json=limited),
        lambda request: generated(1536, 1024),
    )
    slept: list[float] = []
    path = await paint(recorder, tmp_path, slept, 1920, 1080)
    assert len(recorder.requests) == 2 and slept == [1.0]
    assert recorder.requests[0].content == recorder.requests[1].content
    with Image.open(path) as image:
        assert image.size == (1920, 1080)


async def test_an_answer_without_image_data_is_a_bad_response(tmp_path: Path) -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json={"created": 1, "data": [{"url": "x"}]}))
    with pytest.raises(ProviderError) as caught:
        await paint(recorder, tmp_path, [], 1080, 1920)
    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


async def test_image_data_that_is_not_an_allowed_image_format_is_refused_and_not_kept(tmp_path: Path) -> None:
    svg = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    recorder = Recorder(lambda request: httpx.Response(200, json={"created": 1, "data": [{"b64_json": svg}]}))
    with pytest.raises(MediaError) as caught:
        await paint(recorder, tmp_path, [], 1080, 1920)
    assert caught.value.code == "UNSUPPORTED_IMAGE"
    assert files(tmp_path) == []  # the downloaded bytes are removed


async def test_choosing_openai_without_a_key_names_the_setting() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as http:
        with pytest.raises(ProviderError, match="CLIPFORGE_OPENAI_API_KEY") as caught:
            make("image", "openai", ProviderConfig(http=http))
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"


def test_an_unknown_image_provider_is_refused_naming_the_choices() -> None:
    with pytest.raises(ProviderError, match="CLIPFORGE_IMAGE_PROVIDER to one of offline, openai") as caught:
        make("image", "dalle", ProviderConfig())
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"


async def test_openai_serves_only_image_scenes_the_rest_stay_offline(tmp_path: Path) -> None:
    recorder = Recorder(lambda request: generated(1536, 1024))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        painter = build_providers(
            {"image": "openai"}, ProviderConfig(http=http, openai_api_key="sk-test")
        ).painter
        slide = Scene(narration="n", visual="slide", title="Offline", content="- drawn here")
        await painter.paint(slide, tmp_path / "slide.png", width=640, height=360, theme=Theme())
        assert recorder.requests == []
        await painter.paint(SCENE, tmp_path / "image.png", width=640, height=360, theme=Theme())
        assert len(recorder.requests) == 1
