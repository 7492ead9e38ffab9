"""Calling a cloud provider's HTTP API: transient failures are retried with exponential backoff and jitter,
everything else becomes a ProviderError with a code the job shows.

Transient: timeouts, connection errors, 429 (honouring Retry-After, or Google's RetryInfo in the body, capped)
and 5xx. Not transient: 400, 401,
403, 404, 422 — retrying those only spends money and time. `tries` counts every attempt (3: one call and two
retries).
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from media.errors import MediaError

TRIES = 3
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 20.0
Sleep = Callable[[float], Awaitable[None]]
# Names the vendor on each request `send` makes, for whoever meters the client's transport (the worker
# counts provider calls and errors by vendor); httpx hands unknown extensions through untouched.
PROVIDER_EXTENSION = "clipforge.provider"


class ProviderError(MediaError):
    """A provider call that failed for good. `status` is the last HTTP status, when there was one."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    provider: str,
    tries: int = TRIES,
    sleep: Sleep = asyncio.sleep,
    base_delay: float = BASE_DELAY_SECONDS,
) -> httpx.Response:
    """The successful (2xx) response, or ProviderError after `tries` attempts or a permanent failure."""
    request.extensions = {**request.extensions, PROVIDER_EXTENSION: provider}
    for attempt in range(1, tries + 1):
        try:
            response = await client.send(request)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            if attempt == tries:
                raise ProviderError(
                    "PROVIDER_UNAVAILABLE", f"{provider} did not answer after {tries} tries: {exc!r}"
                ) from exc
            await sleep(_backoff(attempt, base_delay))
            continue
        if response.is_success:
            return response
        status = response.status_code
        if status == 429 or status >= 500:
            if attempt == tries:
                code = "PROVIDER_RATE_LIMITED" if status == 429 else "PROVIDER_UNAVAILABLE"
                raise ProviderError(
                    code, f"{provider} answered {status} {tries} times: {_detail(response)}", status=status
                )
            wait = _retry_after(response)  # "Retry-After: 0" means now, not "back off as you like"
            await sleep(wait if wait is not None else _backoff(attempt, base_delay))
            continue
        code = "PROVIDER_AUTH_FAILED" if status in (401, 403) else "PROVIDER_REJECTED"
        raise ProviderError(code, f"{provider} answered {status}: {_detail(response)}", status=status)
    raise AssertionError("unreachable: the loop returns or raises")


def _backoff(attempt: int, base: float) -> float:
    """Full jitter: a random wait up to base * 2^(attempt-1), so many jobs retrying at once spread out."""
    return random.uniform(0.0, min(MAX_DELAY_SECONDS, base * 2 ** (attempt - 1)))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return _retry_info(response)
    if value.replace(".", "", 1).isdigit():
        return min(MAX_DELAY_SECONDS, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_DELAY_SECONDS, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def _retry_info(response: httpx.Response) -> float | None:
    """The wait Google's APIs (Gemini) put in the error body instead of a header: a google.rpc.RetryInfo
    detail, `{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}`."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s") and delay[:-1].replace(".", "", 1).isdigit():
            return min(MAX_DELAY_SECONDS, float(delay[:-1]))
    return None


def _detail(response: httpx.Response) -> str:
    """The vendor's own error message when the body has one (OpenAI/Anthropic/Gemini/ElevenLabs shapes)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        error = body.get("error", body.get("detail"))
        if isinstance(error, dict):
            return str(error.get("message") or error)[:300]
        if error is not None:
            return str(error)[:300]
    return str(body)[:300]


def require_key(key: str | None, provider: str, setting: str) -> str:
    """The API key, or a clear error naming the setting that provides it."""
    if not key:
        raise ProviderError("PROVIDER_NOT_CONFIGURED", f"{provider} needs an API key: set {setting}")
    return key
