"""createExplainer from the mutation to a narrated, captioned MP4 with the offline providers: espeak-ng
voices, the rule-based script writer and the offline painters — all real, nothing mocked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.service import Service
from tests.test_slideshow_e2e import watch

pytestmark = [
    pytest.mark.slow,  # real renders and worker processes: `make test`, not `make test-fast`
    # They prove the media, not the database: on SQLite only (database behaviour is tested on both).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CREATE = """
mutation($input: ExplainerInput!) {
  createExplainer(input: $input) {
    __typename
    ... on Job { id status stages { name } }
    ... on InvalidInput { code message field }
  }
}"""
DONE = """query($id: ID!) { job(id: $id) {
  status videoUrl subtitlesUrl error { code message }
  stages { name status warnings }
  artifacts { kind url contentType } } }"""

TEXT = """Sorting puts things in order. Most languages ship a fast sort, so you rarely write one yourself,
but knowing how it works helps you pick the right tool.

```python
def insertion_sort(items):
    for i in range(1, len(items)):
        j = i
        while j > 0 and items[j - 1] > items[j]:
            items[j - 1], items[j] = items[j], items[j - 1]
            j -= 1
    return items
```

The cost of comparison sorting has a lower bound of $n \\log_2 n$ comparisons in the worst case.

A typical data pipeline has these steps:
1. Load the records
2. Remove duplicates
3. Sort by date
4. Save the result

Sorted data makes searching fast, because you can halve the search space with every comparison."""


async def create(service: Service, **fields: Any) -> dict[str, Any]:
    body = await service.gql(CREATE, {"input": {"sourceText": TEXT, "size": "1920x1080", **fields}})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createExplainer"]
    return result


async def test_a_text_with_code_a_formula_and_steps_becomes_a_narrated_captioned_video(
    service: Service, tmp_path: Path
) -> None:
    created = await create(service, title="How sorting works", maxScenes=6)
    assert created["__typename"] == "Job", created
    assert [s["name"] for s in created["stages"]] == [
        "script", "assets", "compose", "render", "store", "finalize",
    ]  # fmt: skip
    events = await watch(service, created["id"])
    assert events[-1]["status"] == "COMPLETED", events[-1]
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["error"] is None and all(s["warnings"] == [] for s in job["stages"])

    def artifact(kind: str) -> list[dict[str, Any]]:
        return [a for a in job["artifacts"] if a["kind"] == kind]

    script = json.loads((await service.http.get(artifact("script")[0]["url"])).content)
    visuals = [scene["visual"] for scene in script["scenes"]]
    assert {"code", "formula", "diagram", "slide"} <= set(visuals), visuals
    assert len(artifact("narration")) == len(artifact("visual")) == len(visuals)

    video = tmp_path / "explainer.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    narration = 0.0
    for item in artifact("narration"):
        path = tmp_path / "narration.wav"
        path.write_bytes((await service.http.get(item["url"])).content)
        with av.open(str(path)) as clip:
            narration += float(clip.duration or 0) / 1e6
    with av.open(str(video)) as container:
        duration = float(container.duration or 0) / 1e6
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1920, 1080)
        samples = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])]
        )
    assert abs(duration - (narration + 0.5)) < 0.2, (duration, narration)

    vtt = (await service.http.get(job["subtitlesUrl"])).text
    assert vtt.startswith("WEBVTT")
    starts = [_seconds(m) for m in re.findall(r"^(\d\d:\d\d:\d\d\.\d\d\d) -->", vtt, re.M)]
    assert len(starts) >= len(visuals)
    # Each caption starts when its words are spoken: the narration is audible within 100 ms of its start.
    rate = len(samples) / duration / 2  # planar stereo: two channels back to back per frame
    for start in starts:
        window = samples[int(start * rate * 2) : int((start + 0.1) * rate * 2)]
        assert np.sqrt(np.mean(window**2)) > 0.005, start
    _contact_sheet(video)


def _seconds(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _contact_sheet(video: Path) -> None:
    """One frame from the middle of each second-quarter, saved for people to look at."""
    with av.open(str(video)) as container:
        frames = [f.to_image() for i, f in enumerate(container.decode(video=0)) if i % 90 == 45]
    sheet = Image.new("RGB", (480 * 4, 270 * ((len(frames) + 3) // 4)))
    for k, frame in enumerate(frames):
        sheet.paste(frame.resize((480, 270)), ((k % 4) * 480, (k // 4) * 270))
    out = Path(__file__).resolve().parent / "_artifacts" / "explainer_contact_sheet.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


async def test_bad_explainer_input_gets_typed_errors_and_no_job(service: Service) -> None:
    cases = [
        ({"sourceText": "   \n "}, "EMPTY_TEXT", "sourceText"),
        ({"sourceText": "x" * 20_001}, "TEXT_TOO_LONG", "sourceText"),
        ({"maxScenes": 0}, "INVALID_SCENE_COUNT", "maxScenes"),
        ({"visualStyle": "neon"}, "UNKNOWN_STYLE", "visualStyle"),
        ({"language": "not a language"}, "UNSUPPORTED_LANGUAGE", "language"),
        ({"voice": "klingon-x"}, "UNSUPPORTED_VOICE", "voice"),
        ({"size": "640x480"}, "UNKNOWN_SIZE", "size"),
    ]
    for fields, code, field in cases:
        result = await create(service, **fields)
        assert (result["__typename"], result["code"], result["field"]) == ("InvalidInput", code, field)
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []


async def test_a_formula_that_cannot_be_drawn_becomes_a_marked_placeholder_and_the_video_is_made(
    service: Service,
) -> None:
    text = "Fractions are easy to write down.\n\n$$\\frac{1}{$$\n\nThat formula above is broken."
    created = await create(service, sourceText=text, maxScenes=3)
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    warnings = [w for s in job["stages"] for w in s["warnings"]]
    assert len(warnings) == 1 and "FORMULA_INVALID" in warnings[0], warnings
    assert job["videoUrl"]


async def test_reference_data_lists_the_sizes_styles_and_voices_create_explainer_takes(
    service: Service,
) -> None:
    query = '{ resolutions styles { name } voices(language: "de") { name languages } all: voices { name } }'
    body = await service.gql(query)
    data = body["data"]
    assert "1920x1080" in data["resolutions"]
    assert {s["name"] for s in data["styles"]} == {"dark", "light", "warm", "ocean"}
    assert data["voices"] and all(any(t.startswith("de") for t in v["languages"]) for v in data["voices"])
    assert len(data["all"]) > 100
    german = data["voices"][0]["name"]
    created = await create(service, sourceText="Guten Tag. Das ist ein kurzer Text.", voice=german)
    assert created["__typename"] == "Job", created


async def test_captions_in_a_script_the_font_lacks_fail_the_job_naming_the_missing_characters(
    service: Service,
) -> None:
    created = await create(service, sourceText="你好，世界。这是一个测试。", language="zh", maxScenes=1)
    assert created["__typename"] == "Job", created
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "MISSING_GLYPHS" and "你" in job["error"]["message"], job["error"]
    assert "CLIPFORGE_CAPTION_FONT" in job["error"]["message"]
