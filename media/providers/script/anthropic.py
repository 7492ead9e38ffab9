"""Scene scripts from Anthropic's Messages API. The script comes back as the input of a tool the model is
made to call (`tool_choice` names it), whose `input_schema` is the Script schema; a rejected answer is
returned to the model as that tool call's `tool_result` with `is_error`, the documented way to say
"that call was wrong, try again"."""

from typing import Any

import httpx

from media.providers.http import ProviderError, require_key, send
from media.providers.meter import record
from media.providers.script.llm import (
    SCRIPT_SCHEMA,
    SYSTEM_PROMPT,
    TIMEOUT,
    Reply,
    Turn,
    bad_response,
    write_validated,
)
from media.script import Script

PROVIDER = "Anthropic"
DEFAULT_MODEL = "claude-sonnet-4-5"
API_VERSION = "2023-06-01"
TOOL = "write_scene_script"
MAX_TOKENS = 8192  # room for a 50-scene script; the API requires a ceiling


class AnthropicWriter:
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

    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        return await write_validated(self, text, title=title, max_scenes=max_scenes, language=language)

    def user_turn(self, text: str) -> Turn:
        return {"role": "user", "content": text}

    def correction(self, reply: Reply, error: str) -> Turn:
        if reply.call_id is None:  # it answered in prose instead of calling the tool
            return {"role": "user", "content": error}
        result = {"type": "tool_result", "tool_use_id": reply.call_id, "content": error, "is_error": True}
        return {"role": "user", "content": [result]}

    async def complete(self, turns: list[Turn]) -> Reply:
        body = {
            "model": self._model,
            "max_tokens": MAX_TOKENS,
            "system": SYSTEM_PROMPT,
            "messages": turns,
            "tools": [
                {"name": TOOL, "description": "Record the scene script.", "input_schema": SCRIPT_SCHEMA}
            ],
            "tool_choice": {"type": "tool", "name": TOOL},
        }
        headers = {"x-api-key": self._key, "anthropic-version": API_VERSION}
        request = self._http.build_request("POST", self._url, json=body, headers=headers, timeout=TIMEOUT)
        response = await send(self._http, request, provider=PROVIDER)
        try:
            message = response.json()
            blocks: list[dict[str, Any]] = message["content"]
            stop_reason = message.get("stop_reason")
            call = next((b for b in blocks if b["type"] == "tool_use" and b["name"] == TOOL), None)
            prose = "".join(b["text"] for b in blocks if b["type"] == "text")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise bad_response(PROVIDER, exc) from exc
        usage = message.get("usage") or {}
        await record("anthropic", f"{self._model}:input_tokens", usage.get("input_tokens", 0))
        await record("anthropic", f"{self._model}:output_tokens", usage.get("output_tokens", 0))
        if stop_reason == "refusal":
            raise ProviderError("SCRIPT_REFUSED", f"{PROVIDER} refused to write the script: {prose}"[:500])
        # The API rejects an empty assistant turn, so an empty answer is echoed back as a note.
        turn = {"role": "assistant", "content": blocks or "(no answer)"}
        if call is None:
            return Reply(turn=turn, payload=prose or None)
        return Reply(turn=turn, payload=call.get("input"), call_id=str(call["id"]))
