"""Run one command as a child process and measure it: wall time, CPU time and peak memory.

CPU and peak RSS come from `wait4`, which reports that child alone (plus any of its own children it waited
for), so runs that alternate in one benchmark process do not pollute each other's numbers. Peak RSS from the
kernel is the largest single process; a tool that pipes frames to a helper process (MoviePy -> ffmpeg) holds
memory in both, so the process tree is also sampled and the sum's peak is kept when it is larger.
"""

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

_SAMPLE_SECONDS = 0.1
MIB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float  # user + sys of the child and the children it waited for
    peak_rss_mib: float  # max(largest single process, sampled sum over the process tree)
    maxrss_mib: float  # the kernel's figure: the largest single process of the tree
    tree_rss_mib: float  # peak of the sampled sum over the process tree
    returncode: int
    load_before: float  # 1-minute load average when the run started: how busy the machine was


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak = 0

    def run(self) -> None:
        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # it may have just exited
                        total += proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self._stop_event.wait(_SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(argv: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run `argv` to completion with stdout and stderr going to `log`."""
    load_before = os.getloadavg()[0]
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            sampler.stop()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        sampler.stop()
    maxrss = usage.ru_maxrss * 1024 / MIB  # Linux reports KiB
    tree = sampler.peak / MIB
    return Measurement(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=max(maxrss, tree),
        maxrss_mib=maxrss,
        tree_rss_mib=tree,
        returncode=proc.returncode,
        load_before=load_before,
    )


def log_tail(log: Path, limit: int = 2000) -> str:
    data = log.read_bytes()[-limit:]
    return data.decode("utf-8", errors="replace")
