"""Anthropic's Messages API. The answer comes back as the input of a tool the model is made to call
(`tool_choice` names it), whose `input_schema` is the asked schema; a rejected answer is returned to the model
as that tool call's `tool_result` with `is_error`, the documented way to say "that call was wrong, try again".
Images go in the user turn as base64 image blocks, before the text (Anthropic's advice)."""

from typing import Any

import httpx

from media.providers.http import require_key, send
from media.providers.llm.base import TIMEOUT, Ask, Reply, Turn, bad_response, refused
from media.providers.meter import record

PROVIDER = "Anthropic"
DEFAULT_MODEL = "claude-sonnet-4-5"
API_VERSION = "2023-06-01"
MAX_TOKENS = 8192  # room for a 50-scene script; the API requires a ceiling


def tool_name(ask: Ask[Any]) -> str:
    return f"write_{ask.name}"


class AnthropicLLM:
    provider = PROVIDER

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str | None,
        model: str = DEFAULT_MODEL,
        base_url: str = "https://api.anthropic.com",
    ) -> None:
        self._http = http
        self._key = require_key(api_key, PROVIDER, "CLIPFORGE_ANTHROPIC_API_KEY")
        self._model = model
        self._url = f"{base_url.rstrip('/')}/v1/messages"

    def user_turn(self, ask: Ask[Any]) -> Turn:
        if not ask.images:
            return {"role": "user", "content": ask.prompt}
        images = [
            {"type": "image", "source": {"type": "base64", "media_type": i.media_type, "data": i.base64}}
            for i in ask.images
        ]
        return {"role": "user", "content": [*images, {"type": "text", "text": ask.prompt}]}

    def correction(self, reply: Reply, error: str) -> Turn:
        if reply.call_id is None:  # it answered in prose instead of calling the tool
            return {"role": "user", "content": error}
        result = {"type": "tool_result", "tool_use_id": reply.call_id, "content": error, "is_error": True}
        return {"role": "user", "content": [result]}

    async def complete(self, ask: Ask[Any], turns: list[Turn]) -> Reply:
        tool = tool_name(ask)
        body = {
            "model": self._model,
            "max_tokens": MAX_TOKENS,
            "system": ask.system,
            "messages": turns,
            "tools": [{"name": tool, "description": f"Record the {ask.what}.", "input_schema": ask.schema}],
            "tool_choice": {"type": "tool", "name": tool},
        }
        headers = {"x-api-key": self._key, "anthropic-version": API_VERSION}
        request = self._http.build_request("POST", self._url, json=body, headers=headers, timeout=TIMEOUT)
        response = await send(self._http, request, provider=PROVIDER)
        try:
            message = response.json()
            blocks: list[dict[str, Any]] = message["content"]
            stop_reason = message.get("stop_reason")
            call = next((b for b in blocks if b["type"] == "tool_use" and b["name"] == tool), None)
            prose = "".join(b["text"] for b in blocks if b["type"] == "text")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise bad_response(PROVIDER, exc) from exc
        usage = message.get("usage") or {}
        await record("anthropic", f"{self._model}:input_tokens", usage.get("input_tokens", 0))
        await record("anthropic", f"{self._model}:output_tokens", usage.get("output_tokens", 0))
        if stop_reason == "refusal":
            raise refused(PROVIDER, ask, prose)
        # The API rejects an empty assistant turn, so an empty answer is echoed back as a note.
        turn = {"role": "assistant", "content": blocks or "(no answer)"}
        if call is None:
            return Reply(turn=turn, payload=prose or None)
        return Reply(turn=turn, payload=call.get("input"), call_id=str(call["id"]))
