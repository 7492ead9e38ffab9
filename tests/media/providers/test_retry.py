"""Provider calls: transient failures retried with backoff (Retry-After honoured), permanent ones not."""

from __future__ import annotations

import httpx
import pytest

from media.providers.http import ProviderError, require_key, send


class Script:
    """Answers each request with the next (status, headers, body) and records what it was sent."""

    def __init__(self, *answers: tuple[int, dict[str, str], object] | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        return httpx.Response(status, headers=headers, json=body)


async def call(script: Script, slept: list[float]) -> httpx.Response:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        request = client.build_request("POST", "https://api.example.test/v1/x", json={})
        return await send(client, request, provider="Example", sleep=sleep)


async def test_a_429_then_a_500_then_success_is_three_tries_honouring_retry_after() -> None:
    script = Script((429, {"retry-after": "2"}, {}), (503, {}, {}), (200, {}, {"ok": True}))
    slept: list[float] = []
    response = await call(script, slept)
    assert response.json() == {"ok": True} and script.calls == 3
    assert slept[0] == 2.0 and 0.0 <= slept[1] <= 1.0  # Retry-After, then jittered backoff


def gemini_rate_limit(delay: str) -> dict[str, object]:
    """Gemini's documented 429 body: RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail."""
    return {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
            ],
        }
    }


@pytest.mark.parametrize(("delay", "waited"), [("7s", 7.0), ("1.5s", 1.5), ("120s", 20.0)])
async def test_a_429_without_retry_after_waits_as_long_as_the_bodys_retry_info_says_capped(
    delay: str, waited: float
) -> None:
    script = Script((429, {}, gemini_rate_limit(delay)), (200, {}, {"ok": True}))
    slept: list[float] = []
    response = await call(script, slept)
    assert response.json() == {"ok": True} and slept == [waited]


async def test_timeouts_are_retried_and_then_fail_as_unavailable() -> None:
    script = Script(*(httpx.ReadTimeout("slow") for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        await call(script, [])
    assert caught.value.code == "PROVIDER_UNAVAILABLE" and script.calls == 3


async def test_rate_limited_every_time_fails_with_the_vendors_message() -> None:
    limited: tuple[int, dict[str, str], object] = (429, {}, {"error": {"message": "Rate limit reached"}})
    script = Script(limited, limited, limited)
    with pytest.raises(ProviderError) as caught:
        await call(script, [])
    assert caught.value.code == "PROVIDER_RATE_LIMITED" and caught.value.status == 429
    assert "Rate limit reached" in caught.value.message


@pytest.mark.parametrize(("status", "code"), [(400, "PROVIDER_REJECTED"), (401, "PROVIDER_AUTH_FAILED")])
async def test_permanent_failures_are_not_retried(status: int, code: str) -> None:
    script = Script((status, {}, {"error": {"message": "nope"}}))
    with pytest.raises(ProviderError) as caught:
        await call(script, [])
    assert caught.value.code == code and script.calls == 1


def test_a_missing_key_names_the_setting() -> None:
    with pytest.raises(ProviderError, match="set CLIPFORGE_OPENAI_API_KEY"):
        require_key("", "OpenAI", "CLIPFORGE_OPENAI_API_KEY")
