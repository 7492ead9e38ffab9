"""What a process counts about the jobs it touches, for Prometheus. One `Metrics` per process, built at
start-up and passed down (Deps, Services) with a registry of its own, so two apps in one test process never
share counts. The API's scrape-time gauges (queue depth, subscriptions) are added in clipforge.metrics.

Counters are counted where the thing happens: a job is created by the API, ends in the worker (or, when
cancelled, in the API), so a fleet's totals are the sum over its processes, as Prometheus sums them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from db.tables import Job
from media.providers.http import PROVIDER_EXTENSION
from media.providers.meter import Usage
from media.providers.prices import unit_price

# A stage takes from milliseconds (a script) to most of an hour (a long render).
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
FPS_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 480)
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.jobs_created = Counter("clipforge_jobs_created", "Jobs created, by kind.", ["kind"], registry=r)
        self.jobs_finished = Counter(
            "clipforge_jobs_finished",
            "Jobs that ended, by kind and status (COMPLETED, FAILED, CANCELLED).",
            ["kind", "status"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "clipforge_stage_duration_seconds",
            "Time a stage took to finish, by kind and stage (stages that failed are not observed).",
            ["kind", "stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.jobs_in_progress = Gauge(
            "clipforge_worker_jobs_in_progress", "Jobs this worker process is running now.", registry=r
        )
        self.render_fps = Histogram(
            "clipforge_render_fps",
            "Frames per second of each finished render (frames / the render stage's time), by kind.",
            ["kind"],
            buckets=FPS_BUCKETS,
            registry=r,
        )
        self.render_frames = Counter(
            "clipforge_render_frames", "Frames rendered by finished renders, by kind.", ["kind"], registry=r
        )
        self.provider_calls = Counter(
            "clipforge_provider_calls",
            "HTTP requests to cloud providers (each retry is a request), by vendor and outcome.",
            ["vendor", "outcome"],
            registry=r,
        )
        self.provider_errors = Counter(
            "clipforge_provider_errors",
            "Provider requests that failed (HTTP >= 400, timeout, network), by vendor and reason.",
            ["vendor", "reason"],
            registry=r,
        )
        self.provider_seconds = Histogram(
            "clipforge_provider_request_seconds",
            "Time of each provider request, by vendor.",
            ["vendor"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.provider_cost_usd = Counter(
            "clipforge_provider_cost_usd",
            "What provider calls cost us in USD (their usage at the price table's rates), by vendor.",
            ["vendor"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "clipforge_webhook_attempts",
            "Webhook attempts, by outcome (delivered, http_error, network_error, refused, not_sent).",
            ["outcome"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "clipforge_webhook_deliveries",
            "Webhook messages that reached an end: DELIVERED, or FAILED after a day of retries.",
            ["status"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "clipforge_webhook_request_seconds",
            "Time of each webhook POST.",
            buckets=CALL_BUCKETS,
            registry=r,
        )

    def created(self, job: Job) -> None:
        self.jobs_created.labels(kind=job.kind).inc()

    def finished(self, job: Job) -> None:
        self.jobs_finished.labels(kind=job.kind, status=job.status).inc()

    def costed(self, usage: Usage, prices: Mapping[str, float]) -> None:
        price = unit_price(prices, usage.vendor, usage.item)
        if price is not None:  # an unpriced item is logged where its cost row is written (jobs.money)
            self.provider_cost_usd.labels(vendor=usage.vendor).inc(usage.quantity * price)

    def rendered(self, kind: str, frames: int, seconds: float) -> None:
        self.render_frames.labels(kind=kind).inc(frames)
        if frames > 0 and seconds > 0:
            self.render_fps.labels(kind=kind).observe(frames / seconds)


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts the requests that media.providers.http.send tags with their vendor; other requests (user URLs
    being fetched) pass through uncounted."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tag = request.extensions.get(PROVIDER_EXTENSION)
        if not isinstance(tag, str):
            return await self.inner.handle_async_request(request)
        vendor = tag.lower()  # label values the Prometheus way: "openai", "elevenlabs"
        m = self.metrics
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._failed(vendor, "timeout", started)
            raise
        except httpx.TransportError:
            self._failed(vendor, "network", started)
            raise
        m.provider_seconds.labels(vendor=vendor).observe(time.perf_counter() - started)
        status = response.status_code
        if status < 400:
            m.provider_calls.labels(vendor=vendor, outcome="ok").inc()
        else:
            reason = "http_429" if status == 429 else f"http_{status // 100}xx"
            m.provider_calls.labels(vendor=vendor, outcome=reason).inc()
            m.provider_errors.labels(vendor=vendor, reason=reason).inc()
        return response

    def _failed(self, vendor: str, reason: str, started: float) -> None:
        m = self.metrics
        m.provider_seconds.labels(vendor=vendor).observe(time.perf_counter() - started)
        m.provider_calls.labels(vendor=vendor, outcome=reason).inc()
        m.provider_errors.labels(vendor=vendor, reason=reason).inc()

    async def aclose(self) -> None:
        await self.inner.aclose()
