"""A bare graphql-transport-ws client for tests that must see every message and how a socket closes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


class GqlWs:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def init(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send connection_init; the server's answer (connection_ack), or {} if it closed instead."""
        await self.ws.send(json.dumps({"type": "connection_init", "payload": dict(params or {})}))
        try:
            return await self.recv()
        except websockets.ConnectionClosed:
            return {}

    async def subscribe(self, op_id: str, query: str, variables: Mapping[str, Any] | None = None) -> None:
        payload = {"query": query, "variables": dict(variables or {})}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def complete(self, op_id: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))

    async def recv(self, within: float = 10) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        return message

    async def closed(self, within: float = 10) -> tuple[int | None, str | None]:
        """Wait for the server to close the socket; its close code and reason."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(within):
                while True:
                    await self.ws.recv()
        return self.ws.close_code, self.ws.close_reason


@contextlib.asynccontextmanager
async def connect(base_url: str) -> AsyncIterator[GqlWs]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
        yield GqlWs(ws)
