"""Live-progress load benchmark: thousands of graphql-transport-ws viewers of rendering jobs, against the same
`clipforge up` that `make run` starts (embedded Redis, SQLite, one API process, one worker rendering on this
box), from a load generator in this process.

    .venv/bin/python bench/subscriptions.py                     # the issue's table
    .venv/bin/python bench/subscriptions.py --rows 500 --scale 0.2   # smaller, while developing
    .venv/bin/python bench/subscriptions.py --ref 931e7cd --ref WORKTREE   # before/after in one run
    .venv/bin/python bench/subscriptions.py --deflate both      # per-message deflate on and off

Rows (each with its own job(s) rendering while the viewers watch):
  500          500 viewers of one job, subscribing within 2 s
  2000         2,000 viewers of one job, subscribing within 8 s
  2000-spread  2,000 viewers subscribing over 20 s to one job of a 240 s video
  200-users    200 users (auth on, a key each), each creating and following its own job; the worker renders
               two at a time, so most jobs wait queued first

For each row it prints how many viewers connected (handshake + connection_ack within --connect-timeout) and
completed (terminal event, then `complete`), events per viewer, event latency (the event's server `at` to its
arrival here; the first message of each viewer is its snapshot and is timed from its subscribe instead), and
the API process's CPU per delivered event. It also prints how busy the machine was with work not ours. Every
socket goes to 127.0.0.1; counts, connect times and each row's duration are bounded.
"""

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wsclient import WsClient, connect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MAX_VIEWERS = 5000  # a hard bound, whatever the arguments say
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
PROGRESS = """subscription($id: ID!) {
  jobProgress(jobId: $id) { seq status stage stageIndex stageCount progress message etaSeconds at } }"""
CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
STATUS = "query($id: ID!) { job(id: $id) { status stage } }"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    name: str
    viewers: int
    ramp_seconds: float
    video_seconds: float
    users: bool = False  # one user, key, job and viewer each


ROWS = {
    "500": Row("500", 500, 2.0, 40.0),
    "2000": Row("2000", 2000, 8.0, 60.0),
    "2000-spread": Row("2000-spread", 2000, 20.0, 240.0),
    "200-users": Row("200-users", 200, 20.0, 2.0, users=True),
}


# --- measuring processes ------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_of(pid: int, *, with_children: bool = False) -> float:
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # reaped children: finished renders
    return ticks / CLK_TCK


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class Sample:
    at: float
    api: float
    ours: float  # the API, the worker and its renders, Redis, and this load generator
    machine: float


def sample(up_pid: int) -> Sample:
    tree = sum(cpu_of(p, with_children=True) for p in descendants(up_pid))
    me = os.times()
    return Sample(
        time.monotonic(), cpu_of(up_pid), cpu_of(up_pid) + tree + me.user + me.system, machine_busy_seconds()
    )


# --- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def source_tree(ref: str, work: Path) -> Path:
    """WORKTREE: this checkout; else the files of that commit, unpacked (to measure before/after)."""
    if ref == "WORKTREE":
        return ROOT
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
    )
    target = work / f"src-{ref}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(src: Path, data_dir: Path, extra_env: dict[str, str], log: Path) -> Server:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and "CLIPFORGE" not in k
    }
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_DATA_DIR=str(data_dir),
        PYTHONPATH=str(src),
        # One address opens every socket here; the per-client cap stays, raised for the benchmark.
        CLIPFORGE_WS_MAX_CONNECTIONS_PER_CLIENT=str(MAX_VIEWERS),
    )
    env.update(extra_env)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clipforge", "up"], cwd=src, env=env, stdout=out, stderr=out
        )
    server = Server(process, port, data_dir)
    with httpx.Client(timeout=5) as http:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"clipforge up exited with {process.returncode}; see {log}")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{server.base}/healthz").status_code == 200:
                    return server
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit(f"clipforge up did not answer within 60 s; see {log}")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


# --- jobs ---------------------------------------------------------------------------------------------


