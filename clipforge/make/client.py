"""A GraphQL client of a clipforge server: HTTP (JSON, or the multipart request spec for uploads),
graphql-transport-ws for subscriptions, and downloads of the files it links to."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

REFUSED = 4403  # the server's close code for a key it does not accept


class ServerError(Exception):
    """The server refused or failed a request: `code` as the API names it (README, "Errors")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Unauthenticated(ServerError):
    pass


class ConnectionLost(Exception):
    """The subscription's socket went away before the stream completed (the server restarted, a proxy
    timed out): the caller resumes with afterSeq."""


@dataclass(frozen=True)
class FileUpload:
    path: str  # where in the variables, e.g. "variables.input.images.0"
    file: Path


def first_error(body: Any, fallback: str) -> ServerError:
    errors = body.get("errors") if isinstance(body, dict) else None
    error = errors[0] if errors else {}
    code = (error.get("extensions") or {}).get("code") or fallback
    cls = Unauthenticated if code == "UNAUTHENTICATED" else ServerError
    return cls(code, error.get("message") or fallback)


class Client:
    def __init__(self, server: str, api_key: str | None, http: httpx.AsyncClient) -> None:
        self.server = server.rstrip("/")
        self.api_key = api_key
        self.http = http

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, files: Sequence[FileUpload] = ()
    ) -> dict[str, Any]:
        url = f"{self.server}/graphql"
        try:
            if files:
                with contextlib.ExitStack() as stack:
                    operations = json.dumps({"query": query, "variables": dict(variables or {})})
                    mapping = json.dumps({str(i): [f.path] for i, f in enumerate(files)})
                    parts = {
                        str(i): (f.file.name, stack.enter_context(f.file.open("rb")))
                        for i, f in enumerate(files)
                    }
                    response = await self.http.post(
                        url,
                        data={"operations": operations, "map": mapping},
                        files=parts,
                        headers=self.headers,
                    )
            else:
                payload = {"query": query, "variables": dict(variables or {})}
                response = await self.http.post(url, json=payload, headers=self.headers)
        except httpx.TransportError as err:
            raise ServerError("SERVER_UNREACHABLE", f"cannot reach {self.server}: {err}") from err
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 401:
            raise Unauthenticated(
                "UNAUTHENTICATED",
                "the server needs an API key: set CLIPFORGE_API_KEY (made with `clipforge create-key`)"
                if not self.api_key
                else "the server refused the key in CLIPFORGE_API_KEY (unknown or revoked)",
            )
        if not isinstance(body, dict) or (response.is_error and not body.get("data")):
            raise first_error(body, f"HTTP_{response.status_code}")
        if body.get("errors"):
            raise first_error(body, "GRAPHQL_ERROR")
        data: dict[str, Any] = body["data"]
        return data

    async def subscribe(self, query: str, variables: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The `data` of each `next` message until the server completes the stream."""
        url = self.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/graphql"
        params = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            async with websockets.connect(
                url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")], open_timeout=15
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": params}))
                await self._acknowledged(ws)
                payload = {"query": query, "variables": dict(variables)}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] == "next":
                        if message["payload"].get("errors"):
                            raise first_error(message["payload"], "GRAPHQL_ERROR")
                        yield message["payload"]["data"]
                    elif message["type"] == "error":
                        raise first_error({"errors": message["payload"]}, "GRAPHQL_ERROR")
                    elif message["type"] == "complete":
                        return
        except websockets.ConnectionClosed as err:
            if err.rcvd is not None and err.rcvd.code == REFUSED:
                raise Unauthenticated("UNAUTHENTICATED", "the server refused the API key") from err
            raise ConnectionLost(str(err)) from err
        except (OSError, TimeoutError, websockets.InvalidHandshake) as err:
            raise ConnectionLost(str(err)) from err
        raise ConnectionLost("the server closed the stream before it completed")

    async def _acknowledged(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "connection_ack":
                return
        raise ConnectionLost("closed before connection_ack")

    async def download(self, url: str, dest: Path) -> int:
        """Into `dest` by way of a temporary file beside it, so a broken download leaves no half video."""
        partial = dest.with_name(dest.name + ".part")
        size = 0
        try:
            async with self.http.stream("GET", url) as response:
                if response.is_error:
                    raise ServerError(
                        "DOWNLOAD_FAILED", f"GET {url.split('?')[0]} answered {response.status_code}"
                    )
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes(1 << 20):
                        out.write(chunk)
                        size += len(chunk)
            partial.replace(dest)
        except httpx.TransportError as err:
            raise ServerError("DOWNLOAD_FAILED", f"download interrupted: {err}") from err
        finally:
            partial.unlink(missing_ok=True)
        return size
