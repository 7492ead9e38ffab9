"""Repository functions of webhooks: endpoints, per-user secrets, deliveries and their attempts. Each takes an
open session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret, utcnow


async def add_endpoint(
    session: AsyncSession, *, endpoint_id: str, user_id: str, url: str, description: str, secret: str
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=endpoint_id, user_id=user_id, url=url, description=description, secret=secret
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def count_endpoints(session: AsyncSession, user_id: str) -> int:
    query = select(func.count()).select_from(WebhookEndpoint).where(col(WebhookEndpoint.user_id) == user_id)
    return int((await session.execute(query)).scalar_one())


async def list_endpoints(session: AsyncSession, user_id: str) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(col(WebhookEndpoint.user_id) == user_id)
        .order_by(col(WebhookEndpoint.id))
    )
    return list((await session.execute(query)).scalars())


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def delete_endpoint(session: AsyncSession, *, user_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    query = (
        delete(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.user_id) == user_id)
        .returning(WebhookEndpoint)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def ensure_secret(session: AsyncSession, user_id: str, make: Callable[[], str]) -> str:
    """The user's secret for jobs' own webhookUrl, made on first need. Two first needs at once both get
    the one that was stored."""
    values = {"user_id": user_id, "secret": make(), "created_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(pg_insert(WebhookSecret).values(values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(WebhookSecret).values(values).on_conflict_do_nothing())
    query = select(col(WebhookSecret.secret)).where(col(WebhookSecret.user_id) == user_id)
    return str((await session.execute(query)).scalar_one())


async def get_secret(session: AsyncSession, user_id: str) -> str | None:
    row = await session.get(WebhookSecret, user_id)
    return row.secret if row else None


async def add_deliveries(session: AsyncSession, deliveries: Sequence[WebhookDelivery]) -> None:
    session.add_all(deliveries)
    await session.flush()


async def get_delivery(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def claim_delivery(
    session: AsyncSession, delivery_id: str, *, attempt: int, owner: str, lease_seconds: float, now: datetime
) -> WebhookDelivery | None:
    """Take a PENDING delivery for its `attempt`-th POST: only when that attempt is the next one, it is due
    and no live lease holds it. None otherwise (sent, given up, not due, or someone else's now)."""
    query = (
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            col(WebhookDelivery.attempts) == attempt - 1,
            # arq may start a deferred job a little before its time: a second is not worth a refusal.
            col(WebhookDelivery.next_attempt_at) <= now + timedelta(seconds=1),
            or_(col(WebhookDelivery.lease_owner).is_(None), col(WebhookDelivery.lease_expires_at) < now),
        )
        .values(
            attempts=attempt,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
        )
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def close_lost_attempts(session: AsyncSession, delivery_id: str, *, now: datetime, error: str) -> None:
    """Attempts left open by a worker that died during them."""
    await session.execute(
        update(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == delivery_id, col(WebhookAttempt.finished_at).is_(None))
        .values(finished_at=now, error=error)
    )


async def add_attempt(session: AsyncSession, attempt: WebhookAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def finish_attempt(session: AsyncSession, delivery_id: str, number: int, **values: Any) -> None:
    await session.execute(
        update(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == delivery_id, col(WebhookAttempt.number) == number)
        .values(**values)
    )


async def update_delivery(
    session: AsyncSession, delivery_id: str, *, only_if_owner: str | None = None, **values: Any
) -> bool:
    """Change a PENDING delivery; False when it is no longer pending (or, with only_if_owner, no longer
    leased to that owner)."""
    query = update(WebhookDelivery).where(
        col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == DeliveryStatus.PENDING
    )
    if only_if_owner is not None:
        query = query.where(col(WebhookDelivery.lease_owner) == only_if_owner)
    result = await session.execute(query.values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


async def due_deliveries(session: AsyncSession, *, now: datetime, limit: int = 200) -> list[WebhookDelivery]:
    """PENDING deliveries whose next attempt is due and that nobody holds (never enqueued, Redis forgot
    them, or their worker died mid-attempt)."""
    query = (
        select(WebhookDelivery)
        .where(
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
            or_(col(WebhookDelivery.lease_owner).is_(None), col(WebhookDelivery.lease_expires_at) < now),
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def release_leases(session: AsyncSession, *, owner_prefix: str, now: datetime) -> int:
    """Deliveries held by workers known to be dead (their owner ids start with `owner_prefix`)."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            col(WebhookDelivery.lease_owner).startswith(owner_prefix, autoescape=True),
        )
        .values(lease_expires_at=now)
    )
    return int(getattr(result, "rowcount", 0))


async def list_deliveries(
    session: AsyncSession,
    *,
    user_id: str,
    job_id: str | None = None,
    endpoint_id: str | None = None,
    limit: int = 20,
) -> list[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).where(col(WebhookDelivery.user_id) == user_id)
    if job_id is not None:
        query = query.where(col(WebhookDelivery.job_id) == job_id)
    if endpoint_id is not None:
        query = query.where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    query = query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id)).limit(limit)
    return list((await session.execute(query)).scalars())


async def get_attempts(session: AsyncSession, delivery_ids: Sequence[str]) -> list[WebhookAttempt]:
    query = (
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    )
    return list((await session.execute(query)).scalars())