def photos(count: int, width: int, height: int) -> list[bytes]:
    """Smooth colour fields with some texture: JPEGs that decode like photographs, not like flat colour."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for i in range(count):
        base = rng.uniform(40, 215, 3)
        wave = np.sin(x / (37 + 11 * i)) * np.cos(y / (53 + 7 * i)) * 40
        pixels = np.clip(base[None, None, :] + wave[..., None] + rng.normal(0, 6, (height, width, 3)), 0, 255)
        buffer = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


async def create_job(
    http: httpx.AsyncClient, base: str, images: list[bytes], video_seconds: float, *, preview: bool,
    headers: dict[str, str] | None = None,
) -> str:  # fmt: skip
    count = max(2, min(20, round(video_seconds / 4)))
    slots = [None] * count
    variables = {"input": {"images": slots, "secondsPerImage": video_seconds / count, "preview": preview}}
    operations = json.dumps({"query": CREATE, "variables": variables})
    # The photos in turn, each place its own part (uploads are read once each).
    mapping = {str(i): [f"variables.input.images.{i}"] for i in range(count)}
    files = {str(i): (f"{i}.jpg", images[i % len(images)], "image/jpeg") for i in range(count)}
    response = await http.post(
        f"{base}/graphql",
        data={"operations": operations, "map": json.dumps(mapping)},
        files=files,
        headers=headers,
    )
    created = response.json()["data"]["createSlideshow"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createSlideshow refused: {created}")
    return str(created["id"])


async def wait_for_stage(http: httpx.AsyncClient, base: str, job_id: str, stage: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = (await http.post(f"{base}/graphql", json={"query": STATUS, "variables": {"id": job_id}})).json()
        job = job["data"]["job"]
        if job["stage"] == stage or job["status"] in TERMINAL:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"job {job_id} did not reach its {stage} stage within {limit:g} s")


# --- viewers ------------------------------------------------------------------------------------------


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
        self.client.close()


# --- one row ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Outcome:
    row: Row
    viewers: int
    stats: Stats
    start: Sample
    end: Sample
    events_per_job: int

    def line(self) -> str:
        s, wall = self.stats, self.end.at - self.start.at
        delivered = sum(s.events)
        api = self.end.api - self.start.api
        others = max(0.0, (self.end.machine - self.start.machine) - (self.end.ours - self.start.ours))
        ev = sorted(s.events) or [0]
        return (
            f"{self.row.name:>12} {self.viewers:>7} {s.connected:>9} {s.completed:>9} "
            f"{statistics.median(ev):>7.0f} ({ev[0]}-{ev[-1]}) {self.events_per_job:>6} "
            f"{percentile(s.latencies, 0.5) * 1e3:>8.0f} {percentile(s.latencies, 0.99) * 1e3:>8.0f} "
            f"{percentile(s.snapshots, 0.5) * 1e3:>8.0f} {percentile(s.snapshots, 0.99) * 1e3:>8.0f} "
            f"{100 * api / wall:>6.0f}% {api / max(1, delivered) * 1e6:>8.1f} {wall:>6.0f} "
            f"{100 * others / wall:>6.0f}%"
        )

    def detail(self) -> str:
        """Where the latency is: the way to the first socket (worker commit, Redis, the API's execution),
        then the fan-out to the last one; and how much conflation skipped."""
        s = self.stats
        first = [span[0] for span in s.arrivals.values()]
        spread = [span[1] - span[0] for span in s.arrivals.values()]

        def ms(values: list[float]) -> str:
            return f"{percentile(values, 0.5) * 1e3:.0f}/{percentile(values, 0.99) * 1e3:.0f} ms"

        return (
            f"{'':>12} first socket p50/p99 {ms(first)}, fan-out to the last p50/p99 {ms(spread)},"
            f" states skipped {s.jumps / max(1, s.connected):.1f} per viewer,"
            f" API CPU {self.end.api - self.start.api:.1f} s"
        )


HEADER = (
    f"{'row':>12} {'viewers':>7} {'connected':>9} {'completed':>9} {'events/viewer':>18} {'/job':>6} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'snap p50':>8} {'snap p99':>8} {'API CPU':>7} {'µs/event':>8} "
    f"{'wall s':>6} {'others':>7}"
)


async def final_seq(http: httpx.AsyncClient, base: str, job_id: str, headers: dict[str, str] | None) -> int:
    query = "query($id: ID!) { job(id: $id) { seq status } }"
    body = (
        await http.post(
            f"{base}/graphql", json={"query": query, "variables": {"id": job_id}}, headers=headers
        )
    ).json()
    return int(body["data"]["job"]["seq"])


async def run_viewers_of_one_job(server: Server, row: Row, viewers: int, args: argparse.Namespace) -> Outcome:
    images = photos(6, 1440, 2560)
    stats = Stats()
    async with httpx.AsyncClient(timeout=60) as http:
        job_id = await create_job(http, server.base, images, row.video_seconds, preview=False)
        await wait_for_stage(http, server.base, job_id, "render", 120)
        deadline = time.monotonic() + row.ramp_seconds + 4 * row.video_seconds + 120
        start = sample(server.process.pid)
        crowd = [Viewer(stats, job_id) for _ in range(viewers)]
        spacing = row.ramp_seconds / viewers
        await asyncio.gather(*(
            v.run(server.port, start.at + i * spacing, deadline, args.connect_timeout, args.deflate_offer, {})
            for i, v in enumerate(crowd)
        ))  # fmt: skip
        end = sample(server.process.pid)
        seq = await final_seq(http, server.base, job_id, None)
    return Outcome(row, viewers, stats, start, end, seq)


async def run_users(
    server: Server, row: Row, users: int, keys: list[str], args: argparse.Namespace
) -> Outcome:
    images = photos(2, 720, 1280)
    stats = Stats()
    jobs: list[tuple[str, dict[str, str]]] = []
    async with httpx.AsyncClient(timeout=60) as http:
        deadline = time.monotonic() + row.ramp_seconds + users * (row.video_seconds + 3) + 180
        start = sample(server.process.pid)

        async def follow(i: int) -> None:
            await asyncio.sleep(i * row.ramp_seconds / users)
            headers = {"Authorization": f"Bearer {keys[i]}"}
            job_id = await create_job(
                http, server.base, images, row.video_seconds, preview=True, headers=headers
            )
            jobs.append((job_id, headers))
            viewer = Viewer(stats, job_id)
            await viewer.run(server.port, 0, deadline, args.connect_timeout, args.deflate_offer,
                             {"authorization": headers["Authorization"]})  # fmt: skip

        await asyncio.gather(*(follow(i) for i in range(users)))
        end = sample(server.process.pid)
        seqs = [await final_seq(http, server.base, job_id, headers) for job_id, headers in jobs[:5]]
    return Outcome(row, users, stats, start, end, int(statistics.median(seqs)) if seqs else 0)


def make_keys(data_dir: Path, src: Path, users: int) -> list[str]:
    """Users and keys created in the server's database before it starts (as `clipforge create-key` would)."""
    code = (
        "import asyncio, json, sys\n"
        "from clipforge.settings import Settings\nfrom clipforge.wiring import migrate\n"
        "from db.engine import create_engine, session_factory\nfrom resolvers.auth import issue_api_key\n"
        "async def main(n):\n"
        "    s = Settings(); await migrate(s); e = create_engine(s.resolved_database_url)\n"
        "    make = session_factory(e)\n"
        "    keys = [await issue_api_key(make, user_id=f'viewer{i}', name='v') for i in range(n)]\n"
        "    await e.dispose(); print(json.dumps(keys))\n"
        "asyncio.run(main(int(sys.argv[1])))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and "CLIPFORGE" not in k
    }
    env.update(CLIPFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(src))
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", code, str(users)], cwd=src, env=env, capture_output=True, check=True
    )
    keys: list[str] = json.loads(done.stdout)
    return keys


