"""Hostile media and runaway renders through the whole job pipeline: the mutation, the fetch by URL, the
render child, and a FAILED job whose error carries the code (and the limits come from Settings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clipforge.settings import Settings
from tests.factory import COLOURS, jpeg
from tests.media.hostile_factory import mp4_cut_in_half, wav_claiming
from tests.service import MediaServer, Service
from tests.test_slideshow_e2e import DONE
from tests.test_timeline_e2e import render

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

OUTPUT = {"width": 160, "height": 284, "fps": 10, "preset": "ultrafast", "loudness_lufs": None}
BACKDROP = {"type": "solid", "colour": "#202020", "duration": 3.0}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings, with this test's changes (indirect parametrization) on top."""
    changes: dict[str, Any] = getattr(request, "param", {})
    return settings.model_copy(update=changes)


async def _failed_job(
    service: Service, name: str, served: tuple[bytes, str], timeline: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """Serve one file, render `timeline(its URL)` as a job, and return the job, which must have FAILED."""
    with MediaServer({f"/{name}": served}) as media:
        created = await render(service, {"input": {"timeline": timeline(f"{media.url}/{name}")}})
        assert created["__typename"] == "Job", created
        await service.drain_queue()
    job: dict[str, Any] = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "FAILED", job
    return job


async def test_a_wav_lasting_ten_hours_fails_the_job_with_media_too_long(service: Service) -> None:
    ten_hours, _ = wav_claiming(10 * 3600, rate=1)  # 36 KB: one sample a second is still a WAV

    def timeline(url: str) -> dict[str, Any]:
        return {"output": OUTPUT, "tracks": [{"clips": [BACKDROP]}], "audio": [{"clips": [{"source": url}]}]}

    job = await _failed_job(service, "long.wav", (ten_hours, "audio/wav"), timeline)
    assert job["error"]["code"] == "MEDIA_TOO_LONG"
    assert "lasts 10 h; the limit is 2 h" in job["error"]["message"]


async def test_an_mp4_cut_in_half_fails_the_job_with_a_decode_error_naming_the_layer(
    service: Service, tmp_path: Path
) -> None:
    cut = mp4_cut_in_half(tmp_path, faststart=True)

    def timeline(url: str) -> dict[str, Any]:
        return {"output": OUTPUT, "tracks": [{"clips": [{"type": "video", "source": url, "duration": 3.0}]}]}

    job = await _failed_job(service, "cut.mp4", (cut, "video/mp4"), timeline)
    assert job["error"]["code"] == "VIDEO_DECODE_FAILED"
    assert "tracks[0].clips[0]" in job["error"]["message"] and "truncated" in job["error"]["message"]


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"render_cpu_limit_seconds": 1.0}, "RENDER_CPU_LIMIT"),
        ({"render_memory_limit_mb": 64}, "RENDER_OUT_OF_MEMORY"),
    ],
    indirect=["settings"],
    ids=["cpu", "memory"],
)
async def test_a_render_over_the_configured_limits_fails_the_job_with_the_limit_code(
    service: Service, code: str
) -> None:
    # 1080x1920 with a Ken Burns zoom for 4 s: ~5 CPU-seconds and ~1 GiB of address space when unlimited.
    def timeline(url: str) -> dict[str, Any]:
        photo = {"type": "image", "source": url, "duration": 4.0, "ken_burns": {"zoom": "in"}}
        output = {**OUTPUT, "width": 1080, "height": 1920, "fps": 30, "preset": "veryfast"}
        return {"output": output, "tracks": [{"clips": [photo]}]}

    photo = jpeg(COLOURS[0], size=(1440, 2560))
    job = await _failed_job(service, "photo.jpg", (photo, "image/jpeg"), timeline)
    assert job["error"]["code"] == code, job["error"]
