"""The AI scene video's ratios: the video ratio a scenario asks for, the ratio its still image is generated
at, and the ratio an image-to-video model is asked for.

A ratio is written as Runway writes it, "1280:720", and is also the picture's size in pixels. The table is
the seed's: each video ratio has the image ratio its picture is made at (a larger picture of nearly the same
shape, so the motion model has detail to work with). A scenario without a ratio, or with one not in the
table, gets 720:1280 (vertical video, the common case), and the job says so in a warning instead of guessing
silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from media.timeline.model import ImageClip, Output, Timeline, Track, VideoClip

# Video ratio -> image ratio, exactly as the seed maps them.
RESOLUTIONS: dict[str, str] = {
    "1280:720": "1920:1080",
    "720:1280": "1080:1920",
    "1104:832": "1168:880",
    "832:1104": "1080:1440",
    "960:960": "1024:1024",
    "1584:672": "1920:1080",
    "1280:768": "1920:1080",
    "768:1280": "1080:1920",
}
DEFAULT_RESOLUTION = "720:1280"
# What Runway's gen4_turbo accepts (NOTES.md); 1280:768 and 768:1280 were gen3a_turbo's, which is retired.
MOTION_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
# Whole seconds of video a scene may ask for: what gen4_turbo accepts. The offline motion keeps to the same
# range, so a scene made offline in development behaves the same with Runway in production.
MIN_SECONDS, MAX_SECONDS = 2, 10
MAX_PROMPT_CHARS = 1000  # Runway's limit on promptText, for both models
_RATIO = re.compile(r"^([1-9][0-9]{1,4}):([1-9][0-9]{1,4})$")


def parse_ratio(ratio: str) -> tuple[int, int]:
    """(width, height) of "W:H"; ValueError when it is not two whole numbers of 2 to 5 digits."""
    found = _RATIO.match(ratio.strip())
    if found is None:
        raise ValueError(f"{ratio!r} is not a ratio like 1280:720")
    return int(found[1]), int(found[2])


def nearest(ratio: str, choices: tuple[str, ...]) -> str:
    """The choice whose shape is closest to `ratio`'s (on a log scale, so 2:1 and 1:2 are as far from
    square), the ratio itself when it is one of them."""
    if ratio in choices:
        return ratio
    width, height = parse_ratio(ratio)
    aspect = math.log(width / height)
    return min(choices, key=lambda c: abs(math.log(_aspect(c)) - aspect))


def _aspect(ratio: str) -> float:
    width, height = parse_ratio(ratio)
    return width / height


@dataclass(frozen=True)
class ScenePlan:
    """The sizes of one scene video: the video's, its image's, and what the motion model is asked for."""

    video_ratio: str
    image_ratio: str
    motion_ratio: str  # the nearest ratio gen4_turbo accepts; the result is fitted to video_ratio
    warnings: tuple[str, ...] = ()

    @property
    def video_size(self) -> tuple[int, int]:
        return parse_ratio(self.video_ratio)

    @property
    def image_size(self) -> tuple[int, int]:
        return parse_ratio(self.image_ratio)


def plan_scene(resolution: str | None) -> ScenePlan:
    """The plan for a scenario's resolution; a missing or unknown one falls back to 720:1280, with a
    warning that says so."""
    wanted = (resolution or "").strip()
    warnings: list[str] = []
    if not wanted:
        warnings.append(f"the scenario has no resolution; using {DEFAULT_RESOLUTION}")
        wanted = DEFAULT_RESOLUTION
    elif wanted not in RESOLUTIONS:
        warnings.append(
            f"resolution {wanted!r} is not one of {', '.join(RESOLUTIONS)}; using {DEFAULT_RESOLUTION}"
        )
        wanted = DEFAULT_RESOLUTION
    return ScenePlan(wanted, RESOLUTIONS[wanted], nearest(wanted, MOTION_RATIOS), tuple(warnings))


def scene_timeline(
    clip: ImageClip | VideoClip, *, width: int, height: int, fps: int, preset: str, crf: int, seconds: float
) -> Timeline:
    """The scene's video as a timeline of its one clip (the vendor's video, or the still with a camera move),
    covering exactly width x height for `seconds`. Silent: a scene is one shot of a longer piece."""
    shot = clip.model_copy(update={"start": 0.0, "duration": seconds, "fit": "cover"})
    output = Output(
        width=width, height=height, fps=fps, preset=preset, crf=crf, duration=seconds, loudness_lufs=None
    )
    return Timeline(output=output, tracks=[Track(clips=[shot])])
