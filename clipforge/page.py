"""The web page at `/`: static files shipped in the package (clipforge/web), no build step, no CDN.

It talks to /graphql like any other client (HTTP for queries and uploads, graphql-transport-ws for live
updates), so it needs nothing from the server beyond serving its files.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

WEB = Path(__file__).parent / "web"

# Everything the page loads is its own, so scripts may come from nowhere else: a job's message or error
# that reached the page as markup could not run. Videos, thumbnails and artifacts may live in object
# storage on another origin (Supabase), hence media and images from https: too.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' https: data: blob:; media-src 'self' https: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

HEADER_PAIRS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


async def index(request: Request) -> Response:
    return FileResponse(WEB / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


class PageFiles(StaticFiles):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *HEADER_PAIRS]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def page_routes() -> list[BaseRoute]:
    return [Route("/", index), Mount("/ui", PageFiles(directory=WEB), name="ui")]
