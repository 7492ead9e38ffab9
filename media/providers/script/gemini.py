"""Scene scripts from the Gemini API's generateContent with `responseMimeType: application/json` and a
`responseSchema`. Gemini's schema is an OpenAPI 3.0 subset (upper-case types, `nullable` instead of type
unions, no `additionalProperties`), so it is derived from the one shared Script schema rather than kept
twice."""

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

PROVIDER = "Gemini"
DEFAULT_MODEL = "gemini-2.5-flash"


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (the subset SCRIPT_SCHEMA uses) as Gemini's OpenAPI-style Schema object."""
    kind = schema["type"]
    types = [t for t in kind if t != "null"] if isinstance(kind, list) else [kind]
    out: dict[str, Any] = {"type": types[0].upper()}
    if isinstance(kind, list) and "null" in kind:
        out["nullable"] = True
    for key in ("description", "enum", "required"):
        if key in schema:
            out[key] = schema[key]
    if "items" in schema:
        out["items"] = gemini_schema(schema["items"])
    if "properties" in schema:
        out["properties"] = {name: gemini_schema(sub) for name, sub in schema["properties"].items()}
        # Gemini emits properties in this order; title before scenes reads better in logs and costs nothing.
        out["propertyOrdering"] = list(schema["properties"])
    return out


RESPONSE_SCHEMA = gemini_schema(SCRIPT_SCHEMA)


class GeminiWriter:
    provider = PROVIDER

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str | None,
        model: str = DEFAULT_MODEL,
        base_url: str = "https://generativelanguage.googleapis.com",
    ) -> None:
        self._http = http
        self._key = require_key(api_key, PROVIDER, "CLIPFORGE_GEMINI_API_KEY")
        self._model = model
        self._url = f"{base_url.rstrip('/')}/v1beta/models/{model}:generateContent"

    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        return await write_validated(self, text, title=title, max_scenes=max_scenes, language=language)

    def user_turn(self, text: str) -> Turn:
        return {"role": "user", "parts": [{"text": text}]}

    def correction(self, reply: Reply, error: str) -> Turn:
        return self.user_turn(error)

    async def complete(self, turns: list[Turn]) -> Reply:
        body = {
            "systemInstruction": {"parts": [{"text": SYSTEM_PROMPT}]},
            "contents": turns,
            "generationConfig": {"responseMimeType": "application/json", "responseSchema": RESPONSE_SCHEMA},
        }
        # The key goes in a header, not `?key=`, so it stays out of URLs that proxies and logs record.
        request = self._http.build_request(
            "POST", self._url, json=body, headers={"x-goog-api-key": self._key}, timeout=TIMEOUT
        )
        try:
            response = await send(self._http, request, provider=PROVIDER)
        except ProviderError as exc:
            # Gemini answers a bad key with 400 INVALID_ARGUMENT ("API key not valid"), not 401.
            if exc.status == 400 and "API key" in exc.message:
                raise ProviderError("PROVIDER_AUTH_FAILED", exc.message, status=exc.status) from exc
            raise
        try:
            answer = response.json()
            candidates = answer.get("candidates") or []
            blocked = (answer.get("promptFeedback") or {}).get("blockReason")
            content = candidates[0].get("content") if candidates else None
            parts: list[dict[str, Any]] = (content or {}).get("parts") or []
            # Thinking models may add thought summaries; only the answer parts carry the JSON.
            text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
            finish = candidates[0].get("finishReason") if candidates else None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise bad_response(PROVIDER, exc) from exc
        usage = answer.get("usageMetadata") or {}
        await record("gemini", f"{self._model}:input_tokens", usage.get("promptTokenCount", 0))
        await record("gemini", f"{self._model}:output_tokens", usage.get("candidatesTokenCount", 0))
        if blocked or (not text and finish in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "RECITATION")):
            raise ProviderError(
                "SCRIPT_REFUSED", f"{PROVIDER} would not write the script: {blocked or finish}"
            )
        # The API rejects a turn without parts, so an empty answer is echoed back as an empty-answer note.
        echoed = parts or [{"text": "(no answer)"}]
        return Reply(turn={"role": "model", "parts": echoed}, payload=text or None)
