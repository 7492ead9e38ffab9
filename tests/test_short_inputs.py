"""What createShort and expandIdea refuse, with a typed error before anything is queued, and what an
accepted input can still not do (a narration longer than its storyboard: a typed failure of the job)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service import Service
from tests.test_short_e2e import DONE, create

EXPAND = """mutation($input: ExpandIdeaInput!) { expandIdea(input: $input) { __typename
  ... on IdeaExpansion { title logline tone format audience hooks outline }
  ... on InvalidInput { code message field } ... on Problem { code message } } }"""


def scene(**fields: Any) -> dict[str, Any]:
    return {"narration": "Say this.", "onScreenText": "Big", "visualPrompt": "a cat", "duration": 5, **fields}


MANY = [f"https://a.example/{k}.jpg" for k in range(13)]
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({}, "EMPTY_IDEA", "idea"),
    ({"idea": "   "}, "EMPTY_IDEA", "idea"),
    ({"idea": "x" * 1001}, "IDEA_TOO_LONG", "idea"),
    ({"idea": "cats", "durationSeconds": 10}, "INVALID_DURATION", "durationSeconds"),
    ({"idea": "cats", "durationSeconds": 91}, "INVALID_DURATION", "durationSeconds"),
    ({"idea": "cats", "tone": "sarcastic"}, "UNKNOWN_TONE", "tone"),
    ({"idea": "cats", "format": "essay"}, "UNKNOWN_FORMAT", "format"),
    ({"idea": "cats", "musicMood": "jazzy"}, "UNKNOWN_MOOD", "musicMood"),
    ({"idea": "cats", "captionStyle": "comic"}, "UNKNOWN_CAPTION_STYLE", "captionStyle"),
    ({"idea": "cats", "voice": "klingon-x"}, "UNSUPPORTED_VOICE", "voice"),
    ({"idea": "cats", "language": "not a language"}, "UNSUPPORTED_LANGUAGE", "language"),
    ({"idea": "cats", "size": "640x480"}, "UNKNOWN_SIZE", "size"),
    ({"idea": "cats", "imageUrls": ["ftp://example.com/a.jpg"]}, "INVALID_URL", "imageUrls[0]"),
    ({"idea": "cats", "musicMood": "calm", "musicUrl": "https://a.b/m.mp3"}, "CONFLICTING_INPUTS", "music"),
    ({"idea": "cats", "imageUrls": MANY}, "TOO_MANY_IMAGES", "images"),

    (
        {"storyboard": {"scenes": [scene(duration=8), scene(duration=8)]},
         "imageUrls": [f"https://example.com/{k}.jpg" for k in range(3)]},
        "TOO_MANY_IMAGES",
        "images",
    ),
    (
        {"storyboard": {"scenes": [scene(duration=8), scene(duration=8)]}, "durationSeconds": 30},
        "CONFLICTING_INPUTS",
        "durationSeconds",
    ),
]  # fmt: skip


async def test_bad_input_gets_a_typed_error_and_no_job(service: Service) -> None:
    for fields, code, field in BAD:
        result = await create(service, **fields)
        assert (result["__typename"], result["code"], result["field"]) == ("InvalidInput", code, field), (
            fields
        )
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []


async def test_a_storyboard_with_problems_names_each_by_its_path(service: Service) -> None:
    board = {
        "title": "Cats",
        "scenes": [
            scene(duration=0.5),
            scene(onScreenText="one two three four five six seven eight nine"),
            scene(colour="red"),
        ],
    }
    result = await create(service, storyboard=board)
    assert (result["__typename"], result["code"], result["field"]) == (
        "InvalidInput",
        "INVALID_STORYBOARD",
        "storyboard",
    )
    paths = [p["path"] for p in result["problems"]]
    assert paths == ["storyboard.scenes[0].duration", "storyboard.scenes[2].colour"]
    result = await create(service, storyboard={"scenes": [scene(onScreenText="a b c d e f g h", duration=4)]})
    assert [p["path"] for p in result["problems"]] == [
        "storyboard.scenes[0].onScreenText",
        "storyboard.scenes",
    ]


async def test_expand_idea_offline_answers_with_a_plan_and_refuses_bad_input(service: Service) -> None:
    body = await service.gql(
        EXPAND, {"input": {"idea": "How to make cold brew coffee at home", "audience": "students"}}
    )
    plan = body["data"]["expandIdea"]
    assert plan["__typename"] == "IdeaExpansion"
    assert (plan["format"], plan["audience"], plan["title"]) == (
        "howto",
        "students",
        "How to Make Cold Brew Coffee at Home",
    )
    assert len(plan["hooks"]) == 3 and 3 <= len(plan["outline"]) <= 6 and plan["logline"]
    german = await service.gql(EXPAND, {"input": {"idea": "Das Meer ist blau.", "language": "de"}})
    assert german["data"]["expandIdea"]["hooks"] == ["Das Meer ist blau."]
    for fields, code in [
        ({"idea": " "}, "EMPTY_IDEA"),
        ({"idea": "y" * 1001}, "IDEA_TOO_LONG"),
        ({"idea": "cats", "tone": "sarcastic"}, "UNKNOWN_TONE"),
        ({"idea": "cats", "format": "essay"}, "UNKNOWN_FORMAT"),
        ({"idea": "cats", "language": "xx-not-a-tag!"}, "UNSUPPORTED_LANGUAGE"),
    ]:
        answer = (await service.gql(EXPAND, {"input": fields}))["data"]["expandIdea"]
        assert (answer["__typename"], answer["code"]) == ("InvalidInput", code), fields


@pytest.mark.slow
async def test_a_narration_longer_than_its_storyboard_fails_the_job_with_a_typed_error(
    service: Service,
) -> None:
    # 15 words in each 5 s scene: 3 words a second passes the check up front (at most 4); espeak-ng says
    # about 2.9, so the three voices need ~16 s of the 15.
    chatter = "Octopuses open jars and escape from their tanks when nobody watches. They are clever too."
    board = {"scenes": [scene(narration=chatter, duration=5.0) for _ in range(3)]}
    created = await create(service, storyboard=board)
    assert created["__typename"] == "Job", created
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert (job["status"], job["stage"], job["error"]["code"]) == ("FAILED", "audio", "NARRATION_TOO_LONG")
    assert "longer than the storyboard's 15 s" in job["error"]["message"]


@pytest.mark.slow
async def test_text_the_font_cannot_draw_fails_before_any_frame_is_drawn(service: Service) -> None:
    created = await create(service, idea="猫はなぜ箱が好きなのか。", language="ja")
    assert created["__typename"] == "Job", created
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert (job["status"], job["stage"], job["error"]["code"]) == ("FAILED", "assets", "MISSING_GLYPHS")
    assert "猫" in job["error"]["message"] and "CLIPFORGE_CAPTION_FONT" in job["error"]["message"]
    assert not [a for a in job["artifacts"] if a["kind"] in ("picture", "frame")]
