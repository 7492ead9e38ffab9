"""A local HTTP server on 127.0.0.1 speaking the two OpenAI endpoints shorts use, in their documented shapes:
Chat Completions with Structured Outputs (POST /v1/chat/completions) and image generation
(POST /v1/images/generations). Workers and the API reach it through CLIPFORGE_OPENAI_BASE_URL, so the real
clients, retries and metering run; the test says what the model answers and sees every request."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

# What the model writes for a schema name ("video_plan", "storyboard"): a JSON-able answer, or a callable of
# the request body returning one.
Writer = object | Callable[[dict[str, Any]], object]


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (1024, 1536)) -> bytes:
    """A PNG of one colour with a few bars, like a generated image would be (not flat)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 128):
        draw.rectangle([x, 0, x + 30, size[1]], fill=tuple(max(0, c - 40) for c in colour))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def chat_answer(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 400, "completion_tokens": 150, "total_tokens": 550},
    }


@dataclass
class FakeOpenAI:
    writers: dict[str, Writer] = field(default_factory=dict)
    image_colour: tuple[int, int, int] = (30, 160, 200)
    image_status: int = 200  # anything else: the documented error body with this status
    delay_seconds: float = 0.0  # before each chat answer (a slow model)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with lock:
                    fake.requests.append((self.path, body))
                if self.headers.get("Authorization") != "Bearer sk-test":
                    return self.reply(
                        401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}
                    )
                if self.path == "/v1/chat/completions":
                    time.sleep(fake.delay_seconds)
                    name = body["response_format"]["json_schema"]["name"]
                    writer = fake.writers[name]
                    answer = writer(body) if callable(writer) else writer
                    return self.reply(
                        200, chat_answer(answer if isinstance(answer, str) else json.dumps(answer))
                    )
                if self.path == "/v1/images/generations":
                    if fake.image_status != 200:
                        error = {
                            "message": "Your request was rejected by the safety system.",
                            "type": "image_generation_user_error",
                            "param": None,
                            "code": "moderation_blocked",
                        }
                        return self.reply(fake.image_status, {"error": error})
                    data = base64.b64encode(picture(fake.image_colour)).decode()
                    usage = {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50}
                    return self.reply(
                        200, {"created": 1713833628, "data": [{"b64_json": data}], "usage": usage}
                    )
                return self.reply(404, {"error": {"message": "not found"}})

            def reply(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.requests if p == f"/v1/{path}"]
