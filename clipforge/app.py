"""The ASGI app: the web page at /, GraphQL (HTTP + graphql-transport-ws) at /graphql, stored files at /files;
/healthz, /readyz and /metrics for operators (clipforge.probes, clipforge.metrics)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from clipforge.body_limit import BodyLimit
from clipforge.graphql_app import GraphQLApp
from clipforge.metrics import ApiGauges, api_metrics_endpoint
from clipforge.page import page_routes
from clipforge.probes import Check, database_answers, healthz, readyz, redis_answers, workers_alive
from clipforge.request_id import RequestId
from clipforge.settings import Settings
from clipforge.wiring import open_services
from jobs.metrics import Metrics
from media.storage.local import LocalStorage, guess_content_type, verify
from resolvers.context import Services
from schema import QueryLimits, build_schema


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.graphql_max_depth,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
        max_cost=settings.graphql_max_cost,
        cost_list_size=settings.graphql_cost_list_size,
        introspection=settings.graphql_introspection,
    )


def create_app(settings: Settings) -> Starlette:
    secret = settings.secret_bytes()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await open_services(settings, stack, metrics)
            yield

    graphql = GraphQLApp(build_schema(query_limits(settings)), settings)

    gauges = ApiGauges(metrics, lambda: graphql.operations_open, lambda: sum(graphql.slots.open.values()))

    def readiness(request: Request) -> dict[str, Check]:
        services: Services = request.app.state.services
        return {
            "database": lambda: database_answers(services.sessions),
            "redis": lambda: redis_answers(services.queue),
            "workers": lambda: workers_alive(services.queue, settings.ready_heartbeat_seconds),
        }

    async def files(request: Request) -> Response:
        key = request.path_params["key"]
        if not key.startswith("public/") and not verify(
            key, request.query_params.get("exp"), request.query_params.get("sig"), secret, time.time()
        ):
            return JSONResponse({"error": "FORBIDDEN", "message": "link is invalid or expired"}, 403)
        storage = request.app.state.services.storage
        if not isinstance(storage, LocalStorage):  # a hosted store serves its own files
            return JSONResponse({"error": "NOT_FOUND"}, 404)
        try:
            path = storage.path_for(key)
        except ValueError:
            return JSONResponse({"error": "NOT_FOUND"}, 404)
        if not path.is_file():
            return JSONResponse({"error": "NOT_FOUND"}, 404)
        return FileResponse(path, media_type=guess_content_type(key))

    return Starlette(
        routes=[
            *page_routes(),
            Route("/healthz", healthz),
            Route("/readyz", readyz(readiness)),
            Route("/metrics", api_metrics_endpoint(gauges, metrics)),
            Route("/files/{key:path}", files),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestId),
            Middleware(BodyLimit, max_bytes=settings.max_request_bytes),
        ],
    )
