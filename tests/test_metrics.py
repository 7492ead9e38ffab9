"""/metrics, read the way Prometheus reads it (its text format, parsed by prometheus_client's own parser),
while real jobs run through a real API and a real arq worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from clipforge.settings import Settings
from clipforge.worker import WorkerResources
from jobs import queue
from jobs.metrics import MeteredTransport, Metrics
from jobs.worker import create_worker
from media.providers.http import ProviderError
from tests.factory import COLOURS, jpeg
from tests.media.providers.test_writer_clients import TEXT, TITLE, Model, answer, ok, slept, writer_for
from tests.receiver import Receiver
from tests.service import MediaServer, Service
from tests.test_money import FakeOpenAI, fake_openai

__all__ = ["fake_openai", "slept"]  # fixtures, used by name

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { status } }"
JOB = "query($id: ID!) { job(id: $id) { status videoUrl } }"


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def api_metrics(service: Service) -> Samples:
    response = await service.http.get(f"{service.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def drain(settings: Settings, metrics: Metrics) -> None:
    """A burst worker whose metrics the test reads (what its /metrics port would serve)."""
    resources = WorkerResources(settings, metrics)
    redis = await queue.connect(str(settings.redis_url))
    worker = create_worker(redis, resources.build, resources.close, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


@pytest.mark.slow
async def test_a_job_is_counted_from_its_creation_to_its_end_and_its_render_speed_is_measured(
    service: Service, tmp_path: Path
) -> None:
    files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:2])}
    worker = Metrics()
    with MediaServer(files) as media:
        inp = {
            "imageUrls": [f"{media.url}/{i}.jpg" for i in range(2)],
            "size": "1080x1080",
            "secondsPerImage": 1,
        }
        job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
        events: list[Any] = []

        async def follow() -> None:
            async for message in service.subscribe(PROGRESS, {"id": job_id}):
                events.append(message)

        watching = asyncio.create_task(follow())
        for _ in range(100):
            if events:
                break
            await asyncio.sleep(0.05)
        before = await api_metrics(service)
        await drain(service.settings, worker)
        await asyncio.wait_for(watching, 30)
    after = await api_metrics(service)

    assert value(before, "clipforge_jobs_created_total", kind="SLIDESHOW") == 1
    assert value(before, "clipforge_jobs", kind="SLIDESHOW", status="QUEUED") == 1
    assert value(before, "clipforge_queue_depth", state="ready") == 1
    assert value(before, "clipforge_subscriptions_active") == 1
    assert value(before, "clipforge_websocket_connections") == 1

    assert value(after, "clipforge_jobs", kind="SLIDESHOW", status="QUEUED") == 0
    assert value(after, "clipforge_jobs", kind="SLIDESHOW", status="PROCESSING") == 0
    assert value(after, "clipforge_queue_depth", state="ready") == 0
    assert value(after, "clipforge_subscriptions_active") == 0
    assert value(after, "clipforge_websocket_connections") == 0

    seen = parse(_exposed(worker))
    assert value(seen, "clipforge_jobs_finished_total", kind="SLIDESHOW", status="COMPLETED") == 1
    for stage in ("fetch", "compose", "render", "store", "finalize"):
        assert value(seen, "clipforge_stage_duration_seconds_count", kind="SLIDESHOW", stage=stage) == 1
        assert value(seen, "clipforge_stage_duration_seconds_sum", kind="SLIDESHOW", stage=stage) > 0
    assert value(seen, "clipforge_worker_jobs_in_progress") == 0
    # The frames counted are the frames in the video.
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    video = tmp_path / "video.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert value(seen, "clipforge_render_frames_total", kind="SLIDESHOW") == frames > 0
    assert value(seen, "clipforge_render_fps_count", kind="SLIDESHOW") == 1
    render_seconds = value(seen, "clipforge_stage_duration_seconds_sum", kind="SLIDESHOW", stage="render")
    assert value(seen, "clipforge_render_fps_sum", kind="SLIDESHOW") == pytest.approx(frames / render_seconds)


def _exposed(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


async def test_a_cancel_is_counted_by_the_api_and_webhook_attempts_by_the_worker(service: Service) -> None:
    settings = service.settings.model_copy(update={"webhook_retry_delays": [0.2]})
    worker = Metrics()
    with Receiver(statuses=[500, 200]) as receiver:
        hook = {"input": {"url": f"{receiver.url}/hook"}}
        await service.gql(
            "mutation($input: WebhookInput!) { createWebhook(input: $input) { __typename } }", hook
        )
        inp = {"imageUrls": ["http://127.0.0.1:9/a.jpg"]}
        job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
        await service.gql("mutation($id: ID!) { cancelJob(id: $id) { __typename } }", {"id": job_id})
        await drain(settings, worker)
    api = await api_metrics(service)
    assert value(api, "clipforge_jobs_finished_total", kind="SLIDESHOW", status="CANCELLED") == 1
    seen = parse(_exposed(worker))
    assert value(seen, "clipforge_webhook_attempts_total", outcome="http_error") == 1
    assert value(seen, "clipforge_webhook_attempts_total", outcome="delivered") == 1
    assert value(seen, "clipforge_webhook_deliveries_total", status="DELIVERED") == 1
    assert value(seen, "clipforge_webhook_request_seconds_count") == 2
    assert len(receiver.received) == 2


async def test_provider_calls_and_errors_are_counted_by_vendor(slept: list[float]) -> None:
    metrics = Metrics()
    busy = httpx.Response(429, json={"error": {"message": "Rate limit reached", "type": "requests"}})
    model = Model(busy, ok(answer("openai", {"title": "t", "scenes": [_scene()]})))

    async with httpx.AsyncClient(transport=MeteredTransport(httpx.MockTransport(model), metrics)) as http:
        await writer_for("openai", http).write_script(TEXT, title=TITLE, max_scenes=4, language="en")
        failing = Model(*(httpx.Response(503, text="upstream down") for _ in range(3)))
    async with httpx.AsyncClient(transport=MeteredTransport(httpx.MockTransport(failing), metrics)) as http:
        with pytest.raises(ProviderError):
            await writer_for("anthropic", http).write_script(TEXT, title=TITLE, max_scenes=4, language="en")
        # Not a provider request (a user's URL being fetched): not counted.
        plain = Model(ok({}))
    async with httpx.AsyncClient(transport=MeteredTransport(httpx.MockTransport(plain), metrics)) as http:
        await http.get("https://images.example.com/a.jpg")

    seen = parse(_exposed(metrics))
    assert value(seen, "clipforge_provider_calls_total", vendor="openai", outcome="http_429") == 1
    assert value(seen, "clipforge_provider_calls_total", vendor="openai", outcome="ok") == 1
    assert value(seen, "clipforge_provider_errors_total", vendor="openai", reason="http_429") == 1
    assert value(seen, "clipforge_provider_calls_total", vendor="anthropic", outcome="http_5xx") == 3
    assert value(seen, "clipforge_provider_errors_total", vendor="anthropic", reason="http_5xx") == 3
    assert value(seen, "clipforge_provider_request_seconds_count", vendor="openai") == 2
    assert sum(v for (name, _), v in seen.items() if name == "clipforge_provider_calls_total") == 5


def _scene() -> dict[str, Any]:
    return {
        "narration": "Machine learning finds patterns in examples.",
        "visual": "slide",
        "title": "Patterns",
        "content": "From examples",
        "code_language": None,
        "duration_hint": None,
    }


@pytest.mark.slow
async def test_provider_cost_is_counted_by_vendor_at_the_price_tables_rates(
    service: Service, fake_openai: FakeOpenAI
) -> None:
    """An explainer written by OpenAI (a local server answering as OpenAI documents, with its `usage`)."""
    settings = service.settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": fake_openai.url,
        }
    )
    create = "mutation($i: ExplainerInput!) { createExplainer(input: $i) { ... on Job { id } } }"
    created = await service.gql(create, {"i": {"sourceText": "Caches keep answers close.", "preview": True}})
    job_id = created["data"]["createExplainer"]["id"]
    worker = Metrics()
    await drain(settings, worker)
    cost = (await service.gql("query($id: ID!) { job(id: $id) { costUsd } }", {"id": job_id}))["data"]["job"]
    seen = parse(_exposed(worker))
    # gpt-4.1-mini: $0.40 per 1M tokens in, $1.60 per 1M out (1200 in, 300 out); the offline voice is free.
    expected = 1200 * 0.40 / 1e6 + 300 * 1.60 / 1e6
    assert value(seen, "clipforge_provider_cost_usd_total", vendor="openai") == pytest.approx(expected)
    assert cost["costUsd"] == pytest.approx(expected)  # the same money the job's cost rows say
    assert value(seen, "clipforge_provider_calls_total", vendor="openai", outcome="ok") == 1
