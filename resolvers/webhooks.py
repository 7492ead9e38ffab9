"""Webhook endpoints and deliveries, always scoped to the caller: register an endpoint (its secret shown
once), list and delete them, read every delivery and each of its attempts. A job's own `webhookUrl` is
checked here too (resolvers.create)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx

from db import webhooks as repo
from db.ids import new_id
from db.repo import aware
from db.tables import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from jobs.webhooks import new_secret
from media.errors import MediaError
from media.inputs.fetch import check_url, resolve_checked
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import NotFound, UserError
from resolvers.jobs import load_job

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 200
MAX_DELIVERIES_PAGE = 100
RESOLVE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WebhookView:
    id: str
    url: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    error: str | None
    duration_ms: int | None


@dataclass(frozen=True)
class DeliveryView:
    id: str  # the webhook-id header of every attempt
    job_id: str
    webhook_id: str | None  # None: the job's own webhookUrl
    url: str
    event_type: str
    status: str
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


async def check_target(ctx: Context, url: str, field: str) -> str:
    """A webhook target: http(s), and not an address our network must not be reached at. A name that does
    not resolve yet is accepted (the receiver may not be up); every attempt checks it again."""
    try:
        url = check_url(url.strip())
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            await resolve_checked(
                parsed.raw_host.decode("ascii"), port, allow_private=ctx.services.allow_private_urls
            )
    except MediaError as exc:
        if exc.code in ("INVALID_URL", "URL_NOT_ALLOWED"):
            raise UserError(exc.code, f"{field}: {exc.message}", field) from exc
        log.info("webhook target %s does not resolve yet (%s); accepted", url, exc.message)
    except TimeoutError:
        log.info("webhook target %s did not resolve in time; accepted", url)
    return url


def _endpoint_view(e: WebhookEndpoint) -> WebhookView:
    return WebhookView(id=e.id, url=e.url, description=e.description, created_at=aware(e.created_at))


async def create_webhook(ctx: Context, url: str, description: str | None) -> tuple[WebhookView, str]:
    """The endpoint and its secret: the only time the secret is shown."""
    url = await check_target(ctx, url, "url")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise UserError(
            "INVALID_DESCRIPTION", f"a description is at most {MAX_DESCRIPTION} characters", "description"
        )
    secret = new_secret()
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            limit = ctx.services.max_webhooks_per_user
            if await repo.count_endpoints(session, ctx.user_id) >= limit:
                raise UserError("TOO_MANY_WEBHOOKS", f"a user may register at most {limit} webhooks", "url")
            endpoint = await repo.add_endpoint(
                session,
                endpoint_id=new_id(),
                user_id=ctx.user_id,
                url=url,
                description=description,
                secret=secret,
            )
    return _endpoint_view(endpoint), secret


async def list_webhooks(ctx: Context) -> list[WebhookView]:
    with database_errors():
        async with ctx.services.sessions() as session:
            return [_endpoint_view(e) for e in await repo.list_endpoints(session, ctx.user_id)]


async def delete_webhook(ctx: Context, webhook_id: str) -> WebhookView:
    """Gone at once: deliveries still waiting for it are given up (FAILED) at their next attempt."""
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            endpoint = await repo.delete_endpoint(session, user_id=ctx.user_id, endpoint_id=webhook_id)
    if endpoint is None:
        raise NotFound("webhook", webhook_id)
    return _endpoint_view(endpoint)


async def signing_secret(ctx: Context) -> str:
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            return await repo.ensure_secret(session, ctx.user_id, new_secret)


def _attempt_view(a: WebhookAttempt) -> AttemptView:
    return AttemptView(
        number=a.number,
        started_at=aware(a.started_at),
        finished_at=aware(a.finished_at) if a.finished_at else None,
        status_code=a.status_code,
        error=a.error,
        duration_ms=a.duration_ms,
    )


def _delivery_view(d: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        job_id=d.job_id,
        webhook_id=d.endpoint_id,
        url=d.url,
        event_type=d.event_type,
        status=d.status,
        attempts=[_attempt_view(a) for a in attempts],
        next_attempt_at=aware(d.next_attempt_at) if d.status == DeliveryStatus.PENDING else None,
        last_error=d.last_error,
        created_at=aware(d.created_at),
        finished_at=aware(d.finished_at) if d.finished_at else None,
    )


async def list_deliveries(
    ctx: Context, *, job_id: str | None, webhook_id: str | None, first: int | None
) -> list[DeliveryView]:
    limit = first if first is not None else 20
    if not 0 < limit <= MAX_DELIVERIES_PAGE:
        raise UserError("INVALID_PAGE_SIZE", f"first must be between 1 and {MAX_DELIVERIES_PAGE}", "first")
    if job_id is not None:
        await load_job(ctx, job_id)  # another user's job is NOT_FOUND, like a missing one
    with database_errors():
        async with ctx.services.sessions() as session:
            deliveries = await repo.list_deliveries(
                session, user_id=ctx.user_id, job_id=job_id, endpoint_id=webhook_id, limit=limit
            )
            attempts = await repo.get_attempts(session, [d.id for d in deliveries])
    return [_delivery_view(d, [a for a in attempts if a.delivery_id == d.id]) for d in deliveries]
