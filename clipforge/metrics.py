"""/metrics in Prometheus' text format, for the API and for each worker (on its own port, see
clipforge.worker_http).

Counters are counted as things happen (jobs.metrics); the API adds gauges read when Prometheus scrapes:
the queue's depth (Redis), jobs queued and processing by kind (the database: the whole fleet's, whichever
worker runs them), subscriptions and WebSocket connections open on this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from db.stats import active_job_counts
from db.tables import JobStatus
from jobs.kinds import KINDS
from jobs.metrics import Metrics
from jobs.queue import QUEUE_NAME
from resolvers.context import Services

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 2.0  # a scrape must answer even when Redis or the database does not


class ApiGauges:
    def __init__(
        self, metrics: Metrics, subscriptions: Callable[[], int], connections: Callable[[], int]
    ) -> None:
        r = metrics.registry
        self.subscriptions = Gauge(
            "clipforge_subscriptions_active", "GraphQL subscriptions open on this API process.", registry=r
        )
        self.subscriptions.set_function(lambda: float(subscriptions()))
        self.connections = Gauge(
            "clipforge_websocket_connections", "WebSocket connections open on this API process.", registry=r
        )
        self.connections.set_function(lambda: float(connections()))
        self.queue_depth = Gauge(
            "clipforge_queue_depth",
            "Entries in the job queue: ready to run now, or deferred (retries waiting their turn).",
            ["state"],
            registry=r,
        )
        self.jobs = Gauge(
            "clipforge_jobs",
            "Jobs QUEUED or PROCESSING now, across every worker (read from the database), by kind.",
            ["kind", "status"],
            registry=r,
        )

    async def refresh(self, services: Services) -> None:
        """Read what the scrape reports; a source that fails keeps its last values and is logged."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                now_ms = time.time() * 1000
                ready = await services.queue.zcount(QUEUE_NAME, "-inf", now_ms)
                deferred = await services.queue.zcount(QUEUE_NAME, f"({now_ms}", "+inf")
            self.queue_depth.labels(state="ready").set(ready)
            self.queue_depth.labels(state="deferred").set(deferred)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("metrics: could not read the queue depth (%s)", exc)
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS), services.sessions() as session:
                counts = await active_job_counts(session)
            for kind in sorted({*KINDS, *(k for k, _ in counts)}):
                for status in (JobStatus.QUEUED, JobStatus.PROCESSING):
                    self.jobs.labels(kind=kind, status=status.value).set(counts.get((kind, status), 0))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("metrics: could not count jobs (%s)", exc)


def exposition(metrics: Metrics) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def api_metrics_endpoint(gauges: ApiGauges, metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await gauges.refresh(request.app.state.services)
        return exposition(metrics)

    return endpoint
