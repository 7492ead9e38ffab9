"""Where a long timeline is cut into segments that render apart and join without re-encoding.

The compositor draws every still, text, caption, shape and Ken Burns layer as a function of the time alone, so
a segment that starts mid-crossfade or mid-caption draws the very frames a one-piece render draws. Decoded
video clips and overlays are read forward from their first frame, so no cut falls inside one. Among the
frames left, a cut prefers a scene boundary (a clip starting or ending) where nothing spans the cut, then any
scene boundary, then the frame nearest its aim: an equal share of what is left, in as many segments of about
the target length as fit. Each segment stays between half and one and a half times the target length.
"""

from media.timeline.model import OverlayClip, VideoClip
from media.timeline.schedule import Placed


def plan_segments(placed: list[Placed], fps: int, total: int, target_frames: int) -> list[tuple[int, int]]:
    """(first frame, end frame) of each segment, in order, covering 0..total."""
    if target_frames <= 0 or total < 2 * target_frames:
        return [(0, total)]
    spans = [(p.start * fps, p.end * fps) for p in placed]
    played = [
        (a, b) for (a, b), p in zip(spans, placed, strict=True) if isinstance(p.clip, VideoClip | OverlayClip)
    ]
    boundaries = sorted({round(edge) for span in spans for edge in span if 0 < round(edge) < total})

    def inside(frame: int, ranges: list[tuple[float, float]]) -> int:
        return sum(1 for a, b in ranges if a + 1e-6 < frame < b - 1e-6)

    cuts = [0]
    half, most = max(1, target_frames // 2), target_frames * 3 // 2
    while (parts := round((total - cuts[-1]) / target_frames)) > 1:
        # Aim at an equal share of what is left, so the segments come out alike in length (workers finish
        # together) and a cut's error does not pile up on the last segment.
        last = cuts[-1]
        want = last + (total - last) / parts
        low, high = last + half, min(last + most, total - half)
        scenes = [c for c in boundaries if low <= c <= high and not inside(c, played)]
        if scenes:
            cut = min(scenes, key=lambda c: (inside(c, spans) > 0, abs(c - want)))
        else:
            free = [c for c in range(low, high + 1) if not inside(c, played)]
            if not free:
                break  # a decoded video fills the whole window: the rest renders as one segment
            cut = min(free, key=lambda c: abs(c - want))
        cuts.append(cut)
    return list(zip(cuts, [*cuts[1:], total], strict=True))
