"""Money inside a running stage: credits for the paid actions it takes, and the USD cost of every provider
call it makes.

Credits (the user's): `async with call.paid("generate_scene", provider="runway"):` holds the action's price
before the action (INSUFFICIENT_CREDITS if the balance is short, and nothing is held), charges it when the
block ends normally and gives it back when the block raises. A worker killed inside the block leaves the hold;
the rerun finds it and charges it once when the action completes, and a job that ends FAILED or CANCELLED
gives back whatever it still holds (jobs.lifecycle).

Cost (ours): every provider call reports its usage (media.providers.meter); it is priced from the table and
written at once as a row of the stage, so a crash after a paid call loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import ledger
from db.tables import Hold
from jobs.errors import JobError
from media.providers.meter import Usage
from media.providers.prices import DEFAULT_PRICES_USD, unit_price

log = logging.getLogger(__name__)

DEFAULT_CREDIT_PRICES: dict[str, int] = {
    "generate_image": 1,
    "generate_scene": 5,
    # Offline providers cost us nothing: free by default, through the same ledger.
    "generate_image@offline": 0,
    "generate_scene@offline": 0,
}


@dataclass(frozen=True)
class Pricing:
    """Credits per paid action (`action`, or `action@provider` for one provider), and USD per unit of usage
    (media.providers.prices)."""

    credits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CREDIT_PRICES))
    usd: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES_USD))

    def credits_for(self, action: str, provider: str) -> int:
        return self.credits.get(f"{action}@{provider}", self.credits.get(action, 0))

    def usd_micros(self, usage: Usage) -> int:
        price = unit_price(self.usd, usage.vendor, usage.item)
        if price is None:
            log.warning("no price for %s/%s: add it to CLIPFORGE_PRICES_USD", usage.vendor, usage.item)
            return 0
        return round(usage.quantity * price * 1_000_000)


@dataclass(frozen=True)
class StageMoney:
    sessions: async_sessionmaker[AsyncSession]
    pricing: Pricing
    job_id: str
    user_id: str
    stage: str

    @asynccontextmanager
    async def paid(self, action: str, *, provider: str, item: str | None = None) -> AsyncIterator[int]:
        """Hold, then charge or give back, the price of one paid action; yields the credits it costs. `item`
        tells apart several actions of one kind in a stage ("scene-2")."""
        key = action if item is None else f"{action}#{item}"
        credits = self.pricing.credits_for(action, provider)
        try:
            async with self.sessions.begin() as session:
                entry = await ledger.hold(
                    session,
                    user_id=self.user_id,
                    job_id=self.job_id,
                    stage=self.stage,
                    action=key,
                    credits=credits,
                )
        except ledger.InsufficientCredits as exc:
            raise JobError(
                "INSUFFICIENT_CREDITS",
                f"{action.replace('_', ' ')} needs {credits} credits and the balance is {exc.balance}",
            ) from exc
        if entry.status == Hold.CHARGED:  # done and paid by an earlier run
            yield entry.credits
            return
        try:
            yield entry.credits
        except BaseException:
            async with self.sessions.begin() as session:
                await ledger.release(session, self.job_id, stage=self.stage, action=key)
            raise
        async with self.sessions.begin() as session:
            await ledger.charge(session, self.job_id, self.stage, key)

    async def record(self, usage: Usage) -> None:
        async with self.sessions.begin() as session:
            await ledger.add_cost(
                session,
                job_id=self.job_id,
                stage=self.stage,
                vendor=usage.vendor,
                item=usage.item,
                quantity=usage.quantity,
                usd_micros=self.pricing.usd_micros(usage),
                call_key=usage.key,
            )
