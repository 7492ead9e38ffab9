"""`clipforge make` end to end: the real command against a real API and a real worker process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import av
import httpx
import pytest

from clipforge.settings import Settings
from tests.make_runner import media_files, run_make, start_make
from tests.service import MediaServer, Service
from tests.workers import worker_processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

JOB = """query($id: ID!) { job(id: $id) { status progress error { code message }
  artifacts { kind stage } } }"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # `make` is a client of the API: the API's own tests cover both databases.
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def size_of(path: str) -> int:
    return Path(path).stat().st_size


def videos_in(folder: Path) -> list[Path]:
    return [*folder.glob("*.mp4"), *folder.glob("*.part")]


async def test_make_slideshow_uploads_local_files_shows_a_bar_and_downloads_the_video(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    images = media_files(tmp_path, images=2, audio_seconds=6)
    async with worker_processes(settings, 1, tmp_path):
        result = await run_make(
            service.url, "slideshow", *images, "--audio", "song.wav", "-o", "out.mp4",
            "--size", "1080x1080", "--seconds-per-image", "2", "--progress", "bar", cwd=tmp_path,
        )  # fmt: skip
    assert result.code == 0, result.stderr
    out = tmp_path / "out.mp4"
    assert result.stdout.strip() == str(out)  # the one line on stdout: where the video is
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1080, 1080)
        assert abs((container.duration or 0) / 1e6 - 4.0) < 0.15  # 2 images x 2 s
        assert container.streams.audio[0].codec_context.name == "aac"
        first = next(container.decode(video))
        red, green, blue = first.to_ndarray(format="rgb24")[540, 540]
        assert red > 150 and green < 100 and blue < 100  # the first photo is red (tests/factory.py)
    # a rich bar drawn in place: stage with its position, percent, the server's ETA, the status
    assert "\r" in result.stderr and "render 3/5" in result.stderr
    assert "100%" in result.stderr and "ETA 0:" in result.stderr and "COMPLETED" in result.stderr
    job_id = result.stderr.split("job ", 1)[1].split()[0]
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    assert sorted(a["kind"] for a in job["artifacts"] if a["stage"] == "fetch") == ["input"] * 3


async def test_make_explainer_reads_its_text_from_a_file_and_prints_json(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Purring\n\nCats purr when they are content. Quicksort picks a pivot.\n")
    async with worker_processes(settings, 1, tmp_path):
        result = await run_make(
            service.url, "explainer", "notes.md", "--json", "--preview", "--size", "1080x1080", cwd=tmp_path
        )
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["exitCode"] == 0 and answer["job"]["status"] == "COMPLETED"
    assert answer["job"]["error"] is None and answer["job"]["costUsd"] == 0
    assert answer["bytes"] == size_of(answer["output"]) > 0
    script = next(a for a in answer["job"]["artifacts"] if a["kind"] == "script")
    async with httpx.AsyncClient() as http:
        text = (await http.get(script["url"])).text
    assert "Cats purr when they are content" in text  # the file's text, not its name


async def test_a_job_that_fails_exits_1_with_its_error_code(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    with MediaServer({}) as media:
        async with worker_processes(settings, 1, tmp_path):
            result = await run_make(
                service.url, "slideshow", f"{media.url}/missing.jpg", "--json", cwd=tmp_path
            )
            plain = await run_make(service.url, "slideshow", f"{media.url}/gone.jpg", cwd=tmp_path)
    assert result.code == 1, result.stderr
    answer = json.loads(result.stdout)
    assert answer["job"]["status"] == "FAILED" and answer["job"]["error"]["code"] == "FETCH_FAILED"
    assert "output" not in answer
    assert plain.code == 1 and "FETCH_FAILED" in plain.stderr and plain.stdout == ""


async def read_until(stream: asyncio.StreamReader, wanted: str, within: float) -> str:
    """What the stream said up to and including `wanted` (a prompt has no newline to read lines by)."""
    seen = ""
    deadline = time.monotonic() + within
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{wanted!r} not seen in {within} s; got {seen[-2000:]!r}")
        chunk = await asyncio.wait_for(stream.read(4096), left)
        if not chunk:
            raise AssertionError(f"stream ended before {wanted!r}; got {seen[-2000:]!r}")
        seen += chunk.decode()
    return seen


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_ctrl_c_asks_whether_to_cancel_the_job(
    service: Service, settings: Settings, tmp_path: Path, answer: str
) -> None:
    images = media_files(tmp_path, images=4, audio_seconds=3)
    async with worker_processes(settings, 1, tmp_path):
        proc = await start_make(
            service.url, "slideshow", *images, "--seconds-per-image", "30", "--progress", "lines",
            cwd=tmp_path, stdin=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin and proc.stderr
        try:
            said = await read_until(proc.stderr, "render 3/5", within=60)  # the render has begun
            job_id = said.split("job ", 1)[1].split()[0]
            proc.send_signal(signal.SIGINT)
            prompt = await read_until(proc.stderr, "[y/N]", within=20)
            assert f"Cancel job {job_id} on the server?" in prompt
            proc.stdin.write(f"{answer}\n".encode())
            await proc.stdin.drain()
            proc.stdin.close()
            rest = await asyncio.wait_for(proc.stderr.read(), 30)
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    if answer == "y":
        assert proc.returncode == 4, rest
        assert job["status"] == "CANCELLED"
        assert "CANCELLED" in rest.decode()
    else:
        assert proc.returncode == 130, rest
        assert job["status"] in ("PROCESSING", "COMPLETED")  # left to run
        assert "keeps running on the server" in rest.decode()
    assert not videos_in(tmp_path)  # nothing downloaded, nothing half-written
