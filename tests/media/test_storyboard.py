"""A short's storyboard: checked with every problem's path; the offline writer's expansion and storyboard
(a hook first, beats, a close last, exactly the asked length, the idea's own words in other languages); the
language-model Asks' checks."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from media.audio.music import MOODS
from media.providers.llm.base import Invalid
from media.providers.story import offline
from media.providers.story.llm import (
    EXPANSION_SCHEMA,
    STORYBOARD_SCHEMA,
    check_expansion,
    check_storyboard,
)
from media.storyboard import (
    FORMATS,
    MAX_ON_SCREEN_WORDS,
    MUSIC_MOODS,
    TONE_MOODS,
    TONES,
    StoryboardInvalid,
    parse_storyboard,
    words,
)

IDEAS = [
    "Why octopuses are smarter than you think",
    "How to make cold brew coffee at home",
    "5 mistakes every new startup founder makes",
    "The secret history of the Voynich manuscript",
    "Is it actually true that we only use 10% of our brains?",
]


def scene(**fields: Any) -> dict[str, Any]:
    return {
        "narration": "A line to say.",
        "onScreenText": "Big words",
        "visualPrompt": "a cat",
        "duration": 5,
        **fields,
    }


def test_a_valid_storyboard_parses_from_camel_case_json() -> None:
    board = parse_storyboard({"title": "Cats", "scenes": [scene(duration=6), scene(duration=9.5)]})
    assert board.seconds == 15.5
    assert board.starts == [0.0, 6.0]
    assert board.scenes[0].on_screen_text == "Big words" and board.scenes[1].visual_prompt == "a cat"
    assert "onScreenText" in board.model_dump(by_alias=True)["scenes"][0]


def test_every_problem_comes_back_with_its_path() -> None:
    data = {
        "title": "x",
        "scenes": [
            scene(duration=0.2),
            scene(onScreenText="one two three four five six seven eight"),
            scene(sparkles=True),
            scene(duration="long"),
        ],
    }
    with pytest.raises(StoryboardInvalid) as caught:
        parse_storyboard(data)
    paths = {path for path, _ in caught.value.problems}
    assert paths == {"scenes[0].duration", "scenes[2].sparkles", "scenes[3].duration"}
    # The model's shape fine, its rules not: all of those at once too.
    data = {"scenes": [scene(onScreenText="one two three four five six seven eight", duration=4)]}
    with pytest.raises(StoryboardInvalid) as caught:
        parse_storyboard(data)
    assert [p for p, _ in caught.value.problems] == ["scenes[0].onScreenText", "scenes"]
    assert "15" in caught.value.problems[1][1] and "90" in caught.value.problems[1][1]


def test_narration_that_cannot_be_said_in_time_is_a_problem() -> None:
    chatter = " ".join(["word"] * 70)
    with pytest.raises(StoryboardInvalid) as caught:
        parse_storyboard({"scenes": [scene(narration=chatter, duration=8), scene(duration=8)]})
    assert caught.value.problems[0][0] == "scenes" and "cannot be spoken" in caught.value.problems[0][1]
    assert words("你好世界你好世界") == 4 and words("Hello, big world!") == 3


def test_tones_have_moods_the_music_bed_knows() -> None:
    assert set(MUSIC_MOODS) == set(MOODS)
    assert set(TONE_MOODS.values()) <= set(MOODS)


@pytest.mark.parametrize("idea", IDEAS)
@pytest.mark.parametrize("seconds", [15.0, 30.0, 90.0])
def test_the_offline_writer_makes_a_hook_beats_and_a_close_of_the_asked_length(
    idea: str, seconds: float
) -> None:
    plan = offline.expand(idea)
    assert plan.tone in TONES and plan.format in FORMATS
    assert 3 <= len(plan.outline) <= 6 and plan.hooks
    board = offline.write_storyboard(idea, plan, seconds=seconds)
    assert math.isclose(board.seconds, seconds, abs_tol=1e-6)
    parse_storyboard(board.model_dump(by_alias=True))  # passes the same checks as a user's
    assert 5 <= len(board.scenes) <= 8
    assert board.scenes[0].narration == plan.hooks[0] or board.scenes[0].narration.startswith(plan.hooks[0])
    assert board.scenes[-1].narration in (
        "Now you know. Follow for more.",
        "Follow for more.",
        "Save this for later.",
    )
    for k, s in enumerate(board.scenes):
        assert s.narration and s.visual_prompt and s.on_screen_text, k
        assert words(s.on_screen_text) <= MAX_ON_SCREEN_WORDS
        # A narration fits its scene at the writer's pace, with room for the cut.
        assert words(s.narration) <= max(
            words(s.narration.split(".")[0]) + 1, (s.duration - 0.7) * 2.6 + 1
        ), s
    assert len({s.narration for s in board.scenes}) == len(board.scenes)  # no beat repeats another
    # Deterministic: the same idea, the same storyboard.
    assert offline.write_storyboard(idea, offline.expand(idea), seconds=seconds) == board


def test_the_offline_writer_reads_tone_and_format_from_the_idea_and_keeps_what_is_given() -> None:
    assert offline.expand("How to make cold brew coffee at home").format == "howto"
    assert offline.expand("5 mistakes every new startup founder makes").format == "listicle"
    assert offline.expand("The secret history of the Voynich manuscript").tone == "mysterious"
    assert offline.expand("Sleep better with a calm evening routine").tone == "calm"
    given = offline.expand("Why cats purr", tone="dramatic", format="myth", audience="cat owners")
    assert (given.tone, given.format, given.audience) == ("dramatic", "myth", "cat owners")
    assert given.hooks[0] == "Why cats purr?"


def test_at_least_as_many_scenes_as_images_the_user_brought() -> None:
    plan = offline.expand("Our trip to Lisbon")
    board = offline.write_storyboard("Our trip to Lisbon", plan, seconds=40, min_scenes=8)
    assert len(board.scenes) == 8 and math.isclose(board.seconds, 40)


@pytest.mark.parametrize(
    ("idea", "language"),
    [
        ("Das Meer ist blau. Wellen tragen Geschichten. Jeder Tropfen zählt.", "de"),
        ("El café frío se prepara despacio, con paciencia y agua fresca.", "es"),
        ("猫はなぜ箱が好きなのか。", "ja"),
    ],
)
def test_other_languages_get_the_ideas_own_words_and_no_english(idea: str, language: str) -> None:
    plan = offline.expand(idea, language=language)
    board = offline.write_storyboard(idea, plan, seconds=30, language=language)
    assert math.isclose(board.seconds, 30)
    said = " ".join(s.narration for s in board.scenes)
    assert said.strip()
    given = set(re.findall(r"\w+", idea.lower()))
    assert set(re.findall(r"\w+", said.lower())) <= given
    shown = " ".join(s.on_screen_text for s in board.scenes)
    assert set(re.findall(r"\w+", shown.lower())) <= given


def test_a_model_storyboard_a_little_off_the_length_is_scaled_to_it() -> None:
    data = {"title": "t", "scenes": [scene(duration=d) for d in (4, 8, 8, 8, 4)]}  # 32 s for 30
    board = check_storyboard(data, seconds=30)
    assert math.isclose(board.seconds, 30, abs_tol=1e-6)
    assert board.scenes[1].duration == pytest.approx(7.5, abs=0.01)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"title": "t", "scenes": [scene(duration=10)] * 5}, "add up to 50"),  # far off 30 s
        ({"title": "t", "scenes": [scene(duration=15)] * 2}, "at least 3 scenes"),
        ({"title": "t", "scenes": [scene(onScreenText="a b c d e f g h i")] * 6}, "scenes[0].onScreenText"),
        ({"scenes": "none"}, "scenes"),
    ],
)
def test_a_model_storyboard_that_breaks_the_rules_is_sent_back_with_its_problems(
    data: object, said: str
) -> None:
    with pytest.raises(Invalid) as caught:
        check_storyboard(data, seconds=30)
    assert said in str(caught.value)


def test_a_model_expansion_is_checked_and_the_users_choices_win() -> None:
    good = {
        "title": "Octopus brains",
        "logline": "Why octopuses outsmart us",
        "tone": "playful",
        "format": "explainer",
        "audience": "teens",
        "hooks": ["Eight arms, nine brains."],
        "outline": ["Arms that think", "Escape artists", "What it means"],
    }
    plan = check_expansion(good, tone="dramatic", format=None, audience=None)
    assert (plan.tone, plan.format, plan.audience) == ("dramatic", "explainer", "teens")
    with pytest.raises(Invalid):
        check_expansion({**good, "tone": "sarcastic"}, tone=None, format=None, audience=None)
    with pytest.raises(Invalid):
        check_expansion({**good, "outline": ["one"]}, tone=None, format=None, audience=None)


@pytest.mark.parametrize("schema", [EXPANSION_SCHEMA, STORYBOARD_SCHEMA])
def test_the_schemas_are_in_openais_strict_subset(schema: dict[str, Any]) -> None:
    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])
            for child in node["properties"].values():
                walk(child)
        if node.get("type") == "array":
            walk(node["items"])

    walk(schema)
