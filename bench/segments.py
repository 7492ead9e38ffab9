"""Segment benchmark: a W2-like 240 s timeline (60 photos, 4 s each, Ken Burns, 0.5 s crossfades, a looped
stereo soundtrack; 1080x1920 at 30 fps, x264 veryfast crf 23) rendered through real `clipforge api` and
`clipforge worker` processes, twice:

- one piece: 1 worker pinned to core 0 (`taskset -c 0`), segmenting off;
- segments: 2 workers pinned to cores 0 and 1, segmenting on (60 s threshold, ~30 s segments).

    .venv/bin/python bench/segments.py [--seconds 240] [--encoder auto|libx264|h264_nvenc] [--cores 0,1]

Prints the wall time from the mutation to COMPLETED and the CPU time of the workers and their renders for
both (targets: wall <= 0.55x, CPU <= 1.05x), each segment's render time and the join's, the wall time
projected for N machines from those, and how busy the rest of the machine was. Everything runs on 127.0.0.1
(an embedded redis-server, SQLite, local storage) and stops by itself. On a GPU machine,
`--encoder h264_nvenc` measures NVENC the same way.
"""

import argparse
import contextlib
import functools
import heapq
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_of, machine_busy_seconds  # noqa: E402
from bench.up import free_port  # noqa: E402
from bench.workloads import W2, make_photos, make_soundtrack  # noqa: E402
from clipforge.embedded import EmbeddedRedis  # noqa: E402

RENDER = """mutation($input: TimelineInput!) { renderTimeline(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
STATUS = "query($id: ID!) { job(id: $id) { status error { code message } stages { name encoder } } }"
DEADLINE_SECONDS = 1800
ONE_PIECE = {"CLIPFORGE_SEGMENT_AFTER_SECONDS": "0"}
SEGMENTED = {"CLIPFORGE_SEGMENT_AFTER_SECONDS": "60", "CLIPFORGE_SEGMENT_SECONDS": "30"}


@dataclass(frozen=True)
class Job:
    folder: Path  # the photos and the soundtrack
    url: str  # where the media server serves them
    seconds: float
    size: tuple[int, int]


def timeline(job: Job) -> dict[str, Any]:
    """W2 exactly as bench/render.py gives it to clipforge (the slideshow's timeline), its files as URLs."""
    from pydantic import Field

    from media.kinds.slideshow import SlideshowSpec

    class LongSpec(SlideshowSpec):
        images: list[Path] = Field(min_length=1, max_length=100)  # the API's 20 is not the renderer's

    count = max(2, round(job.seconds / W2.seconds_per_image))
    spec = LongSpec(
        images=[job.folder / f"photo-{k % 60:02d}.jpg" for k in range(count)],
        audio=job.folder / "soundtrack.wav",
        width=job.size[0],
        height=job.size[1],
        fps=W2.fps,
        seconds_per_image=W2.seconds_per_image,
        transition_seconds=W2.transition_seconds,
        preset=W2.preset,
        crf=W2.crf,
        audio_fade_seconds=W2.audio_fade_seconds,
    )
    data: dict[str, Any] = json.loads(spec.to_timeline().model_dump_json().replace(str(job.folder), job.url))
    return data


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        return None


@contextlib.contextmanager
def media_server(folder: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@dataclass
class Run:
    name: str
    wall: float
    cpu: float  # the workers and every render they ran
    others_cpu: float  # what the rest of the machine used meanwhile
    encoder: str
    segments: list[tuple[int, float]]  # each segment's frames and render time, in the video's order
    soundtrack: float | None  # the soundtrack's mix and encode, a part of its own
    join: float | None
    fetch_compose: float  # the stages before the render


def measure(name: str, work: Path, job: Job, cores: list[int], env: dict[str, str]) -> Run:
    data = work / name.split(",")[0].replace(" ", "-")
    redis = EmbeddedRedis(data / "redis")
    port = free_port()
    base_env = {
        k: v for k, v in os.environ.items() if "CLIPFORGE" not in k and k not in ("REDIS_URL", "DATABASE_URL")
    }
    base_env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_DATA_DIR=str(data),
        REDIS_URL=redis.start(),
        CLIPFORGE_ALLOW_PRIVATE_URLS="1",  # the photos are served on 127.0.0.1
        CLIPFORGE_RENDER_NICE="0",
        CLIPFORGE_WORKER_CONCURRENCY="1",
        PYTHONPATH=str(ROOT),
        **env,
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "clipforge", "migrate"], env=base_env, check=True, capture_output=True
        )
        with (data / "api.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "clipforge", "api"], env=base_env, stdout=log, stderr=log
                )
            )
        workers = []
        for core in cores:
            with (data / f"worker-{core}.log").open("ab") as log:
                argv = ["taskset", "-c", str(core), sys.executable, "-m", "clipforge", "worker"]
                workers.append(subprocess.Popen(argv, env=base_env, stdout=log, stderr=log))
        processes += workers
        api = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=30) as http:
            _wait_ready(http, api, workers, data)
            time.sleep(3)  # the workers' start-up (imports, migrations check) is not the render's
            ours = [w.pid for w in workers]
            cpu0, busy0 = sum(cpu_of(p, with_children=True) for p in ours), machine_busy_seconds()
            started = time.monotonic()
            body = http.post(
                f"{api}/graphql",
                json={"query": RENDER, "variables": {"input": {"timeline": timeline(job)}}},
            ).json()
            created = body["data"]["renderTimeline"]
            if created["__typename"] != "Job":
                raise SystemExit(f"renderTimeline refused: {created}")
            done = _wait_done(http, api, created["id"])
            wall = time.monotonic() - started
            cpu = sum(cpu_of(p, with_children=True) for p in ours) - cpu0
            others = machine_busy_seconds() - busy0 - cpu
        encoder = next(s["encoder"] for s in done["stages"] if s["name"] == "render") or "?"
        output, before = _render_output(data / "clipforge.db", created["id"])
        segments = [(s["frames"], s["seconds"]) for s in output.get("segments", [])]
        return Run(
            name, wall, cpu, max(0.0, others), encoder, segments, output.get("soundtrack_seconds"),
            output.get("join_seconds"), before,
        )  # fmt: skip
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        redis.stop()


