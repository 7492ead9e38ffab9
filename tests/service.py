"""A real clipforge API (uvicorn on 127.0.0.1) plus helpers to talk to it the way clients do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette

from clipforge.app import create_app
from clipforge.settings import Settings
from clipforge.worker import WorkerResources
from jobs import queue
from jobs.worker import create_worker


@dataclass
class Service:
    url: str
    settings: Settings
    http: httpx.AsyncClient
    app: Starlette | None = None  # the ASGI app serving it, for tests that look inside the process

    async def gql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, bytes] | None = None,
    ) -> dict[str, Any]:
        if files:  # GraphQL multipart request spec: operations + map + one part per file
            operations = json.dumps({"query": query, "variables": variables or {}})
            mapping = {str(i): [path] for i, path in enumerate(files)}
            parts = {str(i): (path.rsplit(".", 1)[-1], data) for i, (path, data) in enumerate(files.items())}
            response = await self.http.post(
                f"{self.url}/graphql",
                data={"operations": operations, "map": json.dumps(mapping)},
                files=parts,
            )
        else:
            response = await self.http.post(
                f"{self.url}/graphql", json={"query": query, "variables": variables or {}}
            )
        body: dict[str, Any] = response.json()
        return body

    async def subscribe(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        limit_seconds: float = 60,
        connection_params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """graphql-transport-ws, as graphql-ws (JS) and Apollo speak it. Yields `next` payloads;
        an `error` message is yielded as {"errors": [...]}; returns on `complete`."""
        ws_url = self.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": dict(connection_params or {})}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables or {}},
                    }
                )
            )
            async with asyncio.timeout(limit_seconds):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "next":
                        yield message["payload"]
                    elif message["type"] == "error":
                        yield {"errors": message["payload"]}
                        return
                    elif message["type"] == "complete":
                        return

    async def drain_queue(self) -> None:
        """An arq worker in burst mode: runs what is queued, then returns."""
        resources = WorkerResources(self.settings)
        redis = await queue.connect(str(self.settings.redis_url))
        worker = create_worker(redis, resources.build, resources.close, burst=True, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()


@contextlib.asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[Service]:
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
            ws_per_message_deflate=settings.ws_per_message_deflate,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(timeout=30) as http:
            yield Service(url=settings.base_url, settings=settings, http=http, app=app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


class MediaServer:
    """A plain HTTP server on 127.0.0.1 serving test media from a dict of path -> (bytes, content type)."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        served = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body, content_type = served.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if self.path in served else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
