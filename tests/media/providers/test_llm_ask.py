"""The language-model seam every kind's writer asks through: any shape of answer, images in the user turn in
each vendor's documented form, one correction, then SCRIPT_INVALID."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from media.providers.http import ProviderError
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.base import LLM, Ask, Image, Invalid, answer
from media.providers.llm.gemini import GeminiLLM
from media.providers.llm.openai import OpenAILLM
from tests.media.providers.test_writer_clients import (
    Model,
    anthropic_answer,
    gemini_answer,
    ok,
    openai_answer,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"hook": {"type": "string"}, "lines": {"type": "array", "items": {"type": "string"}}},
    "required": ["hook", "lines"],
    "additionalProperties": False,
}


def lines_of(data: object) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list) or len(data["lines"]) != 2:
        raise Invalid("lines must be a list of exactly 2 strings")
    return [str(line) for line in data["lines"]]


ASK = Ask(
    name="ad_script",
    system="You write ads.",
    prompt="Write an ad for a lamp.",
    schema=SCHEMA,
    check=lines_of,
    images=(Image("image/png", PNG),),
)


def reply(vendor: str, data: dict[str, Any]) -> httpx.Response:
    if vendor == "openai":
        return ok(openai_answer(json.dumps(data)))
    if vendor == "anthropic":
        body = anthropic_answer(data)
        body["content"][0]["name"] = "write_ad_script"
        return ok(body)
    return ok(gemini_answer(json.dumps(data)))


def llm(vendor: str, http: httpx.AsyncClient) -> LLM:
    if vendor == "openai":
        return OpenAILLM(http=http, api_key="sk-test")
    if vendor == "anthropic":
        return AnthropicLLM(http=http, api_key="sk-ant-test")
    return GeminiLLM(http=http, api_key="AIza-test")


async def test_the_anthropic_request_carries_the_image_block_and_the_asked_tool_as_documented() -> None:
    model = Model(reply("anthropic", {"hook": "Light", "lines": ["a", "b"]}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        assert await answer(llm("anthropic", http), ASK) == ["a", "b"]
    body = model.body(0)
    assert body["system"] == "You write ads."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": ASK.images[0].base64},
                },
                {"type": "text", "text": "Write an ad for a lamp."},
            ],
        }
    ]
    assert body["tools"] == [
        {"name": "write_ad_script", "description": "Record the ad script.", "input_schema": SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "write_ad_script"}


async def test_openai_and_gemini_carry_the_image_and_the_schema_in_their_documented_shapes() -> None:
    for vendor in ("openai", "gemini"):
        model = Model(reply(vendor, {"hook": "Light", "lines": ["a", "b"]}))
        async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
            assert await answer(llm(vendor, http), ASK) == ["a", "b"]
        body = model.body(0)
        if vendor == "openai":
            assert body["messages"][1]["content"] == [
                {"type": "text", "text": "Write an ad for a lamp."},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{ASK.images[0].base64}"}},
            ]
            assert body["response_format"]["json_schema"] == {
                "name": "ad_script",
                "strict": True,
                "schema": SCHEMA,
            }
        else:
            assert body["contents"][0]["parts"] == [
                {"inline_data": {"mime_type": "image/png", "data": ASK.images[0].base64}},
                {"text": "Write an ad for a lamp."},
            ]
            assert body["generationConfig"]["responseSchema"]["properties"]["lines"]["type"] == "ARRAY"


@pytest.mark.parametrize("vendor", ["openai", "anthropic", "gemini"])
async def test_an_answer_the_check_refuses_is_corrected_once_then_fails_with_script_invalid(
    vendor: str,
) -> None:
    bad = {"hook": "Light", "lines": ["only one"]}
    model = Model(reply(vendor, bad), reply(vendor, {"hook": "Light", "lines": ["a", "b"]}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        assert await answer(llm(vendor, http), ASK) == ["a", "b"]
    assert "exactly 2" in json.dumps(model.body(1))  # the problem went back to the model
    model = Model(reply(vendor, bad), reply(vendor, bad))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        with pytest.raises(ProviderError) as caught:
            await answer(llm(vendor, http), ASK)
    assert caught.value.code == "SCRIPT_INVALID" and "ad script twice" in caught.value.message
