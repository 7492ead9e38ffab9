"""One contract for each of the scene video's Protocols, run over every implementation: the offline ones for
real, Runway's through httpx.MockTransport playing its API (tests/runway_fake.py).

- ImageGenerator: submit, then receive, leaves a picture that decodes, at the ratio's size, not flat.
- ImageToVideo: the clip it answers, rendered by our renderer as the job renders it, is a video of exactly the
  scene's size and length, and something moves in it.

Frames are saved to tests/_artifacts/scene_providers/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from media.inputs.fetch import FetchLimits
from media.kinds.scene import scene_timeline
from media.providers.image_gen.base import ImageGenerator, ImageRequest
from media.providers.image_gen.offline import OfflineImages
from media.providers.image_gen.runway import RunwayImages
from media.providers.image_to_video.base import ImageToVideo, VideoRequest
from media.providers.image_to_video.offline import OfflineMotion, camera
from media.providers.image_to_video.runway import RunwayMotion
from media.providers.runway import Runway
from media.render.child import render_in_child
from tests.runway_fake import KEY, FakeRunway

ARTIFACTS = Path(__file__).resolve().parents[2] / "_artifacts" / "scene_providers"


async def no_sleep(seconds: float) -> None:
    pass


async def ignore(share: float, message: str) -> None:
    pass


@pytest.fixture
async def runway() -> AsyncIterator[Runway]:
    async with httpx.AsyncClient(transport=FakeRunway().transport()) as http:
        yield Runway(http=http, key=KEY, fetch_limits=FetchLimits(allow_private=True), sleep=no_sleep)


IMAGES: dict[str, Callable[[Runway], ImageGenerator]] = {
    "offline": lambda runway: OfflineImages(),
    "runway": RunwayImages,
}
MOTIONS: dict[str, Callable[[Runway], ImageToVideo]] = {
    "offline": lambda runway: OfflineMotion(),
    "runway": RunwayMotion,
}


def reference(path: Path) -> Path:
    """A product shot: a blue bottle on a pale background (4:3, to be fitted)."""
    image = Image.new("RGB", (800, 600), (235, 230, 220))
    image.paste((30, 70, 200), (340, 120, 460, 520))
    image.save(path, format="JPEG", quality=92)
    return path


@pytest.mark.parametrize("with_reference", [False, True], ids=["prompt", "reference"])
@pytest.mark.parametrize("ratio", ["1080:1920", "1920:1080", "1168:880"])
@pytest.mark.parametrize("name", list(IMAGES))
async def test_every_image_generator_leaves_a_picture_of_the_ratio_size_that_is_not_flat(
    name: str, ratio: str, with_reference: bool, runway: Runway, tmp_path: Path
) -> None:
    generator = IMAGES[name](runway)
    ref = reference(tmp_path / "reference.jpg") if with_reference else None
    request = ImageRequest("A blue glass bottle on a linen cloth, soft window light", ratio, ref)
    task = await generator.submit(request)
    path = await generator.receive(task, request, tmp_path / "image", ignore)
    with Image.open(path) as image:
        assert image.format in ("PNG", "JPEG") and image.size == request.size
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert pixels.std(axis=(0, 1)).max() > 4.0
    if name == "offline" and with_reference:  # the reference, fitted: the bottle is in the middle
        h, w = pixels.shape[:2]
        centre = pixels[h * 2 // 5 : h * 3 // 5, w * 9 // 20 : w * 11 // 20].reshape(-1, 3).mean(axis=0)
        assert centre[2] > 150 and centre[0] < 90, centre
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / f"image_{name}_{ratio.replace(':', 'x')}_{int(with_reference)}.png")


@pytest.mark.slow  # real renders
@pytest.mark.parametrize(("ratio", "size"), [("720:1280", (720, 1280)), ("1280:768", (1280, 768))])
@pytest.mark.parametrize("name", list(MOTIONS))
async def test_every_motion_renders_to_exactly_the_scene_size_and_length_and_moves(
    name: str, ratio: str, size: tuple[int, int], runway: Runway, tmp_path: Path
) -> None:
    still = tmp_path / "still.png"
    Image.open(reference(tmp_path / "ref.jpg")).resize((1080, 1920)).save(still)
    motion = MOTIONS[name](runway)
    request = VideoRequest(still, "slow push in on the bottle", 2, ratio)
    task = await motion.submit(request)
    clip = await motion.receive(task, request, tmp_path / "clip", ignore)
    timeline = scene_timeline(
        clip, width=size[0], height=size[1], fps=10, preset="ultrafast", crf=23, seconds=2.0
    )

    async def progress(frames: int, total: int) -> None:
        pass

    video = tmp_path / "video.mp4"
    result = await render_in_child(
        timeline, video, tmp_path / "poster.jpg", on_progress=progress, timeout_seconds=60
    )
    assert (result.width, result.height, result.frames) == (*size, 20)
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]
    assert len(frames) == 20 and frames[0].shape == (size[1], size[0], 3)
    assert np.abs(frames[0] - frames[-1]).mean() > 1.0  # the camera (or the vendor's content) moved
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for index in (0, 19):
        Image.fromarray(frames[index].astype(np.uint8)).save(
            ARTIFACTS / f"video_{name}_{ratio.replace(':', 'x')}_{index:02d}.png"
        )


def test_the_offline_camera_follows_the_motion_prompts_camera_words() -> None:
    assert (camera("steam rising").zoom, camera("steam rising").pan) == ("in", "none")
    assert camera("Slow zoom out over the bay").zoom == "out"
    assert camera("the camera pulls back").zoom == "out"
    assert camera("pan left across the shelf").pan == "left"
    assert camera("tilt up to the sky").pan == "up"
