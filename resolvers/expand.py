"""expandIdea: an idea → its plan (title, logline, tone, format, audience, hooks, outline), at once, for
frontends to show while the user types. Offline by the rules (a millisecond or so); with a cloud language
model, under a timeout and at most `per_minute` calls per user per minute (a fixed window kept in Redis, so
every API process counts the same calls)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError

from jobs.kinds.explainer import check_speech
from media.errors import MediaError
from media.providers.llm.base import answer
from media.providers.story import offline
from media.providers.story.llm import expansion_ask
from media.storyboard import FORMATS, TONES, Expansion
from resolvers.context import Context
from resolvers.errors import UserError

log = logging.getLogger(__name__)

MAX_AUDIENCE_CHARS = 120
_WINDOW_SECONDS = 60


class RateLimited(UserError):
    def __init__(self, per_minute: int, retry_after: int) -> None:
        super().__init__(
            "RATE_LIMITED", f"at most {per_minute} expandIdea calls a minute; try again in {retry_after} s"
        )
        self.retry_after = retry_after


async def expand_idea(ctx: Context, fields: Mapping[str, Any]) -> Expansion:
    idea = " ".join(str(fields.get("idea") or "").split())
    tone, format = fields.get("tone"), fields.get("format")
    audience = " ".join(str(fields.get("audience") or "").split()) or None
    language = str(fields.get("language") or "en")
    limits = ctx.services.limits
    if not idea:
        raise UserError("EMPTY_IDEA", "idea is empty", "idea")
    if len(idea) > limits.max_idea_chars:
        raise UserError(
            "IDEA_TOO_LONG", f"idea has {len(idea)} characters; the limit is {limits.max_idea_chars}", "idea"
        )
    if tone is not None and tone not in TONES:
        raise UserError("UNKNOWN_TONE", f"tone {tone!r} is not one of {', '.join(TONES)}", "tone")
    if format is not None and format not in FORMATS:
        raise UserError("UNKNOWN_FORMAT", f"format {format!r} is not one of {', '.join(FORMATS)}", "format")
    if audience and len(audience) > MAX_AUDIENCE_CHARS:
        raise UserError(
            "AUDIENCE_TOO_LONG", f"audience is longer than {MAX_AUDIENCE_CHARS} characters", "audience"
        )
    check_speech(None, language, limits)
    expander = ctx.services.expander
    if expander.llm is None:
        return offline.expand(idea, tone=tone, format=format, audience=audience, language=language)
    await _count_call(ctx, expander.per_minute)
    ask = expansion_ask(idea, tone=tone, format=format, audience=audience, language=language)
    try:
        async with asyncio.timeout(expander.timeout_seconds):
            return await answer(expander.llm, ask)
    except TimeoutError:
        raise UserError(
            "EXPAND_TIMEOUT", f"{expander.llm.provider} did not answer within {expander.timeout_seconds:g} s"
        ) from None
    except MediaError as exc:  # the provider failed after its retries, refused, or answered badly twice
        raise UserError(exc.code, exc.message) from exc


async def _count_call(ctx: Context, per_minute: int) -> None:
    now = time.time()
    window = int(now // _WINDOW_SECONDS)
    key = f"clipforge:expand:{ctx.user_id}:{window}"
    try:
        async with ctx.services.queue.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, _WINDOW_SECONDS + 5)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        # Unable to count is unable to limit: refuse rather than let cloud calls through unmetered.
        log.warning("cannot count expandIdea calls: %s", exc)
        raise UserError(
            "SERVICE_UNAVAILABLE", "the rate limiter cannot be reached; try again shortly"
        ) from exc
    if int(count) > per_minute:
        raise RateLimited(per_minute, max(1, int((window + 1) * _WINDOW_SECONDS - now + 0.999)))
