"""The product ad's script from a language model: the Anthropic Messages request carries the product photo as
a base64 image block before the brief, and the asked script as a forced tool, as Anthropic documents; the
answer is checked (four scenes, word budgets) and corrected once; the user's name and call to action win."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage

from media.kinds.ad.photo import MODEL_EDGE, for_model
from media.kinds.ad.script import SCRIPT_SCHEMA, SYSTEM_PROMPT, AdScript, script_ask, word_budget
from media.kinds.ad.styles import STYLES
from media.providers.http import ProviderError
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.base import Image, answer
from tests.media.providers.test_writer_clients import Model, anthropic_answer, ok

STYLE = STYLES["LUXURY"]
ANSWER: dict[str, Any] = {
    "hook": "Cold hands, warm heart.",
    "scenes": [
        {"headline": "ignored: the hook", "feature": "Aurora Bottle", "voiceover": "Cold hands, warm heart."},
        {
            "headline": "Ice for a day",
            "feature": "Cold for 24 hours",
            "voiceover": "Steel keeps it cold all day.",
        },
        {
            "headline": "Made for trails",
            "feature": "Light on your back",
            "voiceover": "Light for the longest hike.",
        },
        {
            "headline": "ignored: the name",
            "feature": "Made to be kept",
            "voiceover": "Aurora Bottle. Shop now.",
        },
    ],
    "cta": "the model's own words, ignored",
}


def photo() -> Image:
    """A 3000 px cut-out: sent smaller, as PNG, since it has transparency."""
    picture = PILImage.new("RGBA", (3000, 2000), (0, 0, 0, 0))
    picture.paste((200, 30, 30, 255), (1000, 500, 2000, 1500))
    return Image(*for_model(picture))


def ask(image: Image | None) -> Any:
    return script_ask(
        STYLE,
        product="Aurora Bottle",
        cta="Shop now",
        description="A steel bottle that keeps drinks cold for 24 hours.",
        audience="hikers",
        seconds=STYLE.seconds,
        language="en",
        photo=image,
    )


def reply(data: dict[str, Any]) -> httpx.Response:
    body = anthropic_answer(data)
    body["content"][0]["name"] = "write_ad_script"
    return ok(body)


async def test_the_anthropic_request_sends_the_photo_as_an_image_block_then_the_brief() -> None:
    image = photo()
    model = Model(reply(ANSWER))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        script = await answer(AnthropicLLM(http=http, api_key="sk-ant-test"), ask(image))
    request = model.requests[0]
    assert request.method == "POST" and request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = model.body(0)
    assert set(body) == {"model", "max_tokens", "system", "messages", "tools", "tool_choice"}
    assert body["system"] == SYSTEM_PROMPT
    (turn,) = body["messages"]
    assert turn["role"] == "user"
    image_block, text_block = turn["content"]
    assert image_block == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": image.base64},
    }
    sent = PILImage.open(io.BytesIO(base64.b64decode(image_block["source"]["data"])))
    assert max(sent.size) == MODEL_EDGE and sent.mode == "RGBA"  # scaled down, transparency kept
    assert text_block["type"] == "text" and "Product: Aurora Bottle" in text_block["text"]
    assert '"Shop now"' in text_block["text"] and "Luxury" in text_block["text"]
    assert body["tools"] == [
        {"name": "write_ad_script", "description": "Record the ad script.", "input_schema": SCRIPT_SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "write_ad_script"}
    # The user's words win: the hook heads scene 1, the product's name the end card, the CTA is theirs.
    assert isinstance(script, AdScript)
    assert [s.headline for s in script.scenes] == [
        "Cold hands, warm heart.", "Ice for a day", "Made for trails", "Aurora Bottle",
    ]  # fmt: skip
    assert script.cta == "Shop now" and script.style == "LUXURY"


async def test_without_a_photo_the_turn_is_the_brief_alone() -> None:
    model = Model(reply(ANSWER))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        await answer(AnthropicLLM(http=http, api_key="sk-ant-test"), ask(None))
    assert isinstance(model.body(0)["messages"][0]["content"], str)


async def test_a_script_over_its_word_budget_is_sent_back_once_then_fails_with_script_invalid() -> None:
    wordy = json.loads(json.dumps(ANSWER))
    budget = word_budget(STYLE.seconds[1])
    wordy["scenes"][1]["voiceover"] = " ".join(["cold"] * (budget + 5))
    three = {**ANSWER, "scenes": ANSWER["scenes"][:3]}
    model = Model(reply(wordy), reply(ANSWER))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        await answer(AnthropicLLM(http=http, api_key="sk-ant-test"), ask(None))
    correction = model.body(1)["messages"][-1]["content"][0]
    assert correction["type"] == "tool_result" and correction["is_error"] is True
    assert f"scene 2's voiceover has {budget + 5} words" in correction["content"]
    model = Model(reply(three), reply(three))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        with pytest.raises(ProviderError) as caught:
            await answer(AnthropicLLM(http=http, api_key="sk-ant-test"), ask(None))
    assert caught.value.code == "SCRIPT_INVALID" and "scenes" in caught.value.message
