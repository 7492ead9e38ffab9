"""A webhook receiver on 127.0.0.1 for tests: records every POST (headers and body) and answers with the
statuses it is given, one per request (the last one repeats). `hold` keeps the first request waiting
without an answer until it is set or the receiver closes, to catch a sender in the middle of a POST."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=lambda: [200])
    hold_first: bool = False
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)  # set at the first request
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with lock:
                    number = len(receiver.received)
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                receiver.arrived.set()
                if number == 0 and receiver.hold_first:
                    receiver.release.wait(30)  # bounded: never holds the test for longer
                status = receiver.statuses[min(number, len(receiver.statuses) - 1)]
                answer = b"ok" if status < 400 else b"receiver says no"
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("location", "/redirected")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender went away mid-request (a killed worker)

            def log_message(self, *args: object) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def verified(self, secret: str) -> list[dict[str, object]]:
        """Every body, checked against its Standard Webhooks signature by the reference library
        (which also refuses a timestamp more than 5 minutes off)."""
        hook = Webhook(secret)
        return [hook.verify(r.body, r.headers) for r in self.received]
