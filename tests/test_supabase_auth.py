"""Supabase Auth users (CLIPFORGE_AUTH=supabase|both): real tokens signed by keys this test makes, the
project's JWKS served by tests/supabase_fake.py, over HTTP and over the WebSocket."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db.engine import session_factory
from db.tables import User
from resolvers.auth import issue_api_key
from resolvers.availability import Unavailable
from resolvers.tokens import SupabaseTokens, TokenRejected
from tests import supabase_fake
from tests.gqlws import connect
from tests.service import Service
from tests.supabase_fake import SupabaseFake

JOBS = "{ jobs { edges { node { id } } } }"
JOB = "query($id: ID!) { job(id: $id) { id status } }"
CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) { ... on Job { id } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { jobId status } }"
LEGACY_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())


class Keys:
    """The project's signing keys, as the test makes them; the public halves are in the fake's JWKS."""

    def __init__(self, fake: SupabaseFake) -> None:
        self.fake = fake
        self.issuer = f"{fake.url}/auth/v1"
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.publish(("ec-1", self.ec, "ES256"), ("rsa-1", self.rsa, "RS256"))

    def publish(self, *keys: tuple[str, Any, str]) -> None:
        published = []
        for kid, private, alg in keys:
            algorithm = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algorithm.to_jwk(private.public_key()))
            published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        self.fake.jwks = {"keys": published}

    def claims(self, user: str = ALICE, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "sub": user,
            "aud": "authenticated",
            "iss": self.issuer,
            "iat": now,
            "exp": now + 600,
            "role": "authenticated",
            "email": f"{user[:8]}@example.com",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def es256(self, user: str = ALICE, *, kid: str = "ec-1", key: Any = None, **changes: Any) -> str:
        return jwt.encode(self.claims(user, **changes), key or self.ec, "ES256", headers={"kid": kid})

    def rs256(self, user: str = ALICE, **changes: Any) -> str:
        return jwt.encode(self.claims(user, **changes), self.rsa, "RS256", headers={"kid": "rsa-1"})

    def hs256(self, user: str = ALICE, secret: str = LEGACY_SECRET, **changes: Any) -> str:
        return jwt.encode(self.claims(user, **changes), secret, "HS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token put together by hand, as an attacker would: PyJWT refuses to make these."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


@pytest.fixture
async def fake() -> AsyncIterator[SupabaseFake]:
    async with supabase_fake.running() as served:
        yield served


@pytest.fixture
def keys(fake: SupabaseFake) -> Keys:
    return Keys(fake)


@pytest.fixture
def settings(settings: Settings, fake: SupabaseFake) -> Settings:
    return settings.model_copy(
        update={
            "auth": "both",
            "supabase_url": fake.url,
            "supabase_jwt_secret": SecretStr(LEGACY_SECRET),
            "supabase_jwks_refetch_gap_seconds": 0.0,
            "default_credits": 25,
        }
    )


async def ask(service: Service, token: str | None, query: str = JOBS, **variables: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await service.http.post(
        f"{service.url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return response.status_code, response.json()


async def ws_answer(service: Service, token: str) -> str:
    """'ack' when the socket accepted the token, else the close code."""
    async with connect(service.url) as ws:
        answer = await ws.init({"authorization": f"Bearer {token}"})
        if answer.get("type") == "connection_ack":
            return "ack"
        return str((await ws.closed())[0])


# --- accepted -------------------------------------------------------------------------------------------


async def test_a_valid_token_of_each_kind_is_accepted_and_its_user_created_with_the_default_credits(
    service: Service, keys: Keys, engine: AsyncEngine
) -> None:
    users = [str(uuid.uuid4()) for _ in range(3)]
    for token in [keys.es256(users[0]), keys.rs256(users[1]), keys.hs256(users[2])]:
        assert await ask(service, token) == (200, {"data": {"jobs": {"edges": []}}})
        assert await ws_answer(service, token) == "ack"
    async with session_factory(engine)() as session:
        for user in users:
            row = await session.get(User, user)
            assert row is not None and row.credits == 25 and row.name == f"{user[:8]}@example.com"


async def test_two_first_requests_of_a_new_user_at_once_both_succeed(
    service: Service, keys: Keys, engine: AsyncEngine
) -> None:
    user = str(uuid.uuid4())
    token = keys.es256(user)
    answers = await asyncio.gather(*(ask(service, token) for _ in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    async with session_factory(engine)() as session:
        assert (await session.get(User, user)) is not None


# --- refused --------------------------------------------------------------------------------------------


def refused_tokens(keys: Keys) -> dict[str, str]:
    public_pem = keys.ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    impostor = ec.generate_private_key(ec.SECP256R1())
    return {
        "expired": keys.es256(exp=int(time.time()) - 60, iat=int(time.time()) - 660),
        "wrong audience": keys.es256(aud="anon"),
        "no audience": keys.es256(aud=None),
        "wrong issuer": keys.es256(iss="https://other-project.supabase.co/auth/v1"),
        "no expiry": keys.es256(exp=None),
        "no subject": keys.es256(sub=None),
        "bad signature": keys.es256(key=impostor),  # the right kid, someone else's key
        "wrong HS256 secret": keys.hs256(secret="another-secret-that-is-at-least-32-characters"),
        "alg none": forged({"alg": "none", "typ": "JWT"}, keys.claims(), None),
        "alg none, kid of a real key": forged({"alg": "none", "kid": "ec-1"}, keys.claims(), None),
        # Algorithm confusion: HS256 "signed" with the public key a verifier might hand to HMAC.
        "HS256 with the public key": forged({"alg": "HS256", "kid": "ec-1"}, keys.claims(), public_pem),
        "ES256 key, RS256 claimed": forged({"alg": "RS256", "kid": "ec-1"}, keys.claims(), b"x"),
        "not a JWT": "eyJ-not-a-token",
    }


async def test_every_bad_token_is_401_over_http_and_4403_over_the_websocket(
    service: Service, keys: Keys
) -> None:
    for name, token in refused_tokens(keys).items():
        status, body = await ask(service, token)
        assert status == 401, name
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", name
        assert await ws_answer(service, token) == "4403", name


async def test_an_unknown_kid_refetches_the_jwks_once_then_is_refused(
    service: Service, keys: Keys, fake: SupabaseFake
) -> None:
    assert (await ask(service, keys.es256()))[0] == 200
    fetched = fake.jwks_fetches
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = keys.es256(kid="ec-unknown", key=stranger)
    assert (await ask(service, token))[0] == 401
    assert fake.jwks_fetches == fetched + 1
    assert await ws_answer(service, token) == "4403"
    assert fake.jwks_fetches == fetched + 2  # once per token that names it, never in a loop


async def test_a_rotated_key_is_picked_up_by_the_refetch(
    service: Service, keys: Keys, fake: SupabaseFake
) -> None:
    assert (await ask(service, keys.es256()))[0] == 200
    rotated = ec.generate_private_key(ec.SECP256R1())
    keys.publish(("ec-1", keys.ec, "ES256"), ("ec-2", rotated, "ES256"))
    assert (await ask(service, keys.es256(kid="ec-2", key=rotated)))[0] == 200
    assert (await ask(service, keys.es256()))[0] == 200  # the old key too, while it is published


async def test_an_unreachable_jwks_is_503_over_http_and_1013_over_the_websocket(
    service: Service, keys: Keys, fake: SupabaseFake
) -> None:
    fake.jwks_down = True
    status, body = await ask(service, keys.es256())
    assert status == 503 and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert await ws_answer(service, keys.es256()) == "1013"
    assert (await ask(service, keys.hs256()))[0] == 200  # the legacy secret needs no JWKS
    fake.jwks_down = False
    assert (await ask(service, keys.es256()))[0] == 200


# --- users kept apart, API keys beside tokens -----------------------------------------------------------


async def test_a_token_for_one_user_cannot_read_anothers_job_over_http_or_websocket(
    service: Service, keys: Keys
) -> None:
    alice, bob = keys.es256(ALICE), keys.rs256(BOB)
    status, body = await ask(service, alice, CREATE, input={"imageUrls": ["http://127.0.0.1:9/a.jpg"]})
    hers = body["data"]["createSlideshow"]["id"]
    assert (await ask(service, alice, JOB, id=hers))[1]["data"]["job"]["id"] == hers
    status, seen = await ask(service, bob, JOB, id=hers)
    assert status == 200 and seen["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await ask(service, bob))[1] == {"data": {"jobs": {"edges": []}}}
    stream = service.subscribe(PROGRESS, {"id": hers}, connection_params={"authorization": f"Bearer {bob}"})
    messages = [m async for m in stream]
    assert messages[-1]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    stream = service.subscribe(PROGRESS, {"id": hers}, connection_params={"authorization": f"Bearer {alice}"})
    assert (await anext(aiter(stream)))["data"]["jobProgress"] == {"jobId": hers, "status": "QUEUED"}
    await stream.aclose()


async def test_api_keys_keep_working_beside_tokens(service: Service, keys: Keys, engine: AsyncEngine) -> None:
    key = await issue_api_key(session_factory(engine), user_id="carol", name="Carol")
    assert (await ask(service, key))[0] == 200
    assert await ws_answer(service, key) == "ack"
    assert (await ask(service, "cf_not-a-key"))[0] == 401
    assert (await ask(service, None))[0] == 401


@pytest.mark.parametrize(
    ("mode", "key_works", "token_works"), [("supabase", False, True), ("keys", True, False)]
)
async def test_each_mode_accepts_only_its_own_credentials(
    settings: Settings, keys: Keys, engine: AsyncEngine, mode: str, key_works: bool, token_works: bool
) -> None:
    from tests.service import running_service

    key = await issue_api_key(session_factory(engine), user_id="carol", name="Carol")
    only = settings.model_copy(update={"auth": mode, "auth_required": True})
    async with running_service(only) as svc:
        assert ((await ask(svc, key))[0] == 200) is key_works
        assert ((await ask(svc, keys.es256()))[0] == 200) is token_works
        assert (await ws_answer(svc, key) == "ack") is key_works
        assert (await ws_answer(svc, keys.es256()) == "ack") is token_works


# --- the JWKS cache, on its own clock -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def tokens(fake: SupabaseFake, keys: Keys) -> AsyncIterator[tuple[SupabaseTokens, Clock]]:
    clock = Clock()
    async with httpx.AsyncClient(timeout=5) as http:
        yield (
            SupabaseTokens(
                issuer=keys.issuer,
                jwks_url=f"{keys.issuer}/.well-known/jwks.json",
                http=http,
                cache_seconds=600,
                refetch_gap_seconds=10,
                clock=clock,
            ),
            clock,
        )


async def test_a_revoked_key_is_refused_once_the_cache_expires(
    tokens: tuple[SupabaseTokens, Clock], keys: Keys, fake: SupabaseFake
) -> None:
    verifier, clock = tokens
    assert (await verifier.verify(keys.es256()))["sub"] == ALICE
    keys.publish(("rsa-1", keys.rsa, "RS256"))  # ec-1 revoked
    clock.now += 599
    assert (await verifier.verify(keys.es256()))["sub"] == ALICE  # cached for 10 minutes, as Supabase's edge
    clock.now += 2
    with pytest.raises(TokenRejected):
        await verifier.verify(keys.es256())
    assert fake.jwks_fetches == 2


async def test_made_up_kids_cannot_make_it_fetch_more_often_than_the_gap(
    tokens: tuple[SupabaseTokens, Clock], keys: Keys, fake: SupabaseFake
) -> None:
    verifier, clock = tokens
    await verifier.verify(keys.es256())
    for n in range(20):
        with pytest.raises(TokenRejected):
            await verifier.verify(keys.es256(kid=f"made-up-{n}"))
    assert fake.jwks_fetches == 1
    clock.now += 10
    with pytest.raises(TokenRejected):
        await verifier.verify(keys.es256(kid="made-up-again"))
    assert fake.jwks_fetches == 2


async def test_with_the_jwks_down_cached_keys_still_work_and_it_is_asked_again_after_the_gap(
    tokens: tuple[SupabaseTokens, Clock], keys: Keys, fake: SupabaseFake
) -> None:
    verifier, clock = tokens
    await verifier.verify(keys.es256())
    fake.jwks_down = True
    clock.now += 700  # the cache is stale
    assert (await verifier.verify(keys.es256()))["sub"] == ALICE
    assert (await verifier.verify(keys.es256()))["sub"] == ALICE
    assert fake.jwks_fetches == 2  # one failed refresh, not one per request
    with pytest.raises(Unavailable):
        await verifier.verify(keys.es256(kid="not-cached"))
    clock.now += 10
    fake.jwks_down = False
    assert (await verifier.verify(keys.rs256()))["sub"] == ALICE
    assert fake.jwks_fetches == 3


async def test_hs256_is_refused_without_the_legacy_secret(
    tokens: tuple[SupabaseTokens, Clock], keys: Keys
) -> None:
    verifier, _ = tokens
    with pytest.raises(TokenRejected, match="not accepted"):
        await verifier.verify(keys.hs256())
