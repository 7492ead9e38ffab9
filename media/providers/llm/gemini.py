"""Google's Gemini API: generateContent with `responseMimeType: application/json` and a `responseSchema`.
Gemini's schema is an OpenAPI 3.0 subset (upper-case types, `nullable` instead of type unions, no
`additionalProperties`), so it is derived from the asked JSON Schema rather than written twice. Images go in
the user turn as inline data parts."""

from typing import Any

import httpx

from media.providers.http import ProviderError, require_key, send
from media.providers.llm.base import TIMEOUT, Ask, Reply, Turn, bad_response, refused
from media.providers.meter import record

PROVIDER = "Gemini"
DEFAULT_MODEL = "gemini-2.5-flash"


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (the strict subset asks are written in) as Gemini's OpenAPI-style Schema object."""
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


class GeminiLLM:
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

    def user_turn(self, ask: Ask[Any]) -> Turn:
        images = [{"inline_data": {"mime_type": i.media_type, "data": i.base64}} for i in ask.images]
        return {"role": "user", "parts": [*images, {"text": ask.prompt}]}

    def correction(self, reply: Reply, error: str) -> Turn:
        return {"role": "user", "parts": [{"text": error}]}

    async def complete(self, ask: Ask[Any], turns: list[Turn]) -> Reply:
        body = {
            "systemInstruction": {"parts": [{"text": ask.system}]},
            "contents": turns,
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": gemini_schema(ask.schema),
            },
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
            raise refused(PROVIDER, ask, str(blocked or finish))
        # The API rejects a turn without parts, so an empty answer is echoed back as an empty-answer note.
        echoed = parts or [{"text": "(no answer)"}]
        return Reply(turn={"role": "model", "parts": echoed}, payload=text or None)