def _wait_ready(http: httpx.Client, api: str, workers: list[subprocess.Popen[bytes]], data: Path) -> None:
    for _ in range(600):
        if any(w.poll() is not None for w in workers):
            raise SystemExit(f"a worker exited; see {data}")
        with contextlib.suppress(httpx.TransportError):
            if http.get(f"{api}/readyz").status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"the API did not become ready in 60 s; see {data}")


def _wait_done(http: httpx.Client, api: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)  # a poll is a few ms of the API's CPU, off the pinned cores' work
        job: dict[str, Any] = http.post(
            f"{api}/graphql", json={"query": STATUS, "variables": {"id": job_id}}
        ).json()["data"]["job"]
        if job["status"] == "COMPLETED":
            return job
        if job["status"] in ("FAILED", "CANCELLED"):
            raise SystemExit(f"the job ended {job['status']}: {job['error']}")
    raise SystemExit(f"the job did not finish within {DEADLINE_SECONDS} s")


def _render_output(db: Path, job_id: str) -> tuple[dict[str, Any], float]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT name, output, started_at, finished_at FROM stages WHERE job_id = ?", (job_id,)
        ).fetchall()
    outputs = {name: (json.loads(out) if out else {}) for name, out, _, _ in rows}
    spans = {name: (start, end) for name, _, start, end in rows}
    from datetime import datetime

    def at(value: str) -> float:
        return datetime.fromisoformat(value).timestamp()

    before = sum(
        at(spans[n][1]) - at(spans[n][0]) for n in ("fetch", "compose") if n in spans and spans[n][1]
    )
    return outputs.get("render", {}), before


def makespan(seconds: list[float], machines: int) -> float:
    """Segments taken in order by whichever of `machines` workers is free first (what arq does)."""
    free = [0.0] * machines
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def report(whole: Run, split: Run) -> None:
    print(f"\n{'run':<28}{'wall s':>9}{'CPU s':>9}{'others CPU s':>14}  encoder")
    for run in (whole, split):
        print(f"{run.name:<28}{run.wall:>9.1f}{run.cpu:>9.1f}{run.others_cpu:>14.1f}  {run.encoder}")
    wall, cpu = split.wall / whole.wall, split.cpu / whole.cpu
    print(f"\nwall ratio  {wall:.3f}x  (target <= 0.55x)  {'met' if wall <= 0.55 else 'NOT met'}")
    print(f"CPU ratio   {cpu:.3f}x  (target <= 1.05x)  {'met' if cpu <= 1.05 else 'NOT met'}")
    if not split.segments:
        return
    print(
        f"\nsegments ({len(split.segments)}): "
        + ", ".join(f"{s:.1f} s ({f})" for f, s in split.segments)
        + " (frames)"
    )
    print(f"soundtrack (mixed and encoded once, beside the segments): {split.soundtrack or 0.0:.1f} s")
    print(f"join (a remux of the segments and the soundtrack): {split.join or 0.0:.2f} s")
    print(f"fetch + compose: {split.fetch_compose:.1f} s")
    # Everything that is not the segments' renders (fetch, compose, queueing, the join, store) stays as
    # measured; the renders spread over N workers.
    # The order they are queued in: the longest segments first, the soundtrack last.
    parts = [s for _, s in sorted(split.segments, key=lambda p: -p[0])] + [split.soundtrack or 0.0]
    rest = split.wall - makespan(parts, 2)
    print("projected wall for N one-core workers (the parts' measured times; the rest as measured):")
    for n in sorted({1, 2, 4, 8, len(parts)}):
        projected = rest + makespan(parts, n)
        print(f"  N={n:<3} {projected:7.1f} s   ({projected / whole.wall:.2f}x of one piece)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=240.0, help="the timeline's length (W2: 240)")
    parser.add_argument("--encoder", default="auto", choices=["auto", "libx264", "h264_nvenc"])
    parser.add_argument("--cores", default="0,1", help="the two cores to pin the workers to")
    parser.add_argument("--size", default=f"{W2.width}x{W2.height}", help="WxH, smaller for a quick look")
    args = parser.parse_args(argv)
    cores = [int(c) for c in args.cores.split(",")][:2]
    width, height = (int(v) for v in args.size.split("x"))
    size = (width, height)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="clipforge-segments-") as tmp:
        work = Path(tmp)
        photos = work / "media"
        make_photos(photos, 60, "photo")
        make_soundtrack(photos / "soundtrack.wav")
        common = {"CLIPFORGE_VIDEO_ENCODER": args.encoder}
        with media_server(photos) as url:
            job = Job(photos, url, args.seconds, size)
            whole = measure("one piece, 1 worker", work, job, cores[:1], {**common, **ONE_PIECE})
            print(f"one piece: {whole.wall:.1f} s wall, {whole.cpu:.1f} CPU-s")
            split = measure("segments, 2 workers", work, job, cores, {**common, **SEGMENTED})
    report(whole, split)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
