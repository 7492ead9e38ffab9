"""Time math of a timeline, free of pixels and PyAV: where each clip sits, which clips a frame shows, and how
each looks at that moment (opacity, offset, scale, wipe, fade to black) from its animations and transitions.

Frame i shows time i / fps. A clip is on screen for start <= t < end. Two consecutive clips on a track joined
by a transition overlap by its duration; the incoming clip is drawn above the outgoing one.
"""

import math
import re
from dataclasses import dataclass, replace

from media.timeline.model import Animation, KenBurns, Timeline, Transition, VisualClip

EPSILON = 1e-6  # keeps exact times like 0.3 s at 10 fps on frame 3 despite float error


@dataclass(frozen=True)
class Placed:
    path: str  # "tracks[1].clips[3]", how errors name the clip
    track: int
    index: int
    clip: VisualClip
    start: float
    end: float
    incoming: Transition | None  # joins this clip to the previous one on its track
    outgoing: Transition | None  # joins the next clip to this one


@dataclass(frozen=True)
class Look:
    """How a clip appears in one frame, relative to its resting box."""

    opacity: float = 1.0
    dx: float = 0.0  # pixels
    dy: float = 0.0
    scale: float = 1.0  # around the box centre
    darken: float = 0.0  # 0..1 towards black (fade through black)
    reveal: tuple[float, float, float, float] | None = None  # visible frame rect x0, y0, x1, y1 (a wipe)

    @property
    def moved(self) -> bool:
        return self.dx != 0.0 or self.dy != 0.0 or self.scale != 1.0 or self.reveal is not None


def place(timeline: Timeline) -> list[Placed]:
    """Every visual clip with its start and end resolved, in drawing order (track, z, position on track)."""
    placed: list[Placed] = []
    for t_index, track in enumerate(timeline.tracks):
        previous_end = 0.0
        clips = track.clips
        for c_index, clip in enumerate(clips):
            overlap = clip.transition.duration if clip.transition is not None and c_index > 0 else 0.0
            start = clip.start if clip.start is not None else max(0.0, previous_end - overlap)
            following = clips[c_index + 1].transition if c_index + 1 < len(clips) else None
            placed.append(
                Placed(
                    f"tracks[{t_index}].clips[{c_index}]",
                    t_index,
                    c_index,
                    clip,
                    start,
                    start + clip.duration,
                    clip.transition if c_index > 0 else None,
                    following,
                )
            )
            previous_end = start + clip.duration
    placed.sort(key=lambda p: (p.track, p.clip.z, p.index))
    return placed


def duration_of(timeline: Timeline, placed: list[Placed]) -> float:
    if timeline.output.duration is not None:
        return timeline.output.duration
    ends = [p.end for p in placed]
    for track in timeline.audio:
        ends.extend(c.start + c.duration for c in track.clips if c.duration is not None)
    return max(ends, default=0.0)


def frame_count(duration: float, fps: int) -> int:
    return round(duration * fps)


def frame_at(seconds: float, fps: int, frames: int) -> int:
    return min(frames - 1, max(0, int(seconds * fps + EPSILON)))


def on_screen(placed: list[Placed], t: float) -> list[Placed]:
    return [p for p in placed if p.start <= t + EPSILON and t + EPSILON < p.end]


def look(p: Placed, t: float, width: int, height: int, box: tuple[int, int, int, int]) -> Look:
    """The clip's look at time t; `box` is its resting x, y, w, h in frame pixels."""
    result = Look(opacity=p.clip.opacity)
    local, remaining = t - p.start, p.end - t
    if p.clip.drift is not None:
        done = min(1.0, max(0.0, local / (p.end - p.start)))
        drift = p.clip.drift
        result = replace(result, dx=drift.x * done, dy=drift.y * done, scale=1.0 + (drift.scale - 1.0) * done)
    if p.clip.enter is not None and local < p.clip.enter.duration:
        result = _animate(result, p.clip.enter, local / p.clip.enter.duration, width, height, box)
    if p.clip.exit is not None and remaining < p.clip.exit.duration:
        result = _animate(result, p.clip.exit, remaining / p.clip.exit.duration, width, height, box)
    if p.incoming is not None and local < p.incoming.duration:
        result = _transition(result, p.incoming, local / p.incoming.duration, True, width, height)
    if p.outgoing is not None and remaining < p.outgoing.duration:
        progress = 1.0 - remaining / p.outgoing.duration
        result = _transition(result, p.outgoing, progress, False, width, height)
    return result


def smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def _ease_out(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return 1.0 - (1.0 - x) ** 3


def _back_out(x: float) -> float:
    # Overshoots to ~1.1 and settles at 1: the "pop".
    x = min(1.0, max(0.0, x)) - 1.0
    return 1.0 + x * x * (2.70158 * x + 1.70158)


def _animate(
    look: Look, anim: Animation, shown: float, width: int, height: int, box: tuple[int, int, int, int]
) -> Look:
    """`shown` runs 0 -> 1 as the layer enters (or backwards as it leaves)."""
    shown = min(1.0, max(0.0, shown))
    if anim.kind == "fade":
        return replace(look, opacity=look.opacity * shown)
    if anim.kind == "pop":
        return replace(
            look,
            opacity=look.opacity * min(1.0, 2.0 * shown),
            scale=look.scale * (0.5 + 0.5 * _back_out(shown)),
        )
    x, y, w, h = box
    away = 1.0 - _ease_out(shown)  # slide: starts just outside the frame edge on that side
    if anim.side == "left":
        return replace(look, dx=look.dx - away * (x + w))
    if anim.side == "right":
        return replace(look, dx=look.dx + away * (width - x))
    if anim.side == "top":
        return replace(look, dy=look.dy - away * (y + h))
    return replace(look, dy=look.dy + away * (height - y))


def _transition(look: Look, tr: Transition, progress: float, incoming: bool, width: int, height: int) -> Look:
    p = min(1.0, max(0.0, progress))
    if tr.kind == "crossfade":
        # Linear and on the incoming clip only: outgoing * (1 - p) + incoming * p, like a dissolve.
        return replace(look, opacity=look.opacity * p) if incoming else look
    if tr.kind == "fade_black":
        if incoming:
            return replace(look, opacity=0.0) if p < 0.5 else replace(look, darken=2.0 * (1.0 - p))
        return replace(look, darken=2.0 * p) if p < 0.5 else replace(look, opacity=0.0)
    if tr.kind == "zoom":
        if incoming:
            return replace(look, opacity=look.opacity * p)
        return replace(look, scale=look.scale * (1.0 + 0.3 * smoothstep(p)))
    e = smoothstep(p)
    sign_x = {"left": -1.0, "right": 1.0}.get(tr.side, 0.0)
    sign_y = {"top": -1.0, "bottom": 1.0}.get(tr.side, 0.0)
    if tr.kind == "slide":  # the incoming clip pushes the outgoing one out of the frame
        shift = (1.0 - e) if incoming else -e
        return replace(look, dx=look.dx + sign_x * shift * width, dy=look.dy + sign_y * shift * height)
    if not incoming:  # wipe: the outgoing clip stays, the incoming one is revealed from `side`
        return look
    edge_x, edge_y = e * width, e * height
    reveal = {
        "left": (0.0, 0.0, edge_x, float(height)),
        "right": (width - edge_x, 0.0, float(width), float(height)),
        "top": (0.0, 0.0, float(width), edge_y),
        "bottom": (0.0, height - edge_y, float(width), float(height)),
    }[tr.side]
    return replace(look, reveal=reveal)


@dataclass(frozen=True)
class Motion:
    zoom: float  # 1.0 shows the whole fitted image, 1 + amount the tightest view
    anchor_x: float  # point of the frame (0..1) that stays put while zooming; off-centre, so it also pans
    anchor_y: float


def ken_burns_anchor(kb: KenBurns) -> tuple[float, float]:
    """Zooming in moves the view towards the anchor, zooming out away from it; so a pan is an off-centre
    anchor on the side the view should drift to (zoom in) or the opposite side (zoom out)."""
    if kb.anchor is not None:
        return kb.anchor
    towards = 0.2 if kb.zoom == "in" else -0.2
    offset = {"left": (-towards, 0.0), "right": (towards, 0.0), "up": (0.0, -towards), "down": (0.0, towards)}
    dx, dy = offset.get(kb.pan, (0.0, 0.0))
    return 0.5 + dx, 0.5 + dy


def ken_burns(kb: KenBurns, progress: float) -> Motion:
    amount = progress if kb.zoom == "in" else 1.0 - progress
    anchor_x, anchor_y = ken_burns_anchor(kb)
    return Motion(1.0 + kb.amount * min(1.0, max(0.0, amount)), anchor_x, anchor_y)


_PERCENT = re.compile(r"^(-?\d+(?:\.\d+)?)%$")


def pixels(length: float | str | None, whole: int, default: float) -> float:
    if length is None:
        return default
    if isinstance(length, str):
        match = _PERCENT.match(length)
        return whole * float(match.group(1)) / 100.0 if match else default
    return float(length)


def even(value: float) -> int:
    """Chroma is half resolution, so boxes start and end on even pixels."""
    return 2 * math.floor(value / 2 + 0.5)


def resting_box(clip: VisualClip, width: int, height: int) -> tuple[int, int, int, int]:
    x = even(pixels(clip.x, width, 0.0))
    y = even(pixels(clip.y, height, 0.0))
    w = max(2, even(pixels(clip.width, width, width)))
    h = max(2, even(pixels(clip.height, height, height)))
    return x, y, w, h
