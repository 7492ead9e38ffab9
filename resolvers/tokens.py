"""Supabase Auth access tokens, verified with PyJWT: who a frontend's signed-in user is.

A token is accepted only when its signature checks out with a key of the project and the algorithm that key is
for (ES256 or RS256 from the project's JWKS, by `kid`; HS256 only with the legacy JWT secret configured), and
its `aud` is "authenticated", its `iss` the project's Auth URL, its `exp` in the future, its `sub` a user id.
The algorithm is pinned by the key, never taken from the token: `alg: none`, or an HS256 token "signed" with a
public key, fails.

The JWKS is fetched with the API's own httpx client (PyJWT's PyJWKClient uses blocking urllib), cached for
`cache_seconds`, and fetched again once when a token names a `kid` the cache lacks (keys rotate), but not more
often than every `refetch_gap_seconds`, so tokens with made-up kids cannot make us hammer Supabase.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from resolvers.availability import Unavailable

log = logging.getLogger(__name__)

AUDIENCE = "authenticated"
ASYMMETRIC = frozenset({"ES256", "RS256"})
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
KEYS_UNREACHABLE = "the sign-in keys of the Supabase project cannot be fetched right now; try again"


class TokenRejected(Exception):
    """Not a valid access token of this project (the caller gets 401; the reason goes to the log only)."""


class SupabaseTokens:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str,
        http: httpx.AsyncClient,
        hs256_secret: str = "",
        cache_seconds: float = 600.0,
        refetch_gap_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.http = http
        self.hs256_secret = hs256_secret
        self.cache_seconds = cache_seconds
        self.refetch_gap_seconds = refetch_gap_seconds
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._failing = False
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; TokenRejected for any token that is not valid, Unavailable when the keys that
        would decide cannot be fetched."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(f"malformed token: {exc}") from None
        alg = header.get("alg")
        key: Any
        if alg == "HS256" and self.hs256_secret:
            key = self.hs256_secret
        elif alg in ASYMMETRIC:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise TokenRejected("an asymmetric token without a kid")
            jwk = await self._key(kid)
            if jwk is None:
                raise TokenRejected(f"no key {kid!r} in the project's JWKS")
            if jwk.algorithm_name != alg:
                raise TokenRejected(f"key {kid!r} is for {jwk.algorithm_name}, the token says {alg}")
            key = jwk.key
        else:
            raise TokenRejected(f"algorithm {alg!r} is not accepted")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(str(exc)) from None
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise TokenRejected("sub is not a user id")
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        async with self._lock:
            now = self.clock()
            due = self._tried_at is None or now - self._tried_at >= self.refetch_gap_seconds
            stale = self._fetched_at is None or now - self._fetched_at >= self.cache_seconds
            unknown = kid not in self._keys
            if due and (stale or unknown):
                self._tried_at = now
                try:
                    await self._fetch()
                    self._failing = False
                except Unavailable:
                    self._failing = True
                    if unknown:
                        raise
                    # A key we had a moment ago still proves who signed: better than refusing everyone.
                    log.warning("JWKS refresh failed; using the cached keys")
            elif unknown and self._failing:
                raise Unavailable(KEYS_UNREACHABLE)  # we cannot tell until the JWKS answers again
            return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            response = await self.http.get(self.jwks_url)
            response.raise_for_status()
            found = response.json().get("keys", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("cannot fetch %s: %s", self.jwks_url, exc)
            raise Unavailable(KEYS_UNREACHABLE) from exc
        keys: dict[str, jwt.PyJWK] = {}
        for data in found if isinstance(found, list) else []:
            try:
                jwk = jwt.PyJWK(data)
            except jwt.PyJWTError as exc:  # a key type PyJWT cannot use: skip it, not the whole set
                log.warning("skipping JWKS key %r: %s", data.get("kid"), exc)
                continue
            if isinstance(data.get("kid"), str) and jwk.algorithm_name in ASYMMETRIC:
                keys[data["kid"]] = jwk
        self._keys = keys
        self._fetched_at = self.clock()
