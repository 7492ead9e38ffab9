"""Who is calling: API keys, handed to a user once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import api_keys, repo

KEY_PREFIX = "cf_"
MAX_KEY_LENGTH = 200  # ours are 46 characters; anything far longer is not worth hashing
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_key(value: object) -> str | None:
    """The key from an `Authorization: Bearer <key>` value, else None."""
    if not isinstance(value, str):
        return None
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


async def authenticate(sessions: async_sessionmaker[AsyncSession], key: str | None) -> str | None:
    """The id of the key's user, or None for a missing or unknown key."""
    if not key:
        return None
    async with sessions() as session:
        return await api_keys.user_for_key_hash(session, hash_api_key(key))


async def issue_api_key(
    sessions: async_sessionmaker[AsyncSession], *, user_id: str, name: str, credits: int = 0
) -> str:
    """Create the user if needed (with `credits` to start with) and a new key for them. The key is returned,
    never stored: show it once."""
    if not USER_ID.fullmatch(user_id):
        raise ValueError("a user id is 1-64 letters, digits and _ . @ -, starting with a letter or digit")
    key = new_api_key()
    async with sessions.begin() as session:
        await repo.ensure_user(session, user_id, name, credits)
        await api_keys.add_api_key(
            session, user_id=user_id, key_hash=hash_api_key(key), prefix=key[: len(KEY_PREFIX) + 6]
        )
    return key
