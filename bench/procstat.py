"""How much CPU and memory the processes under test use, read from /proc (Linux), and how busy the machine is
with work that is not ours."""

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class Sample:
    at: float
    api: float
    api_rss_mib: float
    ours: float  # the API, the worker and its renders, Redis, and this load generator
    machine: float


def sample(up_pid: int) -> Sample:
    tree = sum(cpu_of(p, with_children=True) for p in descendants(up_pid))
    me = os.times()
    api = cpu_of(up_pid)
    return Sample(
        time.monotonic(), api, rss_mib(up_pid), api + tree + me.user + me.system, machine_busy_seconds()
    )


@contextlib.asynccontextmanager
async def peak_rss(pid: int, every: float = 0.5) -> AsyncIterator[list[float]]:
    """The API's resident memory, sampled while the viewers are there: [peak MiB]."""
    peak = [rss_mib(pid)]

    async def watch() -> None:
        while True:
            peak[0] = max(peak[0], rss_mib(pid))
            await asyncio.sleep(every)

    task = asyncio.create_task(watch())
    try:
        yield peak
    finally:
        task.cancel()


def others_before(seconds: float = 3.0) -> float:
    """How much of the machine other people's work used just before we started, in cores."""
    before, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (time.monotonic() - t0)
