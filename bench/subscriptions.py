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
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

if __package__ in (None, ""):  # run as a script: `python bench/subscriptions.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.liveserver import (  # noqa: E402
    MAX_VIEWERS,
    Server,
    create_job,
    final_seq,
    make_keys,
    photos,
    source_tree,
    start_server,
    stop_server,
    wait_for_stage,
)
from bench.procstat import Sample, others_before, peak_rss, sample  # noqa: E402
from bench.viewers import Stats, Viewer, percentile  # noqa: E402


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


# --- one row ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    row: Row
    viewers: int
    stats: Stats
    start: Sample
    end: Sample
    events_per_job: int
    peak_rss_mib: float

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
            f" API CPU {self.end.api - self.start.api:.1f} s, API RSS {self.start.api_rss_mib:.0f} ->"
            f" {self.peak_rss_mib:.0f} MiB (peak), {s.wire_bytes / max(1, sum(s.events)):.0f} bytes per event"
            + (f"; API CPU includes {self.viewers} createSlideshow uploads" if self.row.users else "")
        )


HEADER = (
    f"{'row':>12} {'viewers':>7} {'connected':>9} {'completed':>9} {'events/viewer':>18} {'/job':>6} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'snap p50':>8} {'snap p99':>8} {'API CPU':>7} {'µs/event':>8} "
    f"{'wall s':>6} {'others':>7}"
)


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
        offer, limit = args.deflate_offer, args.connect_timeout
        async with peak_rss(server.process.pid) as peak:
            await asyncio.gather(*(
                v.run(server.port, start.at + i * spacing, deadline, limit, offer, {})
                for i, v in enumerate(crowd)
            ))  # fmt: skip
        end = sample(server.process.pid)
        seq = await final_seq(http, server.base, job_id, None)
    return Outcome(row, viewers, stats, start, end, seq, peak[0])


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

        async with peak_rss(server.process.pid) as peak:
            await asyncio.gather(*(follow(i) for i in range(users)))
        end = sample(server.process.pid)
        seqs = [await final_seq(http, server.base, job_id, headers) for job_id, headers in jobs[:5]]
    return Outcome(row, users, stats, start, end, int(statistics.median(seqs)) if seqs else 0, peak[0])


# --- main ---------------------------------------------------------------------------------------------


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
