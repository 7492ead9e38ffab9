"""API keys: stored by hash only (see tables.ApiKey). Each function takes an open session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.ids import new_id
from db.tables import ApiKey


async def add_api_key(session: AsyncSession, *, user_id: str, key_hash: str, prefix: str) -> ApiKey:
    key = ApiKey(id=new_id(), user_id=user_id, key_hash=key_hash, prefix=prefix)
    session.add(key)
    await session.flush()
    return key


async def user_for_key_hash(session: AsyncSession, key_hash: str) -> str | None:
    # An index lookup by hash: its timing tells an attacker nothing about keys they do not have.
    result = await session.execute(select(ApiKey.user_id).where(col(ApiKey.key_hash) == key_hash))
    return result.scalar_one_or_none()
