"""OpenAI's Chat Completions API with Structured Outputs (`response_format` of type `json_schema`, strict),
so the model's decoding is constrained to the asked schema; the asker's check still tests what a schema
cannot say (lengths, counts). Images go in the user turn as data URLs."""

from typing import Any

import httpx

from media.providers.http import require_key, send
from media.providers.llm.base import TIMEOUT, Ask, Reply, Turn, bad_response, refused
from media.providers.meter import record

PROVIDER = "OpenAI"
DEFAULT_MODEL = "gpt-4.1-mini"


class OpenAILLM:
    provider = PROVIDER

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str | None,
        model: str = DEFAULT_MODEL,
        base_url: str = "https://api.openai.com/v1",
    ) -> None:
        self._http = http
        self._key = require_key(api_key, PROVIDER, "CLIPFORGE_OPENAI_API_KEY")
        self._model = model
        self._url = f"{base_url.rstrip('/')}/chat/completions"

    def user_turn(self, ask: Ask[Any]) -> Turn:
        if not ask.images:
            return {"role": "user", "content": ask.prompt}
        images = [
            {"type": "image_url", "image_url": {"url": f"data:{i.media_type};base64,{i.base64}"}}
            for i in ask.images
        ]
        return {"role": "user", "content": [{"type": "text", "text": ask.prompt}, *images]}

    def correction(self, reply: Reply, error: str) -> Turn:
        return {"role": "user", "content": error}

    async def complete(self, ask: Ask[Any], turns: list[Turn]) -> Reply:
        body = {
            "model": self._model,
            "messages": [{"role": "system", "content": ask.system}, *turns],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": ask.name, "strict": True, "schema": ask.schema},
            },
        }
        request = self._http.build_request(
            "POST", self._url, json=body, headers={"Authorization": f"Bearer {self._key}"}, timeout=TIMEOUT
        )
        response = await send(self._http, request, provider=PROVIDER)
        try:
            answer = response.json()
            message = answer["choices"][0]["message"]
            content, refusal = message.get("content"), message.get("refusal")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise bad_response(PROVIDER, exc) from exc
        usage = answer.get("usage") or {}
        await record("openai", f"{self._model}:input_tokens", usage.get("prompt_tokens", 0))
        await record("openai", f"{self._model}:output_tokens", usage.get("completion_tokens", 0))
        if refusal:
            raise refused(PROVIDER, ask, refusal)
        return Reply(turn={"role": "assistant", "content": content or "(no answer)"}, payload=content)
