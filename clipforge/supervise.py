"""Keeps one worker process alive for `clipforge up`: a worker that dies (killed, out of memory, a crash) is
reported loudly and started again after 1 s, then 2, 4, ... up to CLIPFORGE_WORKER_RESTART_MAX_SECONDS while
it keeps dying; a worker that ran for a minute starts the count again.

Before the new worker starts, the dead one's leases are let go (`on_death`): the supervisor reaped it, so it
knows those jobs are on no worker, and the new worker's first reconciler pass re-drives them at once from
their last finished stage instead of waiting for the leases to lapse.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("clipforge.up")

POLL_SECONDS = 0.2
FIRST_DELAY_SECONDS = 1.0
STABLE_AFTER_SECONDS = 60.0  # a worker that lived this long resets the backoff


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class WorkerSupervisor:
    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        *,
        max_delay_seconds: float = 30.0,
        on_death: Callable[[int], None] | None = None,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.max_delay = max_delay_seconds
        self.on_death = on_death  # called with the dead worker's pid, before the next one starts
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the process is replaced by the watcher, stopped by stop()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Its own session: a Ctrl-C at the terminal reaches `up`, which then stops the worker in order.
        return subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def start(self) -> None:
        with self._lock:
            self.process = self._spawn()
        self._thread.start()

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                process = self.process
            if process is None:
                return
            started = time.monotonic()
            while process.poll() is None:
                if self._stopping.wait(POLL_SECONDS):
                    return
            if self._stopping.is_set():
                return
            lived = time.monotonic() - started
            failures = 1 if lived >= STABLE_AFTER_SECONDS else failures + 1
            delay = min(self.max_delay, FIRST_DELAY_SECONDS * 2 ** (failures - 1))
            log.error(
                "WORKER DIED: the worker process (pid %d) %s after %.0f s; restarting it in %.0f s "
                "(restart %d). Its jobs resume from their last finished stage.",
                process.pid,
                how_it_ended(process.returncode),
                lived,
                delay,
                self.restarts + 1,
            )
            if self.on_death is not None:
                try:
                    self.on_death(process.pid)
                except Exception:  # noqa: BLE001 - the leases then lapse by themselves; still restart
                    log.exception(
                        "could not release the dead worker's jobs; they resume when its leases lapse"
                    )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._spawn()
                self.restarts += 1
            log.warning("worker restarted (pid %d)", self.process.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop watching, then the worker: SIGTERM, and SIGKILL if it has not finished in `timeout`."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
