"""The cloud script writers against their vendors' documented HTTP APIs (through httpx.MockTransport): the
exact request each one sends, how documented answers, error bodies and rate limits are read, and the one
retry of a malformed script with the validation error fed back to the model."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from media.providers import http as retry
from media.providers.http import ProviderError
from media.providers.llm import anthropic as writer_anthropic
from media.providers.llm import gemini as writer_gemini
from media.providers.llm import openai as writer_openai
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.gemini import GeminiLLM
from media.providers.llm.openai import OpenAILLM
from media.providers.registry import ProviderConfig, build_providers, make
from media.providers.script.base import ScriptWriter
from media.providers.script.llm import SCRIPT_SCHEMA, SYSTEM_PROMPT, LLMScriptWriter, build_prompt
from media.script import Script

TEXT = "Machine learning finds patterns in examples.\n\n```python\ndef fit_line(x, y):\n    ...\n```"
TITLE = "How models learn"
SCRIPT: dict[str, Any] = {
    "title": "Learning from examples",
    "scenes": [
        {
            "narration": "Machine learning finds patterns in examples instead of following written rules.",
            "visual": "slide",
            "title": "Learning from examples",
            "content": "Patterns from examples\nNo hand-written rules",
            "code_language": None,
            "duration_hint": 6.5,
        },
        {
            "narration": "Here is the Python code that fits a straight line to the points.",
            "visual": "code",
            "title": "Fitting a line",
            "content": "def fit_line(x, y):\n    ...",
            "code_language": "python",
            "duration_hint": None,
        },
    ],
}


# --- the vendors' documented answers --------------------------------------------------------------


def openai_answer(content: str | None, *, refusal: str | None = None, finish: str = "stop") -> dict[str, Any]:
    """A Chat Completions response (POST /v1/chat/completions)."""
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 512, "completion_tokens": 180, "total_tokens": 692},
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5",
    }


def anthropic_answer(tool_input: object, *, stop_reason: str = "tool_use") -> dict[str, Any]:
    """A Messages response in which the model called the forced tool (POST /v1/messages)."""
    return {
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "write_scene_script",
                "input": tool_input,
            }
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 472, "output_tokens": 211},
    }


def gemini_answer(text: str) -> dict[str, Any]:
    """A generateContent response (POST /v1beta/models/{model}:generateContent)."""
    return {
        "candidates": [
            {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 480, "candidatesTokenCount": 190, "totalTokenCount": 670},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mVRkaL2tJ6ykqtsPxo2W4Ac",
    }


def answer(vendor: str, script: object) -> dict[str, Any]:
    """The vendor's 200 body carrying `script` (an object; a str is sent as the model's raw text)."""
    text = script if isinstance(script, str) else json.dumps(script)
    if vendor == "openai":
        return openai_answer(text)
    if vendor == "anthropic":
        return anthropic_answer(json.loads(text) if not isinstance(script, str) else script)
    return gemini_answer(text)


class Model:
    """Plays the vendor: answers each request with the next scripted response and keeps what it was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The vendors' retrying sender, with its waits recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    for module in (writer_openai, writer_anthropic, writer_gemini):
        monkeypatch.setattr(module, "send", functools.partial(retry.send, sleep=sleep))
    return waits


def writer_for(vendor: str, http: httpx.AsyncClient) -> ScriptWriter:
    if vendor == "openai":
        return LLMScriptWriter(OpenAILLM(http=http, api_key="sk-test"))
    if vendor == "anthropic":
        return LLMScriptWriter(AnthropicLLM(http=http, api_key="sk-ant-test"))
    return LLMScriptWriter(GeminiLLM(http=http, api_key="AIza-test"))


async def write(vendor: str, model: Model) -> Script:
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        return await writer_for(vendor, http).write_script(TEXT, title=TITLE, max_scenes=4, language="en")


VENDORS = ["openai", "anthropic", "gemini"]


# --- the exact requests ---------------------------------------------------------------------------


