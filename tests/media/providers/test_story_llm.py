"""The short's writers on the three cloud language models, through their documented HTTP shapes
(httpx.MockTransport): the storyboard's schema as each vendor carries it, a storyboard that breaks the rules
sent back once with its problems, then SCRIPT_INVALID."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from media.providers.http import ProviderError
from media.providers.llm.base import answer
from media.providers.llm.gemini import gemini_schema
from media.providers.story.llm import EXPANSION_SCHEMA, STORYBOARD_SCHEMA, expansion_ask, storyboard_ask
from tests.media.providers.test_llm_ask import llm
from tests.media.providers.test_writer_clients import (
    Model,
    anthropic_answer,
    gemini_answer,
    ok,
    openai_answer,
)

VENDORS = ["openai", "anthropic", "gemini"]
BOARD: dict[str, Any] = {
    "title": "Octopus minds",
    "scenes": [
        {
            "visualPrompt": "a jar",
            "narration": "Octopuses open jars.",
            "onScreenText": "Jar escape",
            "duration": 6,
        },
        {
            "visualPrompt": "arms",
            "narration": "Each arm thinks.",
            "onScreenText": "Nine brains",
            "duration": 12,
        },
        {"visualPrompt": "reef", "narration": "Follow for more.", "onScreenText": "Follow", "duration": 12},
    ],
}
PLAN: dict[str, Any] = {
    "title": "Octopus minds",
    "logline": "How octopuses think",
    "tone": "playful",
    "format": "explainer",
    "audience": "teens",
    "hooks": ["Eight arms, nine brains."],
    "outline": ["Jar escape", "Arms that think", "Follow"],
}


def reply(vendor: str, data: object, name: str) -> httpx.Response:
    if vendor == "openai":
        return ok(openai_answer(json.dumps(data)))
    if vendor == "anthropic":
        body = anthropic_answer(data)
        body["content"][0]["name"] = f"write_{name}"
        return ok(body)
    return ok(gemini_answer(json.dumps(data)))


def sent_schema(vendor: str, body: dict[str, Any]) -> object:
    if vendor == "openai":
        return body["response_format"]["json_schema"]["schema"]
    if vendor == "anthropic":
        return body["tools"][0]["input_schema"]
    return body["generationConfig"]["responseSchema"]


def expected_schema(vendor: str, schema: dict[str, Any]) -> object:
    return gemini_schema(schema) if vendor == "gemini" else schema


@pytest.mark.parametrize("vendor", VENDORS)
async def test_each_vendor_carries_the_plan_and_storyboard_schemas_and_the_answers_are_read(
    vendor: str,
) -> None:
    model = Model(reply(vendor, PLAN, "video_plan"), reply(vendor, BOARD, "storyboard"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        client = llm(vendor, http)
        plan = await answer(
            client, expansion_ask("octopus brains", tone=None, format=None, audience=None, language="de")
        )
        board = await answer(client, storyboard_ask("octopus brains", plan, seconds=30, language="de"))
    assert plan.hooks == ["Eight arms, nine brains."]
    assert [s.on_screen_text for s in board.scenes] == ["Jar escape", "Nine brains", "Follow"]
    assert board.seconds == pytest.approx(30)
    assert sent_schema(vendor, model.body(0)) == expected_schema(vendor, EXPANSION_SCHEMA)
    assert sent_schema(vendor, model.body(1)) == expected_schema(vendor, STORYBOARD_SCHEMA)
    prompt = json.dumps(model.body(1))
    assert "octopus brains" in prompt and "Language: de" in prompt


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_storyboard_breaking_the_rules_goes_back_once_with_its_problems(vendor: str) -> None:
    too_long = {**BOARD["scenes"][0], "onScreenText": "far too many words for a phone screen"}
    wordy = {**BOARD, "scenes": [too_long, *BOARD["scenes"][1:]]}
    model = Model(reply(vendor, wordy, "storyboard"), reply(vendor, BOARD, "storyboard"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        board = await answer(llm(vendor, http), storyboard_ask("octopus", None, seconds=30, language="en"))
    assert len(board.scenes) == 3 and len(model.requests) == 2
    assert "scenes[0].onScreenText" in json.dumps(model.body(1))

    model = Model(reply(vendor, wordy, "storyboard"), reply(vendor, wordy, "storyboard"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        with pytest.raises(ProviderError) as caught:
            await answer(llm(vendor, http), storyboard_ask("octopus", None, seconds=30, language="en"))
    assert caught.value.code == "SCRIPT_INVALID" and "onScreenText" in caught.value.message


async def test_the_storyboard_ask_wants_a_scene_for_every_image() -> None:
    model = Model(reply("openai", BOARD, "storyboard"), reply("openai", BOARD, "storyboard"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        with pytest.raises(ProviderError) as caught:
            await answer(
                llm("openai", http), storyboard_ask("x", None, seconds=30, language="en", min_scenes=5)
            )
    assert "at least 5 scenes" in caught.value.message
    assert "at least 5" in model.body(0)["messages"][1]["content"]
