"""Webhooks, the sending half: one attempt of one delivery, signed per the Standard Webhooks spec
(`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 with the target's whsec_ secret, by the
`standardwebhooks` package).

An attempt is recorded before the POST and completed with its answer, under a lease on the delivery: a
worker that dies mid-attempt leaves it open, its lease lapses, and the next attempt (same webhook-id) closes
it as lost. A 2xx ends the delivery; anything else (another status, a redirect, a refused or unreachable
address, no answer in time) schedules the next attempt by the retry delays, for a day, then gives up.
The target passes the same address checks as every fetch, at each attempt, and the connection goes to the
address that was checked.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook
from structlog.contextvars import bound_contextvars

from db import webhooks as repo
from db.repo import aware
from db.tables import DeliveryStatus, WebhookAttempt, WebhookDelivery, utcnow
from jobs.deps import Deps
from jobs.webhooks import WebhookPolicy, enqueue
from media.errors import MediaError
from media.inputs.fetch import check_url, pinned, resolve_checked
from media.storage.base import StorageUnavailable

log = logging.getLogger(__name__)

USER_AGENT = "clipforge-webhooks/1"
ANSWER_BYTES = 512  # of a failed answer's body, kept to show the user why
LOST = "no answer recorded: the worker stopped during this attempt"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    label: str = "delivered"  # for the attempts metric: delivered, http_error, network_error, refused

    def __post_init__(self) -> None:
        if self.error is not None:  # it is stored, in columns of 500 characters
            object.__setattr__(self, "error", self.error[:500])


def next_attempt_at(
    policy: WebhookPolicy, created_at: datetime, attempts: int, now: datetime
) -> datetime | None:
    """When to try again after `attempts` failed ones, or None to give up. The delay is jittered by 10 %
    so deliveries that failed together do not all come back at once; the last one allowed is moved to the
    end of the retry window."""
    deadline = aware(created_at) + timedelta(seconds=policy.retry_for_seconds)
    if attempts > len(policy.retry_delays) or now >= deadline:
        return None
    delay = policy.retry_delays[attempts - 1] * random.uniform(0.9, 1.1)
    return min(now + timedelta(seconds=delay), deadline)


async def deliver(deps: Deps, delivery_id: str, attempt: int) -> None:
    """The `attempt`-th POST of a delivery, if it is still due for it (else nothing: a duplicate queue
    entry, or a delivery already sent or given up)."""
    policy = deps.webhooks
    now = utcnow()
    async with deps.sessions.begin() as session:
        delivery = await repo.claim_delivery(
            session,
            delivery_id,
            attempt=attempt,
            owner=deps.worker_id,
            lease_seconds=policy.lease_seconds,
            now=now,
        )
        if delivery is None:
            return
        await repo.close_lost_attempts(session, delivery_id, now=now, error=LOST)
        await repo.add_attempt(
            session,
            WebhookAttempt(delivery_id=delivery_id, number=attempt, worker=deps.worker_id, started_at=now),
        )
        secret = await _secret(session, delivery)
    with bound_contextvars(webhook_id=delivery_id, job_id=delivery.job_id):
        started = time.perf_counter()
        if secret is None:
            outcome = Outcome(False, error="the endpoint was deleted", label="refused")
        else:
            outcome = await _post(deps, delivery, secret)
        elapsed = time.perf_counter() - started
        deps.metrics.webhook_seconds.observe(elapsed)
        deps.metrics.webhook_attempts.labels(outcome=outcome.label).inc()
        await _record(deps, delivery, attempt, outcome, elapsed, final=secret is None)


async def _secret(session: AsyncSession, delivery: WebhookDelivery) -> str | None:
    if delivery.endpoint_id is None:
        return await repo.get_secret(session, delivery.user_id)
    endpoint = await repo.get_endpoint(session, delivery.endpoint_id)
    return endpoint.secret if endpoint is not None else None


async def body_of(deps: Deps, delivery: WebhookDelivery) -> bytes:
    """The message, with the job's files as URLs signed now (they expire; a late retry carries live ones)."""
    keys = {name: str(key) for name, key in delivery.files.items()}
    links = await deps.tools.storage.urls(list(keys.values())) if keys else {}
    data = dict(delivery.payload.get("data") or {})
    data.update({name: links[key] for name, key in keys.items()})
    return json.dumps({**delivery.payload, "data": data}, separators=(",", ":")).encode()


