"""Runway's clients through httpx.MockTransport playing Runway's documented API (tests/runway_fake.py):
what we send (endpoints, headers, bodies), how we read its tasks (PENDING → THROTTLED → RUNNING → SUCCEEDED,
FAILED with its failure codes, CANCELLED), how its errors are retried or not, and that its outputs are
downloaded through the safe fetcher."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image

from media.errors import MediaError
from media.inputs.fetch import FetchLimits
from media.providers.http import ProviderError
from media.providers.image_gen.base import ImageRequest
from media.providers.image_gen.runway import RunwayImages
from media.providers.image_to_video.base import VideoRequest
from media.providers.image_to_video.runway import RunwayMotion
from media.providers.meter import Usage, metering
from media.providers.runway import Runway
from media.providers.task import TaskFailed
from media.timeline.model import VideoClip
from tests.runway_fake import KEY, FakeRunway, failed, succeeded

API = "https://api.dev.runwayml.com"


class Clock:
    """Stands in for asyncio.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> FakeRunway:
    return FakeRunway()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def runway(fake: FakeRunway, clock: Clock) -> AsyncIterator[Runway]:
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        # Outputs are on 127.0.0.1 (no DNS here): allowed as in development; one test refuses it.
        yield Runway(
            http=http,
            key=KEY,
            fetch_limits=FetchLimits(allow_private=True),
            sleep=clock.sleep,
            max_wait_seconds=60,
        )


class Progress:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, share: float, message: str) -> None:
        assert 0.0 <= share <= 1.0
        self.messages.append(message)


def still(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    Image.new("RGB", size, (200, 40, 40)).save(path, format="PNG")
    return path


def decoded_data_uri(uri: str) -> Image.Image:
    head, _, data = uri.partition(",")
    assert head == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


async def test_an_image_task_is_started_as_documented_and_followed_through_throttled_to_succeeded(
    runway: Runway, fake: FakeRunway, clock: Clock, tmp_path: Path
) -> None:
    fake.next_tasks(
        "text_to_image",
        [{"status": "PENDING"}, {"status": "THROTTLED"}, {"status": "RUNNING", "progress": 0.3}, succeeded()],
    )
    images = RunwayImages(runway)
    request = ImageRequest("A red kettle on an oak table", "1920:1080", reference=still(tmp_path / "ref.png"))
    usage: list[Usage] = []

    async def keep(u: Usage) -> None:
        usage.append(u)

    progress = Progress()
    with metering(keep):
        task = await images.submit(request)
        path = await images.receive(task, request, tmp_path / "image", progress)
    start = fake.requests[0]
    assert (start.method, str(start.url)) == ("POST", f"{API}/v1/text_to_image")
    assert start.headers["authorization"] == f"Bearer {KEY}"
    assert start.headers["x-runway-version"] == "2024-11-06"
    body = json.loads(start.content)
    assert body["model"] == "gen4_image" and body["ratio"] == "1920:1080"
    assert body["promptText"] == "A red kettle on an oak table Featuring @product."
    assert [r["tag"] for r in body["referenceImages"]] == ["product"]
    assert decoded_data_uri(body["referenceImages"][0]["uri"]).size == (640, 480)
    polls = [r for r in fake.requests if r.url.path == f"/v1/tasks/{task}"]
    assert len(polls) == 4 and all(r.method == "GET" for r in polls)
    assert progress.messages == ["waiting at provider", "queued at provider", "generating at provider (30%)"]
    assert clock.waits == [5.0, 5.0, 5.0]  # Runway: no faster than every 5 s
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", (1920, 1080))
    assert usage == [Usage("runway", "gen4_image:image:1080p", 1.0, key=task)]


async def test_a_video_task_asks_for_the_nearest_accepted_ratio_and_brings_the_file_home(
    runway: Runway, fake: FakeRunway, tmp_path: Path
) -> None:
    motion = RunwayMotion(runway)
    request = VideoRequest(still(tmp_path / "still.png", (1920, 1080)), "slow push in", 3, "1280:768")
    usage: list[Usage] = []

    async def keep(u: Usage) -> None:
        usage.append(u)

    with metering(keep):
        task = await motion.submit(request)
        clip = await motion.receive(task, request, tmp_path / "clip", Progress())
    body = json.loads(fake.requests[0].content)
    assert str(fake.requests[0].url) == f"{API}/v1/image_to_video"
    assert {k: body[k] for k in ("model", "ratio", "duration", "promptText")} == {
        "model": "gen4_turbo",
        "ratio": "1280:720",  # 1280:768 was gen3a_turbo's; the job fits the result to 1280:768
        "duration": 3,
        "promptText": "slow push in",
    }
    assert decoded_data_uri(body["promptImage"]).size == (1920, 1080)
    assert isinstance(clip, VideoClip) and clip.duration == 3 and clip.source.suffix == ".mp4"
    with av.open(str(clip.source)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
    assert usage == [Usage("runway", "gen4_turbo:seconds", 3.0, key=task)]


async def test_refused_content_is_content_rejected_and_never_tried_again(
    runway: Runway, fake: FakeRunway, tmp_path: Path
) -> None:
    fake.next_tasks("image_to_video", [failed("SAFETY.INPUT.TEXT", "The prompt was flagged")])
    motion = RunwayMotion(runway)
    request = VideoRequest(still(tmp_path / "still.png"), "something unsafe", 5, "720:1280")
    task = await motion.submit(request)
    with pytest.raises(TaskFailed) as caught:
        await motion.receive(task, request, tmp_path / "clip", Progress())
    assert (caught.value.code, caught.value.retryable) == ("CONTENT_REJECTED", False)
    assert "SAFETY.INPUT.TEXT" in caught.value.message and "flagged" in caught.value.message
    assert fake.posts["image_to_video"] == 1


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (failed("INTERNAL.BAD_OUTPUT.CODE01"), "PROVIDER_TASK_FAILED", True),
        (failed("ASSET.INVALID", "The image could not be read"), "PROVIDER_REJECTED", False),
        ({"status": "CANCELLED"}, "PROVIDER_TASK_CANCELLED", False),
        (failed("SAFETY.OUTPUT.IMAGE"), "CONTENT_REJECTED", False),
    ],
)
async def test_each_way_a_task_ends_badly_has_its_code(
    runway: Runway, fake: FakeRunway, status: dict[str, str], code: str, retryable: bool
) -> None:
    fake.next_tasks("text_to_image", [status])
    images = RunwayImages(runway)
    request = ImageRequest("A kettle", "1080:1920")
    task = await images.submit(request)
    with pytest.raises(TaskFailed) as caught:
        await images.receive(task, request, Path("/nonexistent/never-written"), Progress())
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


