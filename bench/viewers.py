"""Viewers: one graphql-transport-ws socket each, following one job's progress and recording what arrives
(handled inside the socket's data_received, so thousands fit in one process)."""

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime

from bench.wsclient import WsClient, connect

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
PROGRESS = """subscription($id: ID!) {
  jobProgress(jobId: $id) { seq status stage stageIndex stageCount progress message etaSeconds at } }"""


@dataclass
class Stats:
    connected: int = 0
    completed: int = 0
    refused: list[str] = field(default_factory=list)  # connect failures, errors, unexpected closes
    events: list[int] = field(default_factory=list)  # per viewer that connected
    latencies: list[float] = field(default_factory=list)  # event `at` -> here, seconds
    snapshots: list[float] = field(default_factory=list)  # subscribe -> first message, seconds
    jumps: int = 0  # events a viewer never saw because a newer state replaced them (conflation)
    # (job, seq) -> [first, last] latency of its arrivals: the way to the first socket, then the fan-out
    arrivals: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    wire_bytes: int = 0  # received by every viewer after its handshake
    disorder: int = 0  # seq not strictly increasing, or messages after the terminal event
    last_message_at: float = 0.0


class Viewer:
    """One socket following one job: handles every message inside the protocol's data_received."""

    def __init__(self, stats: Stats, job_id: str) -> None:
        self.stats, self.job_id = stats, job_id
        loop = asyncio.get_running_loop()
        self.acked: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        self.client: WsClient | None = None
        self.subscribed_at = 0.0
        self.events = 0
        self.last_seq = -1
        self.terminal = False

    def on_text(self, text: str) -> None:
        now = time.time()
        message = json.loads(text)
        kind = message.get("type")
        stats = self.stats
        stats.last_message_at = now
        if kind == "next":
            event = ((message.get("payload") or {}).get("data") or {}).get("jobProgress")
            if event is None:
                stats.refused.append(f"next without data: {text[:200]}")
                return
            if self.events == 0:
                stats.snapshots.append(time.monotonic() - self.subscribed_at)
            else:
                latency = now - datetime.fromisoformat(event["at"]).timestamp()
                stats.latencies.append(latency)
                span = stats.arrivals.setdefault((self.job_id, event["seq"]), [latency, latency])
                span[0], span[1] = min(span[0], latency), max(span[1], latency)
                stats.jumps += max(0, event["seq"] - self.last_seq - 1)
            if event["seq"] <= self.last_seq or self.terminal:
                stats.disorder += 1
            self.last_seq = event["seq"]
            self.events += 1
            self.terminal = event["status"] in TERMINAL
        elif kind == "complete":
            if self.terminal:
                stats.completed += 1
            else:
                stats.refused.append("complete before a terminal event")
            self._finish()
        elif kind == "connection_ack":
            if not self.acked.done():
                self.acked.set_result(None)
        elif kind == "ping":
            assert self.client is not None
            self.client.send_text('{"type":"pong"}')
        elif kind == "error":
            stats.refused.append(f"error: {text[:300]}")
            self._finish()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def run(self, port: int, start_at: float, deadline: float, connect_timeout: float,
                  deflate: bool, params: dict[str, str]) -> None:  # fmt: skip
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        try:
            async with asyncio.timeout(connect_timeout):
                self.client = await connect(port, "/graphql", self.on_text, offer_deflate=deflate)
                self.client.send_text(json.dumps({"type": "connection_init", "payload": params}))
                await self.acked
        except (TimeoutError, OSError, Exception) as exc:  # noqa: BLE001 - counted, never fatal
            self.stats.refused.append(f"connect: {type(exc).__name__} {exc}")
            if self.client is not None:
                self.client.abort()
            return
        self.stats.connected += 1
        self.subscribed_at = time.monotonic()
        variables = {"id": self.job_id}
        self.client.send_text(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": PROGRESS, "variables": variables}}
            )
        )
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                await asyncio.wait({self.done, self.client.closed}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            self.stats.refused.append("deadline: the stream did not complete")
        if self.client.closed.done() and not self.done.done():
            self.stats.refused.append(f"closed by the server: {self.client.closed.result()}")
        self.stats.events.append(self.events)
        self.stats.wire_bytes += self.client.bytes_received
        self.client.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
