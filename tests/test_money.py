"""Credits and costs are exact, on real databases: a paid action is charged once whatever reruns, crashes
or races happen, a balance never goes below zero, and the ledger always sums to the balance; every provider
call's usage becomes a cost row priced from the table."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from db import ledger, repo
from db.engine import session_factory
from db.ids import new_id
from db.tables import Hold
from jobs.deps import Deps
from jobs.errors import JobError
from jobs.money import Pricing, StageMoney
from media.providers.meter import Usage, metering, record
from tests.conftest import free_port
from tests.service import Service, running_service

PRICING = Pricing(credits={"generate_scene": 1, "generate_image": 2}, usd={"openai/m:input_tokens": 0.000002})


async def new_user(engine: AsyncEngine, credits: int) -> str:
    user_id = f"user-{new_id()[-8:]}"
    async with session_factory(engine).begin() as s:
        await repo.ensure_user(s, user_id, user_id, credits)
    return user_id


async def new_job(engine: AsyncEngine, user_id: str) -> str:
    job_id = new_id()
    async with session_factory(engine).begin() as s:
        await repo.create_job(
            s, job_id=job_id, user_id=user_id, kind="SLIDESHOW", input={}, stages=[("v", 1)]
        )
    return job_id


async def books(engine: AsyncEngine, user_id: str) -> tuple[int, int, list[str]]:
    """(balance, what the ledger's entries sum to, their statuses)."""
    async with session_factory(engine)() as s:
        balance = await ledger.balance(s, user_id)
        entries = await ledger.entries(s, user_id=user_id, limit=1000)
    total = sum(e.credits if e.status == Hold.GRANTED else 0 if e.status == Hold.RELEASED else -e.credits
                for e in entries)  # fmt: skip
    return balance, total, sorted(e.status for e in entries if e.status != Hold.GRANTED)


def money(engine: AsyncEngine, job_id: str, user_id: str, stage: str = "video") -> StageMoney:
    return StageMoney(session_factory(engine), PRICING, job_id, user_id, stage)


async def test_a_paid_action_is_held_then_charged_once_however_often_it_runs(engine: AsyncEngine) -> None:
    user = await new_user(engine, 10)
    job = await new_job(engine, user)
    for _ in range(3):  # the first run, then two reruns of the same stage (a crash, a retryJob)
        async with money(engine, job, user).paid("generate_image", provider="runway") as price:
            assert price == 2
    assert await books(engine, user) == (8, 8, ["CHARGED"])


async def test_an_action_that_fails_gives_its_credits_back_and_a_retry_holds_them_again(
    engine: AsyncEngine,
) -> None:
    user = await new_user(engine, 3)
    job = await new_job(engine, user)
    with pytest.raises(RuntimeError):
        async with money(engine, job, user).paid("generate_image", provider="runway"):
            assert (await books(engine, user))[0] == 1  # held: the other job cannot spend these
            raise RuntimeError("the provider failed")
    assert await books(engine, user) == (3, 3, ["RELEASED"])
    async with money(engine, job, user).paid("generate_image", provider="runway"):
        pass
    assert await books(engine, user) == (1, 1, ["CHARGED"])


async def test_a_worker_killed_inside_a_paid_action_leaves_a_hold_the_rerun_charges_once(
    engine: AsyncEngine, deps: Deps
) -> None:
    user = await new_user(engine, 5)
    job = await new_job(engine, user)
    killed = money(engine, job, user).paid("generate_scene", provider="runway")
    await killed.__aenter__()  # the worker dies here: neither charged nor given back
    assert await books(engine, user) == (4, 4, ["HELD"])
    async with money(engine, job, user).paid("generate_scene", provider="runway"):
        pass  # the rerun polls the task it already paid for (a keyed checkpoint) and finishes
    assert await books(engine, user) == (4, 4, ["CHARGED"])


async def test_a_job_that_ends_failed_or_cancelled_gives_back_what_it_still_holds(deps: Deps) -> None:
    engine_sessions = deps.sessions
    user = f"user-{new_id()[-8:]}"
    async with engine_sessions.begin() as s:
        await repo.ensure_user(s, user, user, 6)
    jobs = []
    for _ in range(2):
        job_id = new_id()
        async with engine_sessions.begin() as s:
            await repo.create_job(
                s, job_id=job_id, user_id=user, kind="SLIDESHOW", input={}, stages=[("v", 1)]
            )
            await ledger.hold(s, user_id=user, job_id=job_id, stage="v", action="generate_scene", credits=3)
        jobs.append(job_id)
    async with engine_sessions() as s:
        assert await ledger.balance(s, user) == 0
    assert await deps.lifecycle.cancel(jobs[0]) is not None
    claimed = await deps.lifecycle.claim(jobs[1], owner="w", lease_seconds=30, queue_id=None, attempt=1)
    assert claimed is not None
    await claimed[0].fail("v", "PROVIDER_UNAVAILABLE", "gone")
    async with engine_sessions() as s:
        assert await ledger.balance(s, user) == 6
        statuses = [e.status for e in await ledger.entries(s, user_id=user, limit=10)]
    assert sorted(statuses) == ["GRANTED", "RELEASED", "RELEASED"]


async def test_twenty_jobs_racing_for_credits_enough_for_five_charge_exactly_five(
    engine: AsyncEngine,
) -> None:
    user = await new_user(engine, 5)
    jobs = [await new_job(engine, user) for _ in range(20)]

    async def one(job_id: str) -> str:
        try:
            async with money(engine, job_id, user).paid("generate_scene", provider="runway"):
                await asyncio.sleep(0.01)  # the paid call
        except JobError as exc:
            return exc.code
        return "CHARGED"

    outcomes = await asyncio.gather(*(one(j) for j in jobs))
    assert sorted(outcomes) == ["CHARGED"] * 5 + ["INSUFFICIENT_CREDITS"] * 15
    assert await books(engine, user) == (0, 0, ["CHARGED"] * 5)


async def test_usage_reported_inside_a_stage_becomes_cost_rows_priced_from_the_table(
    engine: AsyncEngine,
) -> None:
    user = await new_user(engine, 0)
    job = await new_job(engine, user)
    stage_money = money(engine, job, user, stage="script")

    async def call_provider() -> None:
        await record("openai", "m:input_tokens", 1500)
        await record("openai", "unpriced:thing", 3)  # kept, at no cost, and logged

    with metering(stage_money.record):
        await asyncio.gather(call_provider(), call_provider())  # tasks inherit the stage's meter
    await record("openai", "m:input_tokens", 10**6)  # outside any stage: nobody to charge
    async with session_factory(engine)() as s:
        assert await ledger.cost_by_stage(s, [job]) == {(job, "script"): 2 * 1500 * 2}  # 2 µ$ per token
    assert PRICING.usd_micros(Usage("openai", "m:input_tokens", 0.5)) == 1


class FakeOpenAI:
    """OpenAI's chat completions answering a valid scene script, with the `usage` it documents."""

    def __init__(self) -> None:
        script = {"title": "Caches", "scenes": [{
            "narration": "Caches keep answers close, so slow work happens once.", "visual": "slide",
            "title": "Caches", "content": "close answers\nslow work once", "code_language": None,
            "duration_hint": None}]}  # fmt: skip
        body = json.dumps({
            "choices": [{"message": {"role": "assistant", "content": json.dumps(script)}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
        }).encode()  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.mark.slow
async def test_an_explainer_written_by_openai_costs_its_tokens_at_list_price(
    service: Service, fake_openai: FakeOpenAI
) -> None:
    changes = {
        "llm_provider": "openai",
        "openai_api_key": SecretStr("sk-test"),
        "openai_base_url": fake_openai.url,
        "port": free_port(),
    }
    query = "query($id: ID!) { job(id: $id) { status costUsd creditsCharged stages { name costUsd } } }"
    create = "mutation($i: ExplainerInput!) { createExplainer(input: $i) { ... on Job { id } } }"
    async with running_service(service.settings.model_copy(update=changes)) as svc:
        created = await svc.gql(create, {"i": {"sourceText": "Caches keep answers close.", "preview": True}})
        job_id = created["data"]["createExplainer"]["id"]
        await svc.drain_queue()
        job = (await svc.gql(query, {"id": job_id}))["data"]["job"]
    # gpt-4.1-mini: $0.40 per 1M tokens in, $1.60 per 1M out; the offline voice and painters cost nothing.
    expected = 1200 * 0.40 / 1e6 + 300 * 1.60 / 1e6
    assert job["status"] == "COMPLETED", job
    assert job["costUsd"] == pytest.approx(expected, abs=1e-9) and job["creditsCharged"] == 0
    assert {s["name"]: s["costUsd"] for s in job["stages"]}["script"] == pytest.approx(expected, abs=1e-9)
    assert sum(s["costUsd"] for s in job["stages"]) == pytest.approx(expected, abs=1e-9)


async def test_me_shows_the_balance_and_a_ledger_that_sums_to_it(
    service: Service, engine: AsyncEngine
) -> None:
    async with session_factory(engine).begin() as s:
        await ledger.grant(s, user_id="local", credits=7, note="test")
    query = "{ me { id credits ledger(first: 1) { edges { node { action change status note } } pageInfo { hasNextPage endCursor } } } }"  # noqa: E501
    me = (await service.gql(query))["data"]["me"]
    assert me["id"] == "local" and me["credits"] == 7
    assert me["ledger"]["edges"][0]["node"] == {
        "action": "grant",
        "change": 7,
        "status": "GRANTED",
        "note": "test",
    }
    assert me["ledger"]["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": me["ledger"]["pageInfo"]["endCursor"],
    }