async def test_openai_request_is_a_strict_json_schema_chat_completion_with_a_bearer_key(
    slept: list[float],
) -> None:
    model = Model(ok(openai_answer(json.dumps(SCRIPT))))
    script = await write("openai", model)
    request = model.requests[0]
    assert request.method == "POST" and str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["content-type"] == "application/json"
    assert model.body(0) == {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": build_prompt(TEXT, title=TITLE, max_scenes=4, language="en")},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "scene_script", "strict": True, "schema": SCRIPT_SCHEMA},
        },
    }
    assert script == Script.model_validate({**SCRIPT, "title": TITLE})  # the user's title wins


async def test_anthropic_request_forces_the_script_tool_with_key_and_version_headers(
    slept: list[float],
) -> None:
    model = Model(ok(anthropic_answer(SCRIPT)))
    script = await write("anthropic", model)
    request = model.requests[0]
    assert request.method == "POST" and str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert model.body(0) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8192,
        "system": SYSTEM_PROMPT,
        "messages": [
            {"role": "user", "content": build_prompt(TEXT, title=TITLE, max_scenes=4, language="en")}
        ],
        "tools": [
            {
                "name": "write_scene_script",
                "description": "Record the scene script.",
                "input_schema": SCRIPT_SCHEMA,
            }
        ],
        "tool_choice": {"type": "tool", "name": "write_scene_script"},
    }
    assert script.scenes[1].content == SCRIPT["scenes"][1]["content"]


async def test_gemini_request_asks_for_json_with_a_response_schema_and_a_header_key(
    slept: list[float],
) -> None:
    model = Model(ok(gemini_answer(json.dumps(SCRIPT))))
    async with httpx.AsyncClient(transport=httpx.MockTransport(model)) as http:
        writer = LLMScriptWriter(GeminiLLM(http=http, api_key="AIza-test", model="gemini-2.5-pro"))
        script = await writer.write_script(TEXT, title=None, max_scenes=4, language="de")
    request = model.requests[0]
    url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
    assert request.method == "POST" and str(request.url) == url  # no ?key= in the URL
    assert request.headers["x-goog-api-key"] == "AIza-test"
    body = model.body(0)
    assert body["systemInstruction"] == {"parts": [{"text": SYSTEM_PROMPT}]}
    prompt = build_prompt(TEXT, title=None, max_scenes=4, language="de")
    assert body["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert without_descriptions(body["generationConfig"]["responseSchema"]) == {
        "type": "OBJECT",
        "properties": {
            "title": {"type": "STRING"},
            "scenes": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "narration": {"type": "STRING"},
                        "visual": {
                            "type": "STRING",
                            "enum": ["slide", "code", "formula", "diagram", "image", "title"],
                        },
                        "title": {"type": "STRING"},
                        "content": {"type": "STRING"},
                        "code_language": {"type": "STRING", "nullable": True},
                        "duration_hint": {"type": "NUMBER", "nullable": True},
                    },
                    "required": ["narration", "visual", "title", "content", "code_language", "duration_hint"],
                    "propertyOrdering": [
                        "narration",
                        "visual",
                        "title",
                        "content",
                        "code_language",
                        "duration_hint",
                    ],
                },
            },
        },
        "required": ["title", "scenes"],
        "propertyOrdering": ["title", "scenes"],
    }
    assert set(body) == {"systemInstruction", "contents", "generationConfig"}
    assert script.title == SCRIPT["title"]  # no title asked for: the model's own


def without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: without_descriptions(value) for key, value in schema.items() if key != "description"}
    return schema


def test_the_script_schema_meets_openai_strict_mode_rules() -> None:
    """Strict mode rejects a schema whose objects allow extra keys or leave a property out of `required`."""

    def check(schema: dict[str, Any]) -> None:
        if schema.get("type") == "object":
            assert schema["additionalProperties"] is False
            assert schema["required"] == list(schema["properties"])
            for sub in schema["properties"].values():
                check(sub)
        if "items" in schema:
            check(schema["items"])

    check(SCRIPT_SCHEMA)


# --- a malformed script: one retry with the error, then SCRIPT_INVALID ----------------------------


