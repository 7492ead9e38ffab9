"""The worker's own small HTTP server, on CLIPFORGE_WORKER_PORT: /healthz, /readyz and /metrics.

It runs on the worker's event loop, so /healthz answering also says the loop is not stuck. /readyz is
ready once the worker has started (its dependencies built) and its database and Redis answer. The socket
is bound before anything else starts, so a port in use is one clear line, not a half-started worker.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clipforge.failures import CommandFailed
from clipforge.metrics import exposition
from clipforge.probes import Check, database_answers, healthz, readyz, redis_answers
from jobs.deps import Deps
from jobs.metrics import Metrics


class QuietServer(uvicorn.Server):
    """uvicorn, minus its signal handlers: the worker (arq) owns SIGTERM and SIGINT, and stops this server
    when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CommandFailed(
            f"the worker cannot listen on {host}:{port} for /healthz, /readyz and /metrics: "
            f"{exc.strerror or exc} (choose another CLIPFORGE_WORKER_PORT)"
        ) from exc
    sock.listen(64)
    sock.set_inheritable(False)
    return sock


def worker_app(metrics: Metrics, deps: Callable[[], Deps | None]) -> Starlette:
    async def starting() -> str:
        raise LookupError("the worker is still starting")

    def checks(request: Request) -> dict[str, Check]:
        built = deps()
        if built is None:
            return {"worker": starting}
        return {
            "database": lambda: database_answers(built.sessions),
            "redis": lambda: redis_answers(built.redis),
        }

    async def metrics_endpoint(request: Request) -> Response:
        return exposition(metrics)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz(checks)),
            Route("/metrics", metrics_endpoint),
        ]
    )


def server(app: Starlette) -> QuietServer:
    return QuietServer(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
