"""The commands as a new user or an operator runs them: on a fresh CLIPFORGE_DATA_DIR every command makes
what it needs; when its surroundings fail it exits non-zero with one clear line, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def failure(self) -> str:
        """The one line a failure prints, checked to be the only line that is not a (JSON) log line."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert "Traceback" not in self.stderr, self.stderr
        plain = []
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                plain.append(line)
        assert len(plain) == 1, lines
        return plain[0]


async def clipforge(*args: str, **env: str) -> Ran:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    base.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clipforge",
        *args,
        env=base,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


async def test_migrate_and_create_key_work_on_a_data_dir_that_does_not_exist_yet(tmp_path: Path) -> None:
    data = tmp_path / "brand" / "new" / "var"
    first = await clipforge("migrate", CLIPFORGE_DATA_DIR=str(data))
    assert first.code == 0, first.stderr
    assert (data / "clipforge.db").is_file() and (data / "storage").is_dir() and (data / "work").is_dir()
    again = await clipforge("migrate", CLIPFORGE_DATA_DIR=str(data))
    assert again.code == 0, again.stderr
    other = tmp_path / "another" / "var"
    key = await clipforge("create-key", "--user", "alice", CLIPFORGE_DATA_DIR=str(other))
    assert key.code == 0, key.stderr
    assert key.stdout.strip().startswith("cf_") and (other / "clipforge.db").is_file()


async def test_serving_from_a_database_nobody_migrated_is_one_line_and_status_1(tmp_path: Path) -> None:
    for command in ("api", "worker"):
        ran = await clipforge(
            command, CLIPFORGE_DATA_DIR=str(tmp_path / command), REDIS_URL="redis://127.0.0.1:9"
        )
        assert ran.code == 1
        assert ran.failure == "clipforge: the database has no tables yet: run `clipforge migrate` first"


async def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://clipforge:s3cret-pw@127.0.0.1:{free_port()}/clipforge"
    for command in ("migrate", "api"):
        ran = await clipforge(command, DATABASE_URL=url, CLIPFORGE_DATA_DIR=str(tmp_path))
        assert ran.code == 1
        assert ran.failure.startswith("clipforge: the database cannot be reached: "), ran.failure
        assert "s3cret-pw" not in ran.stderr + ran.stdout


async def test_a_data_dir_that_cannot_be_made_and_a_bad_setting_are_one_line_each(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ran = await clipforge("migrate", CLIPFORGE_DATA_DIR=str(blocker / "var"))
    assert ran.code == 1 and ran.failure.startswith(f"clipforge: cannot create the folder {blocker / 'var'}")
    ran = await clipforge("migrate", CLIPFORGE_DATA_DIR=str(tmp_path), CLIPFORGE_JOB_MAX_TRIES="many")
    assert ran.code == 1 and ran.failure.startswith("clipforge: invalid setting: job_max_tries: ")


async def test_a_worker_whose_probe_port_is_taken_says_so_in_one_line(tmp_path: Path) -> None:
    assert (await clipforge("migrate", CLIPFORGE_DATA_DIR=str(tmp_path))).code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = await clipforge(
            "worker",
            CLIPFORGE_DATA_DIR=str(tmp_path),
            REDIS_URL="redis://127.0.0.1:9",
            CLIPFORGE_WORKER_PORT=str(port),
        )
    assert ran.code == 1
    assert ran.failure.startswith(f"clipforge: the worker cannot listen on 127.0.0.1:{port} for /healthz")


@pytest.mark.slow  # arq tries to connect for ~5 s before it gives up
async def test_a_worker_without_redis_is_one_line(tmp_path: Path) -> None:
    assert (await clipforge("migrate", CLIPFORGE_DATA_DIR=str(tmp_path))).code == 0
    ran = await clipforge(
        "worker", CLIPFORGE_DATA_DIR=str(tmp_path), REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    assert ran.code == 1
    assert ran.failure.startswith("clipforge: Redis cannot be reached: "), ran.failure
    assert ran.failure.endswith("(check REDIS_URL)")
