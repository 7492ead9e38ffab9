"""Short benchmark: a 30 s offline short from a one-line idea, end to end, from createShort to COMPLETED.

    .venv/bin/python bench/short.py [--runs 1] [--seconds 30]

Starts `clipforge up` (embedded Redis, SQLite, offline writer, espeak-ng, the offline designer and music
bed) on a free local port, sends createShort, polls the job until it ends, and prints the wall time against
the video's duration (target: at most 0.6x), how long each stage took, and how busy the machine was (load
average before and after, CPU time other processes took meanwhile), so a run on a shared machine can be
read for what it is. Everything runs on 127.0.0.1 and stops by itself.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.explainer import free_port, seconds  # noqa: E402

IDEA = "Why octopuses are smarter than you think"
CREATE = """mutation($input: ShortInput!) { createShort(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
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


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `clipforge up` and everything under it (API, worker, render children: the ones that
    ended are counted in their parent's children times)."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def run_once(base: str, http: httpx.Client, length: float, work: Path, up_pid: int) -> float:
    variables = {"input": {"idea": IDEA, "durationSeconds": length}}
    load_before, cpu_before = os.getloadavg()[0], busy_cpu_seconds()
    ours_before = tree_cpu_seconds(up_pid)
    started = time.perf_counter()
    created = http.post(f"{base}/graphql", json={"query": CREATE, "variables": variables}).json()
    created = created["data"]["createShort"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createShort refused: {created}")
    job = {"status": "QUEUED"}
    while time.perf_counter() - started < DEADLINE_SECONDS:
        job = http.post(f"{base}/graphql", json={"query": STATUS, "variables": {"id": created["id"]}}).json()
        job = job["data"]["job"]
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    cpu_all = busy_cpu_seconds() - cpu_before
    ours = tree_cpu_seconds(up_pid) - ours_before
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
    print(f"  clipforge used {ours:.1f} CPU-s ({ours / duration:.2f} CPU-s per second of video); the whole "
          f"machine {cpu_all:.1f} CPU-s")  # fmt: skip
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
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="clipforge-bench-short-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env.update(HOST="127.0.0.1", PORT=str(port), CLIPFORGE_DATA_DIR=str(Path(tmp) / "var"))
        log = (Path(tmp) / "up.log").open("wb")
        up = subprocess.Popen(
            [sys.executable, "-m", "clipforge", "up"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=30) as http:
                for _ in range(300):
                    try:
                        if http.get(f"{base}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                else:
                    raise SystemExit("clipforge up did not start within 30 s")
                print(f"{args.seconds:g} s offline short from a one-line idea, 1080x1920 30 fps")
                ratios = [run_once(base, http, args.seconds, Path(tmp), up.pid) for _ in range(args.runs)]
                if len(ratios) > 1:
                    print(f"  median ratio {sorted(ratios)[len(ratios) // 2]:.2f}x over {len(ratios)} runs")
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(30)
            log.close()


if __name__ == "__main__":
    main()