async def _post(deps: Deps, delivery: WebhookDelivery, secret: str) -> Outcome:
    policy = deps.webhooks
    try:
        body = await body_of(deps, delivery)
    except StorageUnavailable as exc:  # object storage could not sign the links: try again later
        return Outcome(False, error=f"not sent: the file links could not be made ({exc})", label="not_sent")
    sent_at = utcnow()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.id, sent_at, body),
    }
    try:
        url = httpx.URL(check_url(delivery.url))
        host = url.raw_host.decode("ascii")
        addresses = await resolve_checked(
            host, url.port or (443 if url.scheme == "https" else 80), allow_private=policy.allow_private
        )
    except MediaError as exc:
        return Outcome(False, error=f"{exc.code}: {exc.message}", label="refused")
    target, extensions = pinned(url, addresses[0])
    try:
        async with deps.tools.http.stream(
            "POST",
            target,
            content=body,
            headers={**headers, "host": url.netloc.decode("ascii")},
            extensions=extensions,
            timeout=httpx.Timeout(policy.timeout_seconds, connect=min(5.0, policy.timeout_seconds)),
            follow_redirects=False,  # a redirect could lead past the address checks; it counts as a failure
        ) as response:
            if response.is_success:
                return Outcome(True, status_code=response.status_code)
            answer = await _start_of(response)
            return Outcome(
                False,
                status_code=response.status_code,
                error=f"HTTP {response.status_code}" + (f": {answer}" if answer else ""),
                label="http_error",
            )
    except httpx.TimeoutException:
        return Outcome(False, error=f"no answer within {policy.timeout_seconds:g} s", label="network_error")
    except httpx.TransportError as exc:
        return Outcome(False, error=f"could not reach {host} ({type(exc).__name__})", label="network_error")


async def _start_of(response: httpx.Response) -> str:
    """The first bytes of an answer: enough to show the user why, never a whole (hostile) body."""
    read = b""
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= ANSWER_BYTES:
            break
    return read[:ANSWER_BYTES].decode("utf-8", "replace").strip()


async def _record(
    deps: Deps, delivery: WebhookDelivery, attempt: int, outcome: Outcome, elapsed: float, *, final: bool
) -> None:
    now = utcnow()
    retry_at = (
        None
        if outcome.delivered or final
        else next_attempt_at(deps.webhooks, delivery.created_at, attempt, now)
    )
    if outcome.delivered:
        values: dict[str, object] = {
            "status": DeliveryStatus.DELIVERED,
            "finished_at": now,
            "last_error": None,
        }
    elif retry_at is None:
        values = {"status": DeliveryStatus.FAILED, "finished_at": now, "last_error": outcome.error}
    else:
        values = {"next_attempt_at": retry_at, "last_error": outcome.error}
    async with deps.sessions.begin() as session:
        await repo.finish_attempt(
            session,
            delivery.id,
            attempt,
            finished_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=round(elapsed * 1000),
        )
        # A success counts even when our lease lapsed meanwhile; a failure only while the delivery is ours.
        changed = await repo.update_delivery(
            session,
            delivery.id,
            only_if_owner=None if outcome.delivered else deps.worker_id,
            lease_owner=None,
            lease_expires_at=None,
            **values,
        )
    if not changed:
        return
    if outcome.delivered:
        deps.metrics.webhook_deliveries.labels(status=DeliveryStatus.DELIVERED.value).inc()
        log.info("webhook %s delivered to %s (attempt %d)", delivery.id, delivery.url, attempt)
    elif retry_at is None:
        deps.metrics.webhook_deliveries.labels(status=DeliveryStatus.FAILED.value).inc()
        log.warning(
            "webhook %s to %s failed for good after %d attempts: %s",
            delivery.id,
            delivery.url,
            attempt,
            outcome.error,
        )
    else:
        log.info(
            "webhook %s to %s failed (attempt %d: %s); next attempt at %s",
            delivery.id,
            delivery.url,
            attempt,
            outcome.error,
            retry_at.isoformat(),
        )
        try:
            await enqueue(deps.redis, delivery.id, attempt + 1, at=retry_at)
        except Exception as exc:  # noqa: BLE001 - the row says when; the reconciler's sweep enqueues it
            log.warning("could not enqueue webhook %s (%s); the reconciler will", delivery.id, exc)
