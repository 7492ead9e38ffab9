"""/healthz and /readyz against real Redis and databases, with the faults injected for real: a Redis of the
test's own stopped and started again, a database that does not answer, workers that stop beating."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis.asyncio import Redis

from clipforge.embedded import EmbeddedRedis
from clipforge.settings import Settings
from clipforge.worker_http import worker_app
from jobs.deps import Deps
from jobs.heartbeat import KEY, beat, forget
from jobs.metrics import Metrics
from tests.conftest import free_port
from tests.service import Service, running_service

REPO = Path(__file__).resolve().parent.parent


async def get(service: Service, path: str) -> tuple[int, Any]:
    response = await service.http.get(f"{service.url}{path}")
    return response.status_code, response.json()


async def test_ready_needs_a_worker_that_beat_recently(service: Service, redis: Redis) -> None:
    assert await get(service, "/healthz") == (200, {"ok": True})
    status, body = await get(service, "/readyz")
    assert status == 503 and body["ready"] is False
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["checks"]["workers"].startswith("error: no worker heartbeat in the last 15 s")

    await beat(redis, "host:1:aa")
    await beat(redis, "host:2:bb")
    assert await get(service, "/readyz") == (
        200,
        {"ready": True, "checks": {"database": "ok", "redis": "ok", "workers": "2 alive"}},
    )
    await forget(redis, "host:1:aa")
    # A worker whose last beat is older than CLIPFORGE_READY_HEARTBEAT_SECONDS no longer counts.
    await redis.zadd(KEY, {"host:2:bb": time.time() - 16})
    status, body = await get(service, "/readyz")
    assert status == 503 and body["checks"]["workers"].startswith("error: no worker heartbeat")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
async def test_ready_follows_redis_going_away_and_coming_back_while_health_stays(
    settings: Settings, own_redis: EmbeddedRedis, engine: object
) -> None:
    async with running_service(settings.model_copy(update={"redis_url": own_redis.url})) as service:
        client = Redis.from_url(own_redis.url)
        try:
            await beat(client, "host:1:aa")
            assert (await get(service, "/readyz"))[0] == 200
            own_redis.stop()
            status, body = await get(service, "/readyz")
            assert status == 503 and body["checks"]["redis"].startswith("error: ")
            assert body["checks"]["database"] == "ok"
            assert await get(service, "/healthz") == (200, {"ok": True})  # alive: nothing to restart
            own_redis.start()  # no persistence: the heartbeats are gone with it, as after a real restart
            for _ in range(50):
                status, body = await get(service, "/readyz")
                if body["checks"]["redis"] == "ok":
                    break
                await asyncio.sleep(0.1)
            assert body["checks"]["redis"] == "ok" and status == 503  # and still no worker has beaten
            await beat(client, "host:1:aa")
            assert (await get(service, "/readyz"))[0] == 200
        finally:
            await client.aclose()


async def test_ready_says_so_when_the_database_does_not_answer(
    settings: Settings, redis: Redis, engine: object
) -> None:
    gone = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing-listens-here"
    async with running_service(settings.model_copy(update={"database_url": gone})) as service:
        await beat(redis, "host:1:aa")
        status, body = await get(service, "/readyz")
        assert status == 503 and body["checks"]["redis"] == "ok"
        # The kind of failure, never the address: /readyz is unauthenticated.
        assert (
            body["checks"]["database"].startswith("error: ") and "127.0.0.1" not in body["checks"]["database"]
        )
        assert await get(service, "/healthz") == (200, {"ok": True})


async def test_the_workers_own_probes_say_starting_then_ready_and_serve_its_metrics(deps: Deps) -> None:
    built: list[Deps] = []
    metrics = Metrics()
    metrics.jobs_finished.labels(kind="SLIDESHOW", status="COMPLETED").inc()
    app = worker_app(metrics, lambda: built[0] if built else None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker") as http:
        assert (await http.get("/healthz")).json() == {"ok": True}
        starting = await http.get("/readyz")
        assert starting.status_code == 503
        assert starting.json()["checks"] == {"worker": "error: the worker is still starting"}
        built.append(deps)
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.json()
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        exposed = (await http.get("/metrics")).text
        assert 'clipforge_jobs_finished_total{kind="SLIDESHOW",status="COMPLETED"} 1.0' in exposed


def test_docker_compose_checks_every_long_running_service_by_its_probes() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    for name, service in services.items():
        if name == "migrate":  # a one-shot step: the others wait for it to complete
            assert service.get("restart") == "no"
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    port = compose["x-app"]["environment"]["CLIPFORGE_WORKER_PORT"]
    assert f"127.0.0.1:{port}/readyz" in worker_check
    assert compose["x-app"]["environment"]["CLIPFORGE_HOST"] == "0.0.0.0"  # reachable in the container
