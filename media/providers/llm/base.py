"""A language model asked for structured answers: one seam for every vendor and every job kind.

A job kind asks with an `Ask`: a system prompt, the user's prompt (with images, for a model that should look
at a product photo), the JSON Schema the answer must match, and `check`, which turns the answer into the
kind's own type or raises `Invalid`. The model's JSON is never trusted: an invalid answer gets one more
chance, with the problem sent back in the same conversation (models fix a named mistake far more reliably
than they avoid it on a fresh try); a second invalid answer fails with SCRIPT_INVALID. Each vendor module
only says how its API carries turns, images, the schema and the answer.

Schemas are written in the subset OpenAI's strict mode takes: every property required (optional ones
nullable), `additionalProperties: false`; the Gemini client translates them to its OpenAPI-style schema.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from media.providers.http import ProviderError

# Writing a whole script takes a model tens of seconds; the caller's client default (often 5 s) would cut it.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
Turn = dict[str, Any]
T = TypeVar("T")


class Invalid(Exception):
    """The model's answer is not what was asked for; the message is what the model is told to fix."""


@dataclass(frozen=True)
class Image:
    media_type: str  # image/png, image/jpeg, image/webp
    data: bytes

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode()


@dataclass(frozen=True)
class Ask(Generic[T]):
    name: str  # what the answer is, in snake case: "scene_script" (a schema or tool name)
    system: str
    prompt: str
    schema: dict[str, Any]
    check: Callable[[object], T]  # the decoded JSON answer → T, or Invalid
    images: tuple[Image, ...] = ()

    @property
    def what(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Reply:
    turn: Turn  # the model's answer as the vendor wants it echoed back in the conversation
    payload: object  # the answer: JSON text or an already decoded object
    call_id: str | None = None  # the tool call the answer came in, when the vendor uses tools


class LLM(Protocol):
    """How one vendor's API carries a conversation."""

    provider: str

    def user_turn(self, ask: Ask[Any]) -> Turn: ...

    async def complete(self, ask: Ask[Any], turns: list[Turn]) -> Reply: ...

    def correction(self, reply: Reply, error: str) -> Turn: ...


async def answer(llm: LLM, ask: Ask[T]) -> T:
    """Ask; if the answer is invalid, ask once more with the problem, then give up with SCRIPT_INVALID."""
    turns = [llm.user_turn(ask)]
    reply = await llm.complete(ask, turns)
    try:
        return ask.check(decode(reply.payload))
    except Invalid as first:
        error = f"Your {ask.what} was rejected: {first}. Answer again with the whole corrected {ask.what}."
        turns += [reply.turn, llm.correction(reply, error)]
    reply = await llm.complete(ask, turns)
    try:
        return ask.check(decode(reply.payload))
    except Invalid as second:
        raise ProviderError(
            "SCRIPT_INVALID", f"{llm.provider} wrote an invalid {ask.what} twice: {second}"
        ) from second


def decode(payload: object) -> object:
    """The answer as JSON data (text is parsed; some models fence it in ```json even when asked not to)."""
    if payload is None:
        raise Invalid("the answer was empty")
    if not isinstance(payload, str):
        return payload
    text = payload.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text[3:-3]
        text = text.split("\n", 1)[1] if "\n" in text else text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from exc


def refused(provider: str, ask: Ask[Any], why: str) -> ProviderError:
    # A refusal is the model's considered answer: asking again would only be refused again.
    return ProviderError("SCRIPT_REFUSED", f"{provider} refused to write the {ask.what}: {why}"[:500])


def bad_response(provider: str, exc: Exception) -> ProviderError:
    """A 2xx answer whose envelope is not what the vendor documents (not the model's fault, nor ours)."""
    return ProviderError("PROVIDER_BAD_RESPONSE", f"{provider} answered in an unexpected shape: {exc!r}")
