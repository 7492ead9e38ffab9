"""Short benchmark: a 30 s offline short from a one-line idea, end to end, from createShort to COMPLETED.

    .venv/bin/python bench/short.py [--runs 1] [--seconds 30]

Starts `clipforge up` (embedded Redis, SQLite, offline writer, espeak-ng, the offline designer and music
bed) on a free local port, sends createShort, polls the job until it ends, and prints the wall time against
the video's duration (target: at most 0.6x), how long each stage took, and how busy the machine was (load
average before and after, CPU time other processes took meanwhile), so a run on a shared machine can be
read for what it is. Everything runs on 127.0.0.1 and stops by itself.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import av
import httpx
import psutil
from websockets.sync.client import connect
from websockets.typing import Subprotocol

if __package__ in (None, ""):  # run as a script: `python bench/short.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.up import clipforge_up, seconds  # noqa: E402

IDEA = "Why octopuses are smarter than you think"
CREATE = """mutation($input: ShortInput!) { createShort(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status } }"
STATUS = """query($id: ID!) { job(id: $id) { status videoUrl error { code message }
  stages { name startedAt finishedAt } } }"""
DEADLINE_SECONDS = 600
TARGET = 0.6


def busy_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (user + system + nice), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    ticks = os.sysconf("SC_CLK_TCK")
    user, nice, system = (int(v) for v in fields[:3])
    return (user + nice + system) / ticks


def cpu_by_role(pid: int) -> dict[str, float]:
    """CPU seconds of `clipforge up`'s parts: the API (its own process), the worker with the render
    processes it ran (ended children count in their parent's children times), the embedded Redis."""
    root = psutil.Process(pid)
    roles = {"api": 0.0, "worker and renders": 0.0, "redis": 0.0}
    t = root.cpu_times()
    roles["api"] = t.user + t.system
    for process in root.children(recursive=True):
        try:
            t, line = process.cpu_times(), " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        role = "redis" if "redis" in line else "worker and renders"
        roles[role] += t.user + t.system + t.children_user + t.children_system
    return roles


EXPAND = """mutation($input: ExpandIdeaInput!) { expandIdea(input: $input) {
  __typename ... on IdeaExpansion { title } ... on Problem { code } } }"""


def expand_latency(base: str, http: httpx.Client, calls: int = 30) -> None:
    """expandIdea offline, through HTTP as a frontend calls it: the whole round trip of each call."""
    took = []
    for k in range(calls):
        variables = {"input": {"idea": f"{IDEA} ({k})"}}
        started = time.perf_counter()
        answer = http.post(f"{base}/graphql", json={"query": EXPAND, "variables": variables}).json()
        took.append(time.perf_counter() - started)
        if answer["data"]["expandIdea"]["__typename"] != "IdeaExpansion":
            raise SystemExit(f"expandIdea refused: {answer}")
    took.sort()
    print(f"  expandIdea (offline, HTTP round trip, {calls} calls): median {took[calls // 2] * 1000:.1f} ms, "
          f"slowest {took[-1] * 1000:.1f} ms (target: well under 100 ms)")  # fmt: skip


def wait_for_end(base: str, job_id: str, deadline: float) -> None:
    """Until the job ends, as a frontend waits: subscribed to its progress (graphql-transport-ws), which
    costs the API nothing between events, where polling would take CPU from the render being measured."""
    url = base.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        if json.loads(ws.recv(timeout=10))["type"] != "connection_ack":
            raise SystemExit("the API did not acknowledge the WebSocket connection")
        payload = {"query": PROGRESS, "variables": {"id": job_id}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.perf_counter())))
            if message["type"] != "next":
                return  # complete (the job ended) or error
            if message["payload"]["data"]["jobProgress"]["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                return


def run_once(base: str, http: httpx.Client, length: float, work: Path, up_pid: int) -> float:
    variables = {"input": {"idea": IDEA, "durationSeconds": length}}
    load_before, cpu_before = os.getloadavg()[0], busy_cpu_seconds()
    ours_before = cpu_by_role(up_pid)
    started = time.perf_counter()
    created = http.post(f"{base}/graphql", json={"query": CREATE, "variables": variables}).json()
    created = created["data"]["createShort"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createShort refused: {created}")
    wait_for_end(base, created["id"], started + DEADLINE_SECONDS)
    wall = time.perf_counter() - started
    job = http.post(f"{base}/graphql", json={"query": STATUS, "variables": {"id": created["id"]}}).json()
    job = job["data"]["job"]
    cpu_all = busy_cpu_seconds() - cpu_before
    roles = {role: cpu - ours_before[role] for role, cpu in cpu_by_role(up_pid).items()}
    ours = sum(roles.values())
    if job["status"] != "COMPLETED":
        raise SystemExit(f"the job ended {job['status']}: {job.get('error')}")
    video = work / "short.mp4"
    video.write_bytes(http.get(job["videoUrl"]).content)
    with av.open(str(video)) as container:
        duration = float(container.duration or 0) / 1e6
    ratio = wall / duration
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"  mutation -> COMPLETED {wall:6.1f} s   video {duration:6.1f} s   ratio {ratio:5.2f}x"
          f"   (target <= {TARGET}x: {verdict})")  # fmt: skip
    for stage in job["stages"]:
        print(f"    {stage['name']:<10} {seconds(stage['startedAt'], stage['finishedAt']):6.2f} s")
    cores = os.cpu_count() or 1
    load_after = os.getloadavg()[0]
    split = ", ".join(f"{role} {cpu:.1f}" for role, cpu in roles.items())
    print(f"  clipforge used {ours:.1f} CPU-s ({split}); the whole machine {cpu_all:.1f} CPU-s")
    others = max(0.0, cpu_all - ours)
    print(f"  machine: load average {load_before:.1f} before, {load_after:.1f} after, on {cores} cores; "
          f"others took {others:.1f} CPU-s of the {cores * wall:.1f} there were")  # fmt: skip
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=30.0, help="the short's length (15-90)")
    args = parser.parse_args()
    with clipforge_up("clipforge-bench-short-") as up:
        print(f"{args.seconds:g} s offline short from a one-line idea, 1080x1920 30 fps")
        expand_latency(up.base, up.http)
        ratios = [run_once(up.base, up.http, args.seconds, up.work, up.pid) for _ in range(args.runs)]
        if len(ratios) > 1:
            print(f"  median ratio {sorted(ratios)[len(ratios) // 2]:.2f}x over {len(ratios)} runs")


if __name__ == "__main__":
    main()
