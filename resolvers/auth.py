"""Who is calling: API keys (handed to a user once, stored only as a SHA-256 hash) and, when configured,
Supabase Auth access tokens (resolvers/tokens.py), whose users are created the first time they are seen."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import api_keys, repo
from db.tables import User
from resolvers.tokens import SupabaseTokens, TokenRejected

log = logging.getLogger(__name__)

KEY_PREFIX = "cf_"
MAX_KEY_LENGTH = 200  # ours are 46 characters; anything far longer is not worth hashing
MAX_TOKEN_LENGTH = 8192  # a Supabase access token is about 1 kB; custom claims make it longer
AuthMode = Literal["keys", "supabase", "both"]
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_key(value: object, max_length: int = MAX_KEY_LENGTH) -> str | None:
    """The key (or token) from an `Authorization: Bearer <key>` value, else None."""
    if not isinstance(value, str):
        return None
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > max_length:
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


@dataclass(frozen=True)
class Authenticator:
    """Who a bearer credential belongs to, in the configured mode: API keys (ours start with "cf_"),
    Supabase access tokens, or both."""

    sessions: async_sessionmaker[AsyncSession]
    mode: AuthMode = "keys"
    tokens: SupabaseTokens | None = None
    default_credits: int = 0  # of a Supabase user seen for the first time

    @property
    def max_length(self) -> int:
        return MAX_KEY_LENGTH if self.mode == "keys" else MAX_TOKEN_LENGTH

    async def user_for(self, credential: str | None) -> str | None:
        """The caller's user id, or None for a missing or invalid credential. Database errors and an
        unreachable JWKS propagate (the caller answers 503)."""
        if not credential:
            return None
        if credential.startswith(KEY_PREFIX) or self.tokens is None:
            return None if self.mode == "supabase" else await authenticate(self.sessions, credential)
        if self.mode == "keys":
            return None
        try:
            claims = await self.tokens.verify(credential)
        except TokenRejected as exc:
            log.info("access token refused: %s", exc)
            return None
        user_id = str(claims["sub"])
        if not USER_ID.fullmatch(user_id):
            log.info("access token refused: sub %r is not a user id", user_id[:80])
            return None
        email = claims.get("email")
        await self._ensure_user(user_id, email if isinstance(email, str) and email else user_id)
        return user_id

    async def _ensure_user(self, user_id: str, name: str) -> None:
        try:
            async with self.sessions.begin() as session:
                await repo.ensure_user(session, user_id, name[:200], self.default_credits)
        except IntegrityError:
            # Two first requests of a new user at once: the other one created the row.
            async with self.sessions() as session:
                if await session.get(User, user_id) is None:
                    raise
