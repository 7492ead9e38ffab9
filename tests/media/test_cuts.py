"""Where a long timeline is cut into segments: near the target length, at scene boundaries, preferring
those nothing spans, never inside a decoded video (media.timeline.cuts). Time math only, no rendering."""

from pathlib import Path
from typing import Any

from media.timeline.cuts import plan_segments
from media.timeline.model import Timeline
from media.timeline.schedule import duration_of, frame_count, place

FPS = 10


def _plan(
    clips: list[dict[str, Any]], target_seconds: float, *tracks: list[dict[str, Any]]
) -> list[tuple[int, int]]:
    timeline = Timeline.model_validate(
        {
            "output": {"width": 64, "height": 64, "fps": FPS},
            "tracks": [{"clips": c} for c in (clips, *tracks)],
        }
    )
    placed = place(timeline)
    total = frame_count(duration_of(timeline, placed), FPS)
    return plan_segments(placed, FPS, total, round(target_seconds * FPS))


def _solid(seconds: float, **more: Any) -> dict[str, Any]:
    return {"type": "solid", "colour": "#123456", "duration": seconds, **more}


def _covers(ranges: list[tuple[int, int]], total: int) -> bool:
    return (
        ranges[0][0] == 0
        and ranges[-1][1] == total
        and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    )


def test_a_timeline_shorter_than_two_targets_is_one_piece() -> None:
    assert _plan([_solid(5.0)], 3.0) == [(0, 50)]


def test_cuts_fall_on_scene_boundaries_nearest_the_target() -> None:
    ranges = _plan([_solid(7.0), _solid(7.0), _solid(7.0), _solid(7.0)], 10.0)
    assert ranges == [(0, 70), (70, 140), (140, 280)]  # never shorter than half nor longer than 1.5 targets


def test_a_hard_cut_is_preferred_to_a_crossfade_nearer_the_target() -> None:
    fade = {"transition": {"kind": "crossfade", "duration": 1.0}}
    # Boundaries: a crossfade around 10 s (the target) and a hard cut at 12 s.
    clips = [_solid(10.5), _solid(2.5, **fade), _solid(20.0)]
    assert _plan(clips, 10.0)[0] == (0, 120)


def test_a_long_still_is_cut_into_equal_segments_near_the_target_covering_every_frame() -> None:
    ranges = _plan([_solid(95.0)], 30.0)
    assert _covers(ranges, 950)
    assert [b - a for a, b in ranges] == [317, 316, 317]  # equal shares, not 300 + 300 + the rest


def test_no_cut_falls_inside_a_decoded_video(tmp_path: Path) -> None:
    video = {"type": "video", "source": str(tmp_path / "v.mp4"), "start": 8.0, "duration": 6.0}
    ranges = _plan([_solid(40.0)], 10.0, [video])
    assert _covers(ranges, 400)
    assert all(not 80 < cut < 140 for cut, _ in ranges[1:]), ranges
