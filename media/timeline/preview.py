"""A preview of a timeline: the same video at half the size, encoded with x264's fastest preset.

Everything measured in pixels shrinks with the frame (positions, sizes, text and its stroke, shadow and
padding); shares of the frame ("25%"), times and colours stay as they are, so the preview shows the same
composition about four times faster.
"""

import math
from typing import Any

from media.timeline.model import Length, TextStyle, Timeline
from media.timeline.schedule import even

SCALE = 0.5
PRESET = "ultrafast"
_LENGTHS = ("x", "y", "width", "height", "max_width")


def preview_of(timeline: Timeline) -> Timeline:
    out = timeline.output
    output = out.model_copy(
        update={
            "width": max(16, even(out.width * SCALE)),
            "height": max(16, even(out.height * SCALE)),
            "preset": PRESET,
        }
    )
    tracks = [
        track.model_copy(update={"clips": [clip.model_copy(update=_scaled(clip)) for clip in track.clips]})
        for track in timeline.tracks
    ]
    return timeline.model_copy(update={"output": output, "tracks": tracks})


def _scaled(clip: Any) -> dict[str, Any]:
    update: dict[str, Any] = {name: _length(getattr(clip, name)) for name in _LENGTHS if hasattr(clip, name)}
    style = getattr(clip, "style", None)
    if isinstance(style, TextStyle):
        update["style"] = style.model_copy(
            update={
                "size": style.size * SCALE,
                "stroke_width": math.ceil(style.stroke_width * SCALE),  # a thin stroke stays
                "shadow_offset": (
                    round(style.shadow_offset[0] * SCALE),
                    round(style.shadow_offset[1] * SCALE),
                ),
                "box_padding": round(style.box_padding * SCALE),
            }
        )
    return update


def _length(value: Length | None) -> Length | None:
    return value * SCALE if isinstance(value, float | int) else value