@dataclass(frozen=True)
class Malformed:
    body: dict[str, Any]  # the 200 answer carrying the bad script
    says: str  # what the error fed back must name
    echoed: Callable[[Any], bool]  # the bad answer is in the retry's conversation, as the vendor wants it


ANTHROPIC_BAD = anthropic_answer(
    {"title": "Learning", "scenes": [{"visual": "slide", "title": "x", "content": ""}]}
)
MALFORMED = {
    # cut off at max_tokens: not JSON at all
    "openai": Malformed(
        openai_answer('{"title": "Learning", "scenes": [{"narration": "Mach', finish="length"),
        "not valid JSON",
        lambda body: (
            body["messages"][2]
            == {"role": "assistant", "content": '{"title": "Learning", "scenes": [{"narration": "Mach'}
        ),
    ),
    # a tool call missing a required field (tool inputs are not schema-enforced)
    "anthropic": Malformed(
        ANTHROPIC_BAD,
        "scenes.0.narration: Field required",
        lambda body: body["messages"][1] == {"role": "assistant", "content": ANTHROPIC_BAD["content"]},
    ),
    # valid JSON, but no scenes
    "gemini": Malformed(
        gemini_answer('{"title": "Learning", "scenes": []}'),
        "scenes: List should have at least 1 item",
        lambda body: (
            body["contents"][1]
            == {"role": "model", "parts": [{"text": '{"title": "Learning", "scenes": []}'}]}
        ),
    ),
}


def error_fed_back(vendor: str, body: Any) -> str:
    """The text of the turn that tells the model what was wrong (the last turn of the retry)."""
    if vendor == "openai":
        assert body["messages"][3]["role"] == "user"
        return str(body["messages"][3]["content"])
    if vendor == "anthropic":
        turn = body["messages"][2]
        assert turn["role"] == "user" and len(body["messages"]) == 3
        result = turn["content"][0]
        assert result["type"] == "tool_result" and result["is_error"] is True
        assert result["tool_use_id"] == "toolu_01A09q90qw90lq917835lq9"
        return str(result["content"])
    turn = body["contents"][2]
    assert turn["role"] == "user" and len(body["contents"]) == 3
    return str(turn["parts"][0]["text"])


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_malformed_script_is_retried_once_with_the_validation_error(
    vendor: str, slept: list[float]
) -> None:
    bad = MALFORMED[vendor]
    model = Model(ok(bad.body), ok(answer(vendor, SCRIPT)))
    script = await write(vendor, model)
    assert len(model.requests) == 2 and len(script.scenes) == 2
    retry_body = model.body(1)
    assert bad.echoed(retry_body)
    assert bad.says in error_fed_back(vendor, retry_body)
    assert slept == []  # a malformed answer is not a transient failure: no backoff


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_script_malformed_twice_fails_with_script_invalid(vendor: str, slept: list[float]) -> None:
    bad = MALFORMED[vendor]
    model = Model(ok(bad.body), ok(bad.body))
    with pytest.raises(ProviderError) as caught:
        await write(vendor, model)
    assert caught.value.code == "SCRIPT_INVALID" and len(model.requests) == 2
    assert bad.says in caught.value.message


@pytest.mark.parametrize("vendor", VENDORS)
async def test_more_scenes_than_asked_for_counts_as_malformed(vendor: str, slept: list[float]) -> None:
    many = {**SCRIPT, "scenes": SCRIPT["scenes"] * 3}  # 6 scenes, 4 allowed
    model = Model(ok(answer(vendor, many)), ok(answer(vendor, SCRIPT)))
    script = await write(vendor, model)
    assert len(script.scenes) == 2
    assert "at most 4" in error_fed_back(vendor, model.body(1))


# --- documented errors and rate limits ------------------------------------------------------------

