"""How long each of an ad's four scenes lasts once its voiceover has been spoken.

The style plans each scene's length (adding up to 30 s). A voiceover line is never cut: a scene whose line
needs more time than planned takes it from the scenes that have time to spare, in proportion to their spare
time, and the ad still lasts exactly 30 s. When the four lines together need more than 30 s there is nothing
to take from, and the job fails with VOICE_TOO_LONG naming the lines.
"""

from collections.abc import Sequence

from media.errors import MediaError
from media.kinds.ad.styles import AD_SECONDS, MIN_END_CARD_SECONDS

LEAD_SECONDS = 0.3  # from a scene's start to its line: the picture lands before the voice does
TAIL_SECONDS = 0.3  # from a line's end to the next scene: the last word is never clipped by a cut
MIN_SCENE_SECONDS = 2.0  # a scene shorter than this reads as a glitch, not a shot
_EPSILON = 1e-6


def needed(voice_seconds: float, index: int, count: int) -> float:
    least = MIN_END_CARD_SECONDS if index == count - 1 else MIN_SCENE_SECONDS
    return max(least, LEAD_SECONDS + voice_seconds + TAIL_SECONDS)


def scene_lengths(
    planned: Sequence[float], voices: Sequence[float], total: float = AD_SECONDS
) -> list[float]:
    """Each scene's length: as planned where its line fits, longer where it does not, adding up to `total`."""
    if len(planned) != len(voices) or not planned:
        raise ValueError("one planned length per voiceover line")
    need = [needed(v, k, len(voices)) for k, v in enumerate(voices)]
    if sum(need) > total + _EPSILON:
        lines = ", ".join(f"scene {k + 1} {v:.1f} s" for k, v in enumerate(voices))
        raise MediaError(
            "VOICE_TOO_LONG",
            f"the voiceover lines ({lines}) need {sum(need):.1f} s with their pauses, more than the "
            f"{total:g} s ad; shorten the description or the call to action",
        )
    scale = total / sum(planned)
    lengths = [p * scale for p in planned]
    deficit = sum(max(0.0, n - length) for n, length in zip(need, lengths, strict=True))
    if deficit > _EPSILON:
        spare = [max(0.0, length - n) for n, length in zip(need, lengths, strict=True)]
        pool = sum(spare)  # >= deficit, since sum(need) <= total
        lengths = [
            max(n, length - deficit * s / pool) for n, length, s in zip(need, lengths, spare, strict=True)
        ]
    # Rounded to milliseconds, the last scene absorbing the rounding so that the whole stays exact.
    rounded = [round(length, 3) for length in lengths[:-1]]
    return [*rounded, round(total - sum(rounded), 6)]


def scene_starts(lengths: Sequence[float]) -> list[float]:
    starts, at = [], 0.0
    for length in lengths:
        starts.append(round(at, 6))
        at += length
    return starts