# --- main ---------------------------------------------------------------------------------------------


def others_before(seconds: float = 3.0) -> float:
    """How much of the machine other people's work used just before we started, in cores."""
    before, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (time.monotonic() - t0)


async def run_config(ref: str, deflate: str | None, args: argparse.Namespace, work: Path) -> list[Outcome]:
    src = source_tree(ref, work)
    env = (
        {}
        if deflate is None
        else {"CLIPFORGE_WS_PER_MESSAGE_DEFLATE": "true" if deflate == "on" else "false"}
    )
    env.update(dict(kv.split("=", 1) for kv in args.env))
    outcomes = []
    rows = [ROWS[name] for name in args.rows]
    label = f"{ref}, deflate {deflate or 'default'}"
    for row in rows:
        count = max(1, min(MAX_VIEWERS, round(row.viewers * args.scale)))
        if args.video_seconds and not row.users:
            row = Row(row.name, row.viewers, row.ramp_seconds, args.video_seconds)
        data_dir = work / f"var-{ref}-{deflate}-{row.name}"
        log = work / f"up-{ref}-{deflate}-{row.name}.log"
        row_env = dict(env)
        keys: list[str] = []
        if row.users:
            keys = make_keys(data_dir, src, count)
            row_env["CLIPFORGE_AUTH_REQUIRED"] = "true"
        server = start_server(src, data_dir, row_env, log)
        try:
            if row.users:
                outcome = await run_users(server, row, count, keys, args)
            else:
                outcome = await run_viewers_of_one_job(server, row, count, args)
        finally:
            stop_server(server)
        outcomes.append(outcome)
        print(f"{outcome.line()}   [{label}]", flush=True)
        print(outcome.detail(), flush=True)
        refused = outcome.stats.refused
        if refused or outcome.stats.disorder:
            kinds: dict[str, int] = {}
            for reason in refused:
                kinds[reason[:90]] = kinds.get(reason[:90], 0) + 1
            shown = dict(sorted(kinds.items())[:6])
            print(f"{'':>12} out of order: {outcome.stats.disorder}; problems: {shown}")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="500,2000,2000-spread,200-users", type=lambda v: v.split(","))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every row's viewer count")
    parser.add_argument("--video-seconds", type=float, help="override the video length of the one-job rows")
    parser.add_argument(
        "--ref", action="append", help="git ref to run the server from, or WORKTREE (default)"
    )
    parser.add_argument("--deflate", choices=["default", "on", "off", "both"], default="default",
                        help="server per-message deflate (viewers offer it, like browsers)")  # fmt: skip
    parser.add_argument("--no-offer-deflate", dest="deflate_offer", action="store_false",
                        help="viewers do not offer permessage-deflate")  # fmt: skip
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    args = parser.parse_args()
    if unknown := set(args.rows) - set(ROWS):
        parser.error(f"unknown rows {sorted(unknown)}; choose from {sorted(ROWS)}")
    refs = args.ref or ["WORKTREE"]
    deflates = {"default": [None], "on": ["on"], "off": ["off"], "both": ["on", "off"]}[args.deflate]
    with contextlib.suppress(ImportError):
        import uvloop  # the load generator's own loop: it must not be the bottleneck

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; "
          f"others used {others_before():.2f} cores just before the start", flush=True)  # fmt: skip
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="clipforge-bench-subs-") as tmp:
        for ref in refs:
            for deflate in deflates:
                asyncio.run(run_config(ref, deflate, args, Path(tmp)))


if __name__ == "__main__":
    main()
