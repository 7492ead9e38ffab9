"""The GraphQL endpoint: who the caller is, and how much a WebSocket client may hold open.

With auth off every caller is the one local user. With auth on, HTTP requests carry
`Authorization: Bearer <credential>` (else 401), and a graphql-transport-ws client sends the same in its
`connection_init` payload as {"authorization": "Bearer <credential>"} (else the socket closes with 4403). The
credential is an API key or a Supabase access token, as CLIPFORGE_AUTH says (resolvers.auth.Authenticator).
When it cannot be checked because the database or the project's JWKS is unreachable, HTTP answers 503 with a
SERVICE_UNAVAILABLE error and a WebSocket closes with 1013 (try again later).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UnsetType

from clipforge.broadcast import Broadcast
from clipforge.settings import Settings
from clipforge.wiring import LOCAL_USER
from resolvers.auth import KEY_PREFIX, RecentKeys, bearer_key
from resolvers.availability import Unavailable, database_errors
from resolvers.context import Context, Services

TOO_MANY_CONNECTIONS = 4429  # HTTP's 429 in the 4xxx range graphql-transport-ws uses for its own codes
TRY_AGAIN_LATER = (
    1013  # the WebSocket close code for a server that cannot serve right now (RFC 6455 registry)
)
RETRY_AFTER_SECONDS = 5


class TooManyConnections(Exception):
    pass


class ConnectionSlots:
    """Open WebSocket connections per client, counted in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()
        self.holders: dict[int, str] = {}  # id(context) → client, while its connection is open

    def acquire(self, holder: object, client: str) -> bool:
        if self.open[client] >= self.limit:
            return False
        self.open[client] += 1
        self.holders[id(holder)] = client
        return True

    def release(self, holder: object) -> None:
        client = self.holders.pop(id(holder), None)
        if client is not None:
            self.open[client] -= 1
            if not self.open[client]:
                del self.open[client]


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            cast(GraphQLApp, self.view).slots.release(self.context)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)  # calls on_ws_connect
        except TooManyConnections:
            await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason="Too many connections")
        except Unavailable:  # the key could not be checked: the database is unreachable
            await self.websocket.close(code=TRY_AGAIN_LATER, reason="Database unreachable, try again later")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # strawberry refuses these too, but without a code for clients to switch on
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = GraphQLError(
                f"at most {limit} subscriptions may be open on one connection",
                extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
            )
            refusal: ErrorMessage = {"id": message["id"], "type": "error", "payload": [error.formatted]}
            await self.send_message(refusal)
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # The operation's task: progress streams shared with every socket that asked the same (see
        # clipforge.broadcast); everything else as strawberry runs it.
        view = cast(GraphQLApp, self.view)
        key = view.broadcast.key_for(self, operation)
        view.operations_open += 1
        try:
            if key is None:
                await super().run_operation(operation)
            else:
                await view.broadcast.serve(self, operation, key)
        finally:
            view.operations_open -= 1


def unavailable(error: Unavailable) -> Response:
    return JSONResponse(
        {"errors": [{"message": error.message, "extensions": {"code": error.code}}]},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unauthorized() -> Response:
    message = "a valid API key or access token is required: send Authorization: Bearer <credential>"
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = LimitedTransportWSHandler

    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            # The legacy graphql-ws protocol had an auth-bypass bug; modern clients speak this one.
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
        )
        self.auth_required = settings.requires_auth
        self.slots = ConnectionSlots(settings.ws_max_connections_per_client)
        self.operations_open = 0  # subscriptions (and queries sent over a WebSocket) running now
        self.recent_keys = RecentKeys()
        self.broadcast = Broadcast(
            self.encode_json, enabled=settings.ws_shared_execution, max_tokens=settings.graphql_max_tokens
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.auth_required:
            request = Request(scope, receive)
            # The GraphiQL page holds no data; its requests carry the key set in its headers tab.
            if not self.should_render_graphql_ide(self.request_adapter_class(request)):
                auth = cast(Services, request.app.state.services).authenticator
                try:
                    with database_errors():
                        credential = bearer_key(request.headers.get("authorization"), auth.max_length)
                        user_id = await auth.user_for(credential)
                except Unavailable as error:
                    await unavailable(error)(scope, receive, send)
                    return
                if user_id is None:
                    await unauthorized()(scope, receive, send)
                    return
                request.state.user_id = user_id  # scope["state"]: seen by get_context's request too
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        services: Services = request.app.state.services
        # With auth on, a WebSocket has no user until on_ws_connect has checked its key; nothing runs
        # before that (strawberry closes with 4401 on a subscribe before connection_ack).
        user_id = getattr(request.state, "user_id", "") if self.auth_required else LOCAL_USER
        return Context(services=services, user_id=user_id, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        websocket: WebSocket = context.request
        if self.auth_required:
            params = context.connection_params
            sent = (
                params.get("authorization")
                or params.get("Authorization")
                or websocket.headers.get("authorization")
            )
            auth = context.services.authenticator
            with database_errors():
                credential = bearer_key(sent, auth.max_length)
                if credential and credential.startswith(KEY_PREFIX) and auth.mode != "supabase":
                    # API keys of a crowd of sockets: one database read (resolvers.auth.RecentKeys)
                    user_id = await self.recent_keys.user_for(context.services.sessions, credential)
                else:
                    user_id = await auth.user_for(credential)
            if user_id is None:
                raise ConnectionRejectionError()  # closes with 4403
            context.user_id = user_id
            client = f"user:{user_id}"
        else:
            client = f"address:{websocket.client.host if websocket.client else 'unknown'}"
        if not self.slots.acquire(context, client):
            raise TooManyConnections
        return None  # a plain connection_ack