async def test_a_429_on_start_is_waited_out_and_makes_one_task(
    runway: Runway, fake: FakeRunway, clock: Clock
) -> None:
    fake.refuse_posts = [429, 503]
    task = await RunwayImages(runway).submit(ImageRequest("A kettle", "1024:1024"))
    starts = [r for r in fake.requests if r.method == "POST"]
    assert len(starts) == 3 and fake.posts["text_to_image"] == 1 and task in fake.tasks
    assert clock.waits[0] == 0.0  # Retry-After: 0


async def test_three_429s_fail_with_rate_limited_and_no_task(runway: Runway, fake: FakeRunway) -> None:
    fake.refuse_posts = [429, 429, 429]
    with pytest.raises(ProviderError) as caught:
        await RunwayImages(runway).submit(ImageRequest("A kettle", "1024:1024"))
    assert caught.value.code == "PROVIDER_RATE_LIMITED" and fake.posts["text_to_image"] == 0


async def test_a_rerun_waits_for_the_task_it_was_given_instead_of_starting_another(
    runway: Runway, fake: FakeRunway, tmp_path: Path
) -> None:
    request = VideoRequest(still(tmp_path / "still.png"), "drift left", 4, "960:960")
    task = await RunwayMotion(runway).submit(request)
    again = RunwayMotion(runway)  # a new worker, knowing only the task id kept by the job
    clip = await again.receive(task, request, tmp_path / "clip", Progress())
    assert clip.duration == 4 and fake.posts["image_to_video"] == 1


async def test_a_task_that_never_finishes_is_given_up_after_the_wait_limit(
    runway: Runway, fake: FakeRunway, clock: Clock
) -> None:
    fake.next_tasks("text_to_image", [{"status": "RUNNING", "progress": 0.1}])
    images = RunwayImages(runway)
    request = ImageRequest("A kettle", "1080:1920")
    task = await images.submit(request)
    with pytest.raises(ProviderError) as caught:
        await images.receive(task, request, Path("/nonexistent/x"), Progress())
    assert caught.value.code == "PROVIDER_TIMEOUT"
    assert fake.tasks[task].polls == 13 and len(clock.waits) == 12  # 60 s at one poll per 5 s


async def test_a_wrong_key_and_a_refused_body_are_not_retried(fake: FakeRunway, clock: Clock) -> None:
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        wrong = Runway(http=http, key="key_wrong", sleep=clock.sleep)
        with pytest.raises(ProviderError) as caught:
            await RunwayImages(wrong).submit(ImageRequest("A kettle", "1080:1920"))
        assert caught.value.code == "PROVIDER_AUTH_FAILED"
        right = Runway(http=http, key=KEY, sleep=clock.sleep)
        with pytest.raises(ProviderError) as caught:
            await RunwayImages(right).submit(ImageRequest("x" * 1001, "1080:1920"))
        assert caught.value.code == "PROVIDER_REJECTED" and "400" in caught.value.message
    assert len(fake.requests) == 2 and clock.waits == []


async def test_an_output_url_on_a_private_network_is_refused_by_the_safe_fetcher(
    fake: FakeRunway, tmp_path: Path
) -> None:
    fake.output_base = "http://10.1.2.3"
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        runway = Runway(http=http, key=KEY, fetch_limits=FetchLimits(), sleep=Clock().sleep)
        images = RunwayImages(runway)
        request = ImageRequest("A kettle", "1080:1920")
        with pytest.raises(MediaError) as caught:
            await images.receive(await images.submit(request), request, tmp_path / "image", Progress())
    assert caught.value.code == "URL_NOT_ALLOWED" and "Runway's output" in caught.value.message
    assert not any(r.url.path.startswith("/outputs/") for r in fake.requests)


async def test_video_durations_outside_what_gen4_turbo_makes_are_refused_before_any_request(
    runway: Runway, fake: FakeRunway, tmp_path: Path
) -> None:
    for seconds in (1, 11):
        request = VideoRequest(still(tmp_path / "still.png"), "drift", seconds, "720:1280")
        with pytest.raises(MediaError) as caught:
            await RunwayMotion(runway).submit(request)
        assert caught.value.code == "INVALID_DURATION"
    assert fake.requests == []
