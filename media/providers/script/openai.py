"""Scene scripts from OpenAI's Chat Completions API with Structured Outputs (`response_format` of type
`json_schema`, strict), so the model's decoding is constrained to the Script schema; pydantic still checks
what the schema cannot say (lengths, scene count)."""

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

PROVIDER = "OpenAI"
DEFAULT_MODEL = "gpt-4.1-mini"


class OpenAIWriter:
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

    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        return await write_validated(self, text, title=title, max_scenes=max_scenes, language=language)

    def user_turn(self, text: str) -> Turn:
        return {"role": "user", "content": text}

    def correction(self, reply: Reply, error: str) -> Turn:
        return {"role": "user", "content": error}

    async def complete(self, turns: list[Turn]) -> Reply:
        body = {
            "model": self._model,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *turns],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "scene_script", "strict": True, "schema": SCRIPT_SCHEMA},
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
            # A refusal is the model's considered answer: asking again would only be refused again.
            raise ProviderError("SCRIPT_REFUSED", f"{PROVIDER} refused to write the script: {refusal}")
        return Reply(turn={"role": "assistant", "content": content or "(no answer)"}, payload=content)
