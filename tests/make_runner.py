"""`clipforge make` run for real: a child process, as a user's shell would start it."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.factory import COLOURS, jpeg, wav


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def make_env(server: str, api_key: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLIPFORGE_API_KEY"}
    env.update(CLIPFORGE_SERVER=server, COLUMNS="120")
    if api_key is not None:
        env["CLIPFORGE_API_KEY"] = api_key
    return env


async def start_make(
    server: str, *args: str, cwd: Path, api_key: str | None = None, stdin: int | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clipforge", "make", *args,
        cwd=cwd, env=make_env(server, api_key), stdin=stdin,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_make(
    server: str, *args: str, cwd: Path, api_key: str | None = None, within: float = 90
) -> Result:
    proc = await start_make(server, *args, cwd=cwd, api_key=api_key, stdin=asyncio.subprocess.DEVNULL)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


def media_files(folder: Path, images: int = 2, audio_seconds: float = 5) -> list[str]:
    names = []
    for i in range(images):
        (folder / f"photo-{i}.jpg").write_bytes(jpeg(COLOURS[i % len(COLOURS)]))
        names.append(f"photo-{i}.jpg")
    (folder / "song.wav").write_bytes(wav(audio_seconds))
    return names
