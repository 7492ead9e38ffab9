"""The ASGI app: GraphQL (HTTP + graphql-transport-ws) at /graphql, stored files at /files."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from clipforge.settings import Settings
from clipforge.wiring import LOCAL_USER, open_services
from media.storage_local import LocalStorage, guess_content_type, verify
from resolvers.context import Context, Services
from schema import build_schema


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        services: Services = request.app.state.services
        return Context(services=services, user_id=LOCAL_USER, request=request, response=response)


def create_app(settings: Settings) -> Starlette:
    secret = settings.secret_bytes()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await open_services(settings, stack)
            yield

    graphql = GraphQLApp(
        build_schema(max_depth=settings.graphql_max_depth),
        graphql_ide="graphiql" if settings.graphiql else None,
        # The legacy graphql-ws protocol had an auth-bypass bug; modern clients speak this one.
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        multipart_uploads_enabled=True,
        connection_init_wait_timeout=timedelta(seconds=10),
    )

    async def files(request: Request) -> Response:
        key = request.path_params["key"]
        if not key.startswith("public/") and not verify(
            key, request.query_params.get("exp"), request.query_params.get("sig"), secret, time.time()
        ):
            return JSONResponse({"error": "FORBIDDEN", "message": "link is invalid or expired"}, 403)
        storage: LocalStorage = request.app.state.services.storage
        try:
            path = storage.path_for(key)
        except ValueError:
            return JSONResponse({"error": "NOT_FOUND"}, 404)
        if not path.is_file():
            return JSONResponse({"error": "NOT_FOUND"}, 404)
        return FileResponse(path, media_type=guess_content_type(key))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", health),
            Route("/files/{key:path}", files),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
