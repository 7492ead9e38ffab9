"""renderTimeline from the mutation to the MP4, as a client uses it: media by URL and by upload, a typed
error listing every problem of a bad timeline, the timeline kept as the job's manifest, and previews."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.timeline.model import Timeline
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service
from tests.test_slideshow_e2e import DONE, watch

pytestmark = [
    pytest.mark.slow,  # real renders and worker processes: `make test`, not `make test-fast`
    # They prove the media, not the database: on SQLite only (database behaviour is tested on both).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

RENDER = """
mutation($input: TimelineInput!) {
  renderTimeline(input: $input) {
    __typename
    ... on Job { id status preview stages { name } }
    ... on InvalidInput { code message field problems { path message } }
  }
}"""
RED, GREEN = COLOURS[0], COLOURS[1]


def timeline(image_url: str, second_image: str, audio_url: str) -> dict[str, Any]:
    """2.0 s at 160x284, 10 fps: a red image, a 0.4 s crossfade into a green one; a white box of text
    over the first second; a tone underneath."""
    return {
        "output": {"width": 160, "height": 284, "fps": 10, "preset": "ultrafast", "loudness_lufs": None},
        "tracks": [
            {
                "clips": [
                    {"type": "image", "source": image_url, "duration": 1.2},
                    {
                        "type": "image",
                        "source": second_image,
                        "duration": 1.2,
                        "transition": {"kind": "crossfade", "duration": 0.4},
                    },
                ]
            },
            {
                "clips": [
                    {
                        "type": "solid",
                        "colour": "#ffffff",
                        "start": 0.0,
                        "duration": 1.0,
                        "x": 20,
                        "y": 20,
                        "width": 40,
                        "height": 40,
                    }
                ]
            },
        ],
        "audio": [{"clips": [{"source": audio_url, "loop": True}]}],
    }


def rgb(frame: av.VideoFrame, x: int, y: int) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")[y, x].astype(int)


async def render(service: Service, variables: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = await service.gql(RENDER, variables, **kw)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["renderTimeline"]
    return result


async def test_a_timeline_with_urls_and_an_upload_renders_what_it_says_and_keeps_itself_as_manifest(
    service: Service, tmp_path: Path
) -> None:
    files = {"/red.jpg": (jpeg(RED), "image/jpeg"), "/tone.wav": (wav(0.7), "audio/wav")}
    with MediaServer(files) as media:
        tl = timeline(f"{media.url}/red.jpg", "upload:0", f"{media.url}/tone.wav")
        created = await render(
            service,
            {"input": {"timeline": tl, "files": [None]}},
            files={"variables.input.files.0": jpeg(GREEN)},
        )
        assert created["__typename"] == "Job", created
        assert [s["name"] for s in created["stages"]] == ["fetch", "compose", "render", "store", "finalize"]
        events = await watch(service, created["id"])
    assert events[-1]["status"] == "COMPLETED"
    assert any("frame" in e["message"] for e in events)

    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    video = tmp_path / "timeline.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = list(container.decode(video=0))
    assert len(frames) == 20 and (frames[0].width, frames[0].height) == (160, 284)
    assert np.abs(rgb(frames[5], 40, 40) - 255).max() < 30  # the white box, at t = 0.5 s
    assert np.abs(rgb(frames[5], 120, 200) - RED).max() < 45  # the red image beside it
    assert np.abs(rgb(frames[18], 80, 142) - GREEN).max() < 45  # after the crossfade
    middle = rgb(frames[10], 120, 200)  # 1.0 s: halfway through the crossfade
    assert np.abs(middle - (np.array(RED) + np.array(GREEN)) / 2).max() < 45, middle

    manifest_url = next(a["url"] for a in job["artifacts"] if a["kind"] == "manifest")
    manifest = Timeline.model_validate(json.loads((await service.http.get(manifest_url)).content))
    sources = [str(c.source) for c in manifest.tracks[0].clips if hasattr(c, "source")]
    assert all(s.startswith(f"jobs/{created['id']}/inputs/src-") for s in sources), sources


async def test_a_bad_timeline_is_refused_with_every_problem_and_its_path_and_no_job(service: Service) -> None:
    bad = {
        "output": {"width": 160, "height": 284, "fps": 10},
        "tracks": [
            {
                "clips": [
                    {"type": "image", "source": "/etc/passwd", "duration": 1.0},
                    {"type": "sparkles", "duration": 1.0},
                    {"type": "solid", "duration": -1},
                    {"type": "image", "source": "upload:3", "duration": 1.0},
                ]
            }
        ],
    }
    result = await render(service, {"input": {"timeline": bad}})
    assert result["__typename"] == "InvalidInput" and result["code"] == "INVALID_TIMELINE", result
    problems = {p["path"]: p["message"] for p in result["problems"]}
    assert "http(s) URL" in problems["tracks[0].clips[0].source"]
    assert "no files" in problems["tracks[0].clips[3].source"]
    assert "unknown layer type 'sparkles'" in problems["tracks[0].clips[1].type"]
    assert problems["tracks[0].clips[2].duration"] == "must be > 0"
    assert result["field"] == "tracks[0].clips[0].source"

    huge = {
        "output": {"width": 5000, "height": 284, "fps": 120},
        "tracks": [{"clips": [{"type": "solid", "duration": 3600}]}],
    }
    result = await render(service, {"input": {"timeline": huge}})
    problems = {p["path"]: p["message"] for p in result["problems"]}
    assert problems == {
        "output.width": "must be <= 4096",
        "output.fps": "must be <= 60",
        "output.duration": "3600 s must be <= 1800 s",
    }

    not_json = await render(service, {"input": {"timeline": "[1, 2"}})
    assert not_json["code"] == "INVALID_TIMELINE" and "not valid JSON" in not_json["message"]
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []


async def test_media_that_does_not_decode_fails_the_job_naming_the_layer(service: Service) -> None:
    broken = jpeg(RED)[:300]  # a JPEG cut short: it sniffs as a JPEG and fails to decode
    with MediaServer({"/cut.jpg": (broken, "image/jpeg")}) as media:
        tl = {
            "output": {"width": 160, "height": 284, "fps": 10},
            "tracks": [{"clips": [{"type": "image", "source": f"{media.url}/cut.jpg", "duration": 1.0}]}],
        }
        created = await render(service, {"input": {"timeline": tl}})
        await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "IMAGE_DECODE_FAILED"
    assert "tracks[0].clips[0]" in job["error"]["message"]


async def test_a_preview_is_half_size_and_says_so_on_the_job(service: Service, tmp_path: Path) -> None:
    with MediaServer({"/red.jpg": (jpeg(RED), "image/jpeg")}) as media:
        tl = {
            "output": {"width": 320, "height": 568, "fps": 10},
            "tracks": [
                {"clips": [{"type": "image", "source": f"{media.url}/red.jpg", "duration": 1.0}]},
                {"clips": [{"type": "text", "text": "Hello", "duration": 1.0, "y": 40, "height": 120}]},
            ],
        }
        created = await render(service, {"input": {"timeline": tl, "preview": True}})
        assert created["preview"] is True
        await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    video = tmp_path / "preview.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 284)
