"""The AI scene video's ratio table, exactly as the seed gives it, and the fallback for a scenario without a
resolution or with one outside the table (a warning, not silence)."""

from __future__ import annotations

import pytest

from media.kinds.scene import DEFAULT_RESOLUTION, MOTION_RATIOS, nearest, parse_ratio, plan_scene

SEED = [
    ("1280:720", "1920:1080"),
    ("720:1280", "1080:1920"),
    ("1104:832", "1168:880"),
    ("832:1104", "1080:1440"),
    ("960:960", "1024:1024"),
    ("1584:672", "1920:1080"),
    ("1280:768", "1920:1080"),
    ("768:1280", "1080:1920"),
]


@pytest.mark.parametrize(("video", "image"), SEED)
def test_each_seed_resolution_maps_to_its_image_ratio_with_no_warning(video: str, image: str) -> None:
    plan = plan_scene(video)
    assert (plan.video_ratio, plan.image_ratio, plan.warnings) == (video, image, ())
    assert plan.video_size == parse_ratio(video) and plan.image_size == parse_ratio(image)
    assert plan.motion_ratio in MOTION_RATIOS


@pytest.mark.parametrize(("resolution", "says"), [(None, "no resolution"), ("", "no resolution"),
                                                  ("1920:1080", "'1920:1080' is not one of"),
                                                  ("640:480", "'640:480' is not one of")])  # fmt: skip
def test_a_missing_or_unknown_resolution_falls_back_to_720_by_1280_and_says_so(
    resolution: str | None, says: str
) -> None:
    plan = plan_scene(resolution)
    assert (
        (plan.video_ratio, plan.image_ratio) == (DEFAULT_RESOLUTION, "1080:1920") == ("720:1280", "1080:1920")
    )
    assert len(plan.warnings) == 1 and says in plan.warnings[0] and "720:1280" in plan.warnings[0]


def test_the_retired_ratios_are_asked_as_the_nearest_gen4_turbo_accepts() -> None:
    assert plan_scene("1280:768").motion_ratio == "1280:720"
    assert plan_scene("768:1280").motion_ratio == "720:1280"
    assert [nearest(r, MOTION_RATIOS) for r in MOTION_RATIOS] == list(MOTION_RATIOS)


@pytest.mark.parametrize("bad", ["16:9x", "1280x720", ":720", "0:720", "1280:", "1:720", "123456:720"])
def test_a_ratio_that_is_not_two_whole_numbers_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ratio(bad)