BAD_KEY = {
    "openai": httpx.Response(
        401,
        json={
            "error": {
                "message": "Incorrect API key provided: sk-test. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
    ),
    "anthropic": httpx.Response(
        401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        },
    ),
    # Gemini's documented answer to a bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
    "gemini": httpx.Response(
        400,
        json={
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            }
        },
    ),
}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_rejected_key_fails_at_once_with_the_vendors_message(vendor: str, slept: list[float]) -> None:
    model = Model(BAD_KEY[vendor])
    with pytest.raises(ProviderError) as caught:
        await write(vendor, model)
    assert caught.value.code == "PROVIDER_AUTH_FAILED" and len(model.requests) == 1
    assert BAD_KEY[vendor].json()["error"]["message"] in caught.value.message


RATE_LIMITED = {
    "openai": httpx.Response(
        429,
        headers={"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0"},
        json={
            "error": {
                "message": "Rate limit reached for gpt-4.1-mini in organization org-abc on requests per min "
                "(RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
    ),
    "anthropic": httpx.Response(
        429,
        headers={"retry-after": "2", "anthropic-ratelimit-requests-remaining": "0"},
        json={
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "Number of requests has exceeded your rate limit.",
            },
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fz",
        },
    ),
    "gemini": httpx.Response(
        429,
        json={
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}],
            }
        },
    ),
}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_429_is_waited_out_and_the_same_request_sent_again(vendor: str, slept: list[float]) -> None:
    model = Model(RATE_LIMITED[vendor], ok(answer(vendor, SCRIPT)))
    script = await write(vendor, model)
    assert len(script.scenes) == 2 and len(model.requests) == 2
    assert model.requests[0].content == model.requests[1].content
    if vendor == "anthropic":
        assert slept == [2.0]  # its Retry-After
    elif vendor == "gemini":
        assert slept == [1.0]  # the RetryInfo in its error body
    else:
        assert len(slept) == 1 and 0.0 <= slept[0] <= retry.BASE_DELAY_SECONDS  # jittered backoff


REFUSED = {
    "openai": openai_answer(None, refusal="I'm sorry, I can't help with that request."),
    "anthropic": {
        **anthropic_answer({}),
        "content": [{"type": "text", "text": "I can't help with that."}],
        "stop_reason": "refusal",
    },
    "gemini": {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 480, "totalTokenCount": 480},
        "modelVersion": "gemini-2.5-flash",
    },
}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_refusal_fails_with_script_refused_without_asking_again(
    vendor: str, slept: list[float]
) -> None:
    model = Model(ok(REFUSED[vendor]))
    with pytest.raises(ProviderError) as caught:
        await write(vendor, model)
    assert caught.value.code == "SCRIPT_REFUSED" and len(model.requests) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_an_answer_not_in_the_documented_shape_is_a_bad_response(
    vendor: str, slept: list[float]
) -> None:
    model = Model(httpx.Response(200, text="<html>upstream proxy says hi</html>"))
    with pytest.raises(ProviderError) as caught:
        await write(vendor, model)
    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


# --- choosing a writer (through the registry) ----------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("openai", "CLIPFORGE_OPENAI_API_KEY"),
        ("anthropic", "CLIPFORGE_ANTHROPIC_API_KEY"),
        ("gemini", "CLIPFORGE_GEMINI_API_KEY"),
    ],
)
async def test_a_cloud_writer_without_its_key_names_the_setting(provider: str, setting: str) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderError) as caught:
            make("llm", provider, ProviderConfig(http=http, openai_api_key="", anthropic_api_key=None))
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED" and setting in caught.value.message


async def test_an_unknown_provider_names_the_setting_and_the_choices() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderError) as caught:
            make("llm", "llama", ProviderConfig(http=http))
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"
    assert (
        "CLIPFORGE_LLM_PROVIDER" in caught.value.message
        and "offline, openai, anthropic, gemini" in caught.value.message
    )


async def test_provider_names_are_read_case_insensitively_and_offline_needs_no_key() -> None:
    async with httpx.AsyncClient() as http:
        offline = build_providers({"llm": " Offline "}, ProviderConfig(http=http))
        assert type(offline.script).__name__ == "OfflineWriter" and offline.llm is None
        openai = make("llm", "OPENAI", ProviderConfig(http=http, openai_api_key="sk-x"))
        assert isinstance(openai, OpenAILLM)
