"""createProductAd from the mutation to a 30 s MP4, in all four styles, with the offline providers (the
style's rule-based writer, espeak-ng, the scene painter, the mood's backing track) and a product photo the
test makes and uploads: nothing mocked. What each video must be is read back from the file itself."""

from __future__ import annotations

import asyncio
import io
import json
from itertools import combinations
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from media.audio.loudness import integrated_loudness
from media.kinds.ad.layout import layout_for
from media.kinds.ad.styles import STYLES
from media.kinds.ad.timing import LEAD_SECONDS, TAIL_SECONDS
from media.render.layers import text_layer
from media.timeline.model import ImageClip, TextClip, Timeline
from media.timeline.schedule import place
from tests.service import Service
from tests.test_slideshow_e2e import watch

pytestmark = [
    pytest.mark.slow,  # four real renders: `make test`, not `make test-fast`
    # They prove the media, not the database: on SQLite only (database behaviour is tested on both).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CREATE = """
mutation($input: ProductAdInput!) {
  createProductAd(input: $input) {
    __typename
    ... on Job { id status stages { name } }
    ... on InvalidInput { code message field }
  }
}"""
DONE = """query($id: ID!) { job(id: $id) {
  status costUsd creditsCharged error { code message } videoUrl
  stages { name status costUsd }
  artifacts { kind url contentType } } }"""
PRODUCT_RGB = (30, 144, 255)  # a colour no style's backdrop uses, to find the product in a frame
CTA = "Shop now at aurora.com"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


def product_png() -> bytes:
    """A bottle cut out on a transparent background, with transparent margins around it."""
    image = Image.new("RGBA", (600, 800), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([170, 220, 430, 760], radius=60, fill=(*PRODUCT_RGB, 255))
    draw.rectangle([250, 90, 350, 230], fill=(235, 235, 235, 255))
    draw.ellipse([230, 400, 370, 540], fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def create(service: Service, style: str, **fields: Any) -> dict[str, Any]:
    values = {
        "productName": "Aurora Bottle",
        "style": style,
        "ctaText": CTA,
        "description": "A steel bottle that keeps drinks cold for 24 hours. Light enough for every hike.",
        "audience": "hikers",
        "productImage": None,
        "preview": True,  # half size: four 30 s renders stay within the test's time
        **fields,
    }
    body = await service.gql(CREATE, {"input": values}, files={"variables.input.productImage": product_png()})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createProductAd"]
    return result


@pytest.mark.timeout(420)
async def test_all_four_styles_become_30_second_ads_ending_on_the_call_to_action(
    service: Service, tmp_path: Path
) -> None:
    created = {
        style: await create(service, style.lower() if style == "MINIMAL" else style) for style in STYLES
    }
    for job in created.values():
        assert job["__typename"] == "Job", job
        assert [s["name"] for s in job["stages"]] == [
            "script", "voice", "visuals", "compose", "render", "store", "finalize",
        ]  # fmt: skip
    await watch(service, created["LUXURY"]["id"])  # the progress stream, while the worker drains all four
    frames_by_style = {}
    for style, made in created.items():
        job = (await service.gql(DONE, {"id": made["id"]}))["data"]["job"]
        assert job["status"] == "COMPLETED", job
        # Offline providers cost nothing, and every stage says so.
        assert job["costUsd"] == 0 and all(s["costUsd"] == 0 for s in job["stages"]), job["stages"]
        frames_by_style[style] = await check_ad(service, job, style, tmp_path / style.lower())
    # The styles look different: 1 - the intersection of the colour histograms of the same four scenes, the
    # share of one style's pixels in colours the other does not use; measured 0.91-0.92 here.
    histograms = {style: colour_histogram(frames) for style, frames in frames_by_style.items()}
    distances = {
        (a, b): 1.0 - float(np.minimum(histograms[a], histograms[b]).sum())
        for a, b in combinations(histograms, 2)
    }
    print("palette distances", json.dumps({f"{a}-{b}": round(d, 3) for (a, b), d in distances.items()}))
    assert min(distances.values()) > 0.5, distances


async def check_ad(service: Service, job: dict[str, Any], style: str, folder: Path) -> list[np.ndarray]:
    await asyncio.to_thread(folder.mkdir, parents=True)

    async def download(kind: str) -> list[bytes]:
        return [(await service.http.get(a["url"])).content for a in job["artifacts"] if a["kind"] == kind]

    timeline = Timeline.model_validate(json.loads((await download("manifest"))[0]))
    out = timeline.output
    assert (out.width, out.height, out.duration, out.loudness_lufs) == (540, 960, 30.0, -14.0)
    placed = place(timeline)
    pictures = [p for p in placed if p.track == 0]
    scenes = sorted({str(p.clip.source) for p in pictures if isinstance(p.clip, ImageClip)})
    assert len(scenes) == 4 and len(await download("visual")) == 4
    end_card = pictures[-1]
    assert isinstance(end_card.clip, ImageClip) and end_card.clip.ken_burns is None  # a still
    assert end_card.end == 30.0
    # The voice is never cut: each line ends before its scene does, the last one before the video ends.
    narration = [c for c in timeline.audio[0].clips if c.role == "narration"]
    assert len(narration) == 4
    lengths = []
    for k, clip_bytes in enumerate(await download("narration")):
        path = folder / f"narration-{k}.wav"
        path.write_bytes(clip_bytes)
        lengths.append(decoded_seconds(path))
    starts = [c.start - LEAD_SECONDS for c in narration]  # each scene's start
    for k, (clip, length) in enumerate(zip(narration, lengths, strict=True)):
        scene_end = starts[k + 1] if k < 3 else 30.0
        assert clip.start + length <= scene_end - TAIL_SECONDS + 0.01, (k, clip.start, length, scene_end)
    assert 30.0 - starts[3] >= 3.0  # the end card holds at least 3 s
    assert [c.role for c in timeline.audio[1].clips] == ["music"]

    video = folder / "ad.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    with av.open(str(video)) as container:
        audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
        rate = container.streams.audio[0].rate
    fps = out.fps
    assert abs(len(frames) - 30 * fps) <= 1, len(frames)
    assert abs(audio.shape[1] / rate - 30.0) <= 1 / fps + 0.03, audio.shape
    assert integrated_loudness(audio.T, rate) == pytest.approx(-14.0, abs=1.0)

    last = frames[-1]
    assert_cta_visible(timeline, last)
    assert_cta_visible(timeline, frames[round((30.0 - 2.9) * fps)])  # already there, and held
    assert_product_visible(last, layout_for(1080, 1920).end_product.pixels(out.width, out.height))
    # One frame from the middle of each scene: the contact sheet, and what the palette comparison reads.
    middles = [(starts[k] + (starts[k + 1] if k < 3 else 30.0)) / 2 for k in range(4)]
    chosen = [frames[min(len(frames) - 1, round(t * fps))].to_ndarray(format="rgb24") for t in middles]
    save_contact_sheet(chosen, ARTIFACTS / f"product_ad_{style.lower()}.png")
    return chosen


def decoded_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(f.samples for f in container.decode(stream)) / float(stream.rate)


def assert_cta_visible(timeline: Timeline, frame: av.VideoFrame) -> None:
    """The call to action's button, drawn alone as the renderer draws it, matches the frame where it sits:
    its letters in the button's colours are there, not just a box."""
    out = timeline.output
    (cta,) = [
        p for p in place(timeline) if isinstance(p.clip, TextClip) and p.clip.text.upper() == CTA.upper()
    ]
    assert isinstance(cta.clip, TextClip) and cta.clip.style.box is not None
    layer = text_layer(cta, cta.clip, out.width, out.height)
    patch = layer.patch(0.0, 0.0)
    x, y, w, h = layer.box
    assert patch.alpha is not None
    solid = patch.alpha[: h - 1, : w - 1] == 255  # the button and its letters (opaque)
    expected = patch.yuv[:h].astype(np.int16)[: h - 1, : w - 1]
    luma = frame.to_ndarray(format="yuv420p")[: out.height].astype(np.int16)
    seen = luma[y : y + h - 1, x : x + w - 1]
    assert solid.sum() > 0.3 * solid.size
    assert np.abs(seen - expected)[solid].mean() < 10, np.abs(seen - expected)[solid].mean()
    assert expected[solid].std() > 20  # letters on the button: two colours, not one


def assert_product_visible(frame: av.VideoFrame, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    rgb = frame.to_ndarray(format="rgb24")[y : y + h, x : x + w].astype(np.int16)
    near = np.abs(rgb - np.array(PRODUCT_RGB)).max(axis=2) < 40
    assert near.mean() > 0.05, near.mean()


def colour_histogram(frames: list[np.ndarray]) -> np.ndarray:
    # 16 levels per channel: fine enough that luxury's warm near-blacks and bold's black are told apart.
    pixels = np.concatenate([f.reshape(-1, 3) for f in frames]).astype(np.int64) // 16
    counts = np.bincount(pixels[:, 0] * 256 + pixels[:, 1] * 16 + pixels[:, 2], minlength=4096)
    return counts / counts.sum()


def save_contact_sheet(frames: list[np.ndarray], path: Path) -> None:
    h, w = frames[0].shape[:2]
    sheet = Image.new("RGB", (w * len(frames), h))
    for k, frame in enumerate(frames):
        sheet.paste(Image.fromarray(frame), (k * w, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
