"""Runway's API as its documentation describes it (docs.dev.runwayml.com, version 2024-11-06), played by the
tests: the requests it accepts (and refuses), the tasks it runs, the files its outputs point at.

One handler serves both ways a test reaches it: an httpx.MockTransport for the clients alone, and a local HTTP
server on 127.0.0.1 for workers that build their own clients (CLIPFORGE_RUNWAY_BASE_URL points at it).

Each new task follows a script of statuses, one per poll (the last one stays): by default
RUNNING → SUCCEEDED; a test queues others, e.g. PENDING → THROTTLED → RUNNING → SUCCEEDED, or a FAILED with
its failureCode. Tasks of an endpoint in `held` stay RUNNING (a worker can be killed while it polls).
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import httpx
import numpy as np
from PIL import Image, ImageDraw

KEY = "key_test_runway"
VERSION = "2024-11-06"
IMAGE_RATIOS = {
    "1920:1080", "1080:1920", "1024:1024", "1360:768", "1080:1080", "1168:880", "1440:1080", "1080:1440",
    "1808:768", "2112:912", "1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720",
}  # fmt: skip
VIDEO_RATIOS = {"1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"}
Status = dict[str, Any]


def succeeded() -> Status:
    return {"status": "SUCCEEDED"}


def failed(code: str, failure: str = "The task failed") -> Status:
    return {"status": "FAILED", "failure": failure, "failureCode": code}


@dataclass
class Task:
    id: str
    endpoint: str
    body: dict[str, Any]
    script: list[Status]
    polls: int = 0


@dataclass
class FakeRunway:
    output_base: str = "http://127.0.0.1"  # where output URLs point (the server sets its own address)
    scripts: dict[str, list[list[Status]]] = field(default_factory=dict)  # per endpoint, for the next tasks
    refuse_posts: list[int] = field(default_factory=list)  # statuses to answer the next POSTs with (429, 503)
    tasks: dict[str, Task] = field(default_factory=dict)
    posts: Counter[str] = field(default_factory=Counter)  # POSTs accepted, per endpoint
    requests: list[httpx.Request] = field(default_factory=list)
    held: set[str] = field(default_factory=set)  # endpoints whose tasks stay RUNNING for now
    lock: threading.Lock = field(default_factory=threading.Lock)
    _media: dict[str, bytes] = field(default_factory=dict)

    def next_tasks(self, endpoint: str, *scripts: list[Status]) -> None:
        self.scripts.setdefault(endpoint, []).extend(scripts)

    # --- the API ---------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            path = request.url.path
            if path.startswith("/outputs/"):
                data = self._media.get(path.removeprefix("/outputs/"))
                if data is None:
                    return httpx.Response(404, text="expired")
                kind = "video/mp4" if path.endswith(".mp4") else "image/png"
                # A stream, not content: the safe fetcher reads the raw body as it arrives.
                headers = {"Content-Type": kind, "Content-Length": str(len(data))}
                return httpx.Response(200, stream=httpx.ByteStream(data), headers=headers)
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return httpx.Response(401, json={"error": "Invalid API key"})
            if request.headers.get("x-runway-version") != VERSION:
                return httpx.Response(400, json={"error": "X-Runway-Version must be 2024-11-06"})
            if request.method == "POST" and path in ("/v1/text_to_image", "/v1/image_to_video"):
                return self._start(path.removeprefix("/v1/"), json.loads(request.content))
            if request.method == "GET" and path.startswith("/v1/tasks/"):
                return self._poll(path.removeprefix("/v1/tasks/"))
            return httpx.Response(404, json={"error": "Not found"})

    def _start(self, endpoint: str, body: dict[str, Any]) -> httpx.Response:
        if self.refuse_posts:
            status = self.refuse_posts.pop(0)
            return httpx.Response(status, json={"error": "Too many requests"}, headers={"Retry-After": "0"})
        problem = _invalid(endpoint, body)
        if problem:
            return httpx.Response(400, json={"error": "Validation of body failed", "issues": [problem]})
        queued = self.scripts.get(endpoint) or []
        script = queued.pop(0) if queued else [{"status": "RUNNING", "progress": 0.5}, succeeded()]
        task = Task(str(uuid.uuid4()), endpoint, body, script)
        self.tasks[task.id] = task
        self.posts[endpoint] += 1
        return httpx.Response(200, json={"id": task.id})

    def _poll(self, task_id: str) -> httpx.Response:
        task = self.tasks.get(task_id)
        if task is None:
            return httpx.Response(404, json={"error": "Task not found"})
        task.polls += 1
        if task.endpoint in self.held:
            return httpx.Response(200, json={"id": task.id, "status": "RUNNING", "progress": 0.4})
        state = dict(task.script[min(task.polls, len(task.script)) - 1])
        answer: dict[str, Any] = {"id": task.id, "createdAt": "2026-12-01T10:00:00.000Z", **state}
        if state["status"] == "SUCCEEDED":
            answer["output"] = [self._output(task)]
        return httpx.Response(200, json=answer)

    def _output(self, task: Task) -> str:
        ratio = task.body["ratio"]
        if task.endpoint == "text_to_image":
            name = f"{task.id}.png"
            self._media.setdefault(name, picture(ratio))
        else:
            name = f"{task.id}.mp4"
            self._media.setdefault(name, clip(ratio, task.body["duration"]))
        # Runway's output URLs are long signed CDN links; the query string stands for the signature.
        return f"{self.output_base}/outputs/{name}?_jwt=eyJhbGciOiJIUzI1NiJ9.fake"

    # --- how tests reach it ----------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def polls_of(self, endpoint: str) -> dict[str, int]:
        return {t.id: t.polls for t in self.tasks.values() if t.endpoint == endpoint}


def _invalid(endpoint: str, body: dict[str, Any]) -> str | None:
    """Why Runway would refuse the body (400), or None: the documented fields, models and values."""
    prompt = body.get("promptText")
    if not isinstance(prompt, str) or not 0 < len(prompt) <= 1000:
        return "promptText must be 1 to 1000 characters"
    if endpoint == "text_to_image":
        if body.get("model") != "gen4_image" or body.get("ratio") not in IMAGE_RATIOS:
            return "model must be gen4_image with one of its ratios"
        for ref in body.get("referenceImages") or []:
            if not str(ref.get("uri", "")).startswith(("https://", "data:image/")) or not ref.get("tag"):
                return "referenceImages need an https or data URI and a tag"
        return None
    if body.get("model") != "gen4_turbo" or body.get("ratio") not in VIDEO_RATIOS:
        return "model must be gen4_turbo with one of its ratios"
    if not str(body.get("promptImage", "")).startswith(("https://", "data:image/")):
        return "promptImage must be an https or data URI"
    if type(body.get("duration")) is not int or not 2 <= body["duration"] <= 10:
        return "duration must be an integer from 2 to 10"
    return None


def picture(ratio: str) -> bytes:
    """A 'generated' picture at the ratio's size: a warm gradient with a dark disc, easy to tell from the
    offline stand-in card."""
    width, height = (int(v) for v in ratio.split(":"))
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    pixels = (np.array([250, 160, 60], np.float32) * (0.5 + 0.5 * ramp)).astype(np.uint8)
    image = Image.fromarray(np.repeat(pixels, height, axis=0))
    r = min(width, height) // 4
    ImageDraw.Draw(image).ellipse(
        [width // 2 - r, height // 2 - r, width // 2 + r, height // 2 + r], fill=(30, 30, 60)
    )
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def clip(ratio: str, seconds: int, fps: int = 8) -> bytes:
    """A 'generated' video at the ratio's size: a white bar sweeping left to right over teal."""
    width, height = (int(v) for v in ratio.split(":"))
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        count = seconds * fps
        for index in range(count):
            pixels = np.empty((height, width, 3), np.uint8)
            pixels[:] = (20, 140, 140)
            x = index * (width - width // 10) // max(count - 1, 1)
            pixels[:, x : x + width // 10] = (250, 250, 250)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


class RunwayServer:
    """The fake on a local HTTP server: what a worker process talks to."""

    def __init__(self, fake: FakeRunway) -> None:
        served = fake

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command, f"http://127.0.0.1{self.path}", headers=dict(self.headers), content=body
                )
                response = served.handle(request)
                response.read()
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        fake.output_base = self.url
        self.fake = fake
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RunwayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
