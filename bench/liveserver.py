"""The server under test: `clipforge up` as `make run` starts it (embedded Redis, SQLite, one API process and
one worker), from this checkout or from any commit, on a free port of 127.0.0.1; and the jobs it renders."""

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.up import free_port

ROOT = Path(__file__).resolve().parent.parent
MAX_VIEWERS = 5000  # a hard bound, whatever the arguments say
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
STATUS = "query($id: ID!) { job(id: $id) { status stage } }"


def source_tree(ref: str, work: Path) -> Path:
    """WORKTREE: this checkout; else the files of that commit, unpacked (to measure before/after)."""
    if ref == "WORKTREE":
        return ROOT
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
    )
    target = work / f"src-{ref}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(src: Path, data_dir: Path, extra_env: dict[str, str], log: Path) -> Server:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and "CLIPFORGE" not in k
    }
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_DATA_DIR=str(data_dir),
        PYTHONPATH=str(src),
        # One address opens every socket here; the per-client cap stays, raised for the benchmark.
        CLIPFORGE_WS_MAX_CONNECTIONS_PER_CLIENT=str(MAX_VIEWERS),
    )
    env.update(extra_env)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clipforge", "up"], cwd=src, env=env, stdout=out, stderr=out
        )
    server = Server(process, port, data_dir)
    with httpx.Client(timeout=5) as http:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"clipforge up exited with {process.returncode}; see {log}")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{server.base}/healthz").status_code == 200:
                    return server
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit(f"clipforge up did not answer within 60 s; see {log}")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


# --- jobs ---------------------------------------------------------------------------------------------


def photos(count: int, width: int, height: int) -> list[bytes]:
    """Smooth colour fields with some texture: JPEGs that decode like photographs, not like flat colour."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for i in range(count):
        base = rng.uniform(40, 215, 3)
        wave = np.sin(x / (37 + 11 * i)) * np.cos(y / (53 + 7 * i)) * 40
        pixels = np.clip(base[None, None, :] + wave[..., None] + rng.normal(0, 6, (height, width, 3)), 0, 255)
        buffer = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


async def create_job(
    http: httpx.AsyncClient, base: str, images: list[bytes], video_seconds: float, *, preview: bool,
    headers: dict[str, str] | None = None,
) -> str:  # fmt: skip
    count = max(2, min(20, round(video_seconds / 4)))
    slots = [None] * count
    variables = {"input": {"images": slots, "secondsPerImage": video_seconds / count, "preview": preview}}
    operations = json.dumps({"query": CREATE, "variables": variables})
    # The photos in turn, each place its own part (uploads are read once each).
    mapping = {str(i): [f"variables.input.images.{i}"] for i in range(count)}
    files = {str(i): (f"{i}.jpg", images[i % len(images)], "image/jpeg") for i in range(count)}
    response = await http.post(
        f"{base}/graphql",
        data={"operations": operations, "map": json.dumps(mapping)},
        files=files,
        headers=headers,
    )
    created = response.json()["data"]["createSlideshow"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createSlideshow refused: {created}")
    return str(created["id"])


async def wait_for_stage(http: httpx.AsyncClient, base: str, job_id: str, stage: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = (await http.post(f"{base}/graphql", json={"query": STATUS, "variables": {"id": job_id}})).json()
        job = job["data"]["job"]
        if job["stage"] == stage or job["status"] in TERMINAL:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"job {job_id} did not reach its {stage} stage within {limit:g} s")


async def final_seq(http: httpx.AsyncClient, base: str, job_id: str, headers: dict[str, str] | None) -> int:
    query = "query($id: ID!) { job(id: $id) { seq status } }"
    body = (
        await http.post(
            f"{base}/graphql", json={"query": query, "variables": {"id": job_id}}, headers=headers
        )
    ).json()
    return int(body["data"]["job"]["seq"])


def make_keys(data_dir: Path, src: Path, users: int) -> list[str]:
    """Users and keys created in the server's database before it starts (as `clipforge create-key` would)."""
    code = (
        "import asyncio, json, sys\n"
        "from clipforge.settings import Settings\nfrom clipforge.wiring import migrate\n"
        "from db.engine import create_engine, session_factory\nfrom resolvers.auth import issue_api_key\n"
        "async def main(n):\n"
        "    s = Settings(); await migrate(s); e = create_engine(s.resolved_database_url)\n"
        "    make = session_factory(e)\n"
        "    keys = [await issue_api_key(make, user_id=f'viewer{i}', name='v') for i in range(n)]\n"
        "    await e.dispose(); print(json.dumps(keys))\n"
        "asyncio.run(main(int(sys.argv[1])))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and "CLIPFORGE" not in k
    }
    env.update(CLIPFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(src))
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", code, str(users)], cwd=src, env=env, capture_output=True, check=True
    )
    keys: list[str] = json.loads(done.stdout)
    return keys
