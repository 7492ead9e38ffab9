"""A short's timeline: each scene's picture moving (a push-in or pull-out drifting a different way each
scene), joined by transitions, its headline animated in and floating slowly over the picture (the two move
at different speeds: parallax), word-highlighted captions of the narration in the safe area, and the mixed
soundtrack.

Timing: scene k lasts exactly its storyboard duration, [start, start + duration); its picture is on screen
from half a transition before that to half a transition after, so neighbours overlap by one transition
centred on the cut, and the video lasts exactly the storyboard's sum.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.errors import MediaError
from media.kinds.short_look import (
    CAPTIONS_W,
    CAPTIONS_X,
    CAPTIONS_Y,
    HEADLINE_W,
    HEADLINE_X,
    HEADLINE_Y,
    PALETTES,
    caption_style,
    headline_style,
    highlight_colour,
)
from media.timeline.model import (
    Animation,
    CaptionsClip,
    Drift,
    ImageClip,
    KenBurns,
    Output,
    SoundClip,
    SoundTrack,
    TextClip,
    Timeline,
    Track,
    Transition,
    VideoClip,
    Word,
)

TRANSITION_SECONDS = 0.4
# A scene's narration starts this long after its cut (past the transition's middle), a voice that runs on
# past its scene's end delays the next by at least GAP_SECONDS, and the last one ends TAIL_SECONDS before
# the video does.
LEAD_SECONDS, GAP_SECONDS, TAIL_SECONDS = 0.3, 0.15, 0.15
SAMPLE_RATE = 48000
# Picture motion by scene, in turn: push in and pull out alternate, the drift changes side each time.
Zoom = Literal["in", "out"]
Pan = Literal["none", "left", "right", "up", "down"]
_MOTIONS: tuple[tuple[Zoom, Pan], ...] = (
    ("in", "up"),
    ("out", "left"),
    ("in", "right"),
    ("out", "down"),
    ("in", "left"),
    ("out", "up"),
)
_TRANSITIONS = (
    Transition(kind="slide", duration=TRANSITION_SECONDS, side="bottom"),
    Transition(kind="zoom", duration=TRANSITION_SECONDS),
    Transition(kind="wipe", duration=TRANSITION_SECONDS, side="left"),
    Transition(kind="crossfade", duration=TRANSITION_SECONDS),
)


@dataclass(frozen=True)
class ShortLook:
    width: int
    height: int
    tone: str
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23
    captions: bool = True
    caption_style: str = "highlight"
    font: Path | None = None  # a font for scripts DejaVu lacks (CLIPFORGE_CAPTION_FONT)


@dataclass(frozen=True)
class ShortScene:
    start: float  # seconds in the video
    duration: float
    picture: Path  # a storage key or a local file
    headline: str
    voice_start: float  # where its narration starts, in seconds in the video
    words: tuple[Word, ...]  # relative to voice_start
    clip: Path | None = None  # the picture made into video (image to video): shown instead of the still


def place_voices(starts: list[float], lengths: list[float | None], total: float) -> list[float | None]:
    """Where each scene's narration starts in the video (None: a silent scene). MediaError
    NARRATION_TOO_LONG when the voices cannot all be said before the video ends."""
    placed: list[float | None] = []
    free = 0.0  # when the previous voice has finished
    for k, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        if length is None:
            placed.append(None)
            continue
        begin = max(start + LEAD_SECONDS, free + GAP_SECONDS if k else 0.0)
        placed.append(begin)
        free = begin + length
    over = free + TAIL_SECONDS - total
    if over > 1e-6:
        raise MediaError(
            "NARRATION_TOO_LONG",
            f"the narration takes {over:.1f} s longer than the storyboard's {total:g} s: shorten the "
            "narration or make the scenes longer",
        )
    return placed


def short_timeline(scenes: list[ShortScene], soundtrack: Path, look: ShortLook) -> Timeline:
    if not scenes:
        raise ValueError("a short has at least one scene")
    total = scenes[-1].start + scenes[-1].duration
    half = TRANSITION_SECONDS / 2
    pictures: list[ImageClip | VideoClip] = []
    for k, scene in enumerate(scenes):
        begin = max(0.0, scene.start - half)
        end = min(total, scene.start + scene.duration + half)
        zoom, pan = _MOTIONS[k % len(_MOTIONS)]
        transition = _TRANSITIONS[(k - 1) % len(_TRANSITIONS)] if k else None
        if scene.clip is not None:  # the provider's motion, fitted to the frame; looped if it runs short
            pictures.append(
                VideoClip(
                    source=scene.clip, start=begin, duration=end - begin, fit="cover", loop=True,
                    transition=transition,
                )
            )  # fmt: skip
            continue
        pictures.append(
            ImageClip(
                source=scene.picture,
                start=begin,
                duration=end - begin,
                ken_burns=KenBurns(zoom=zoom, pan=pan, amount=0.12),
                transition=transition,
            )
        )
    tracks = [Track(clips=list(pictures)), Track(clips=headlines(scenes, look))]
    if look.captions:
        tracks.append(Track(clips=list(caption_clips(scenes, look))))
    output = Output(
        width=look.width,
        height=look.height,
        fps=look.fps,
        preset=look.preset,
        crf=look.crf,
        sample_rate=SAMPLE_RATE,
        loudness_lufs=None,  # the audio stage mixed and normalised the soundtrack already
        duration=total,
        # The hook's frame with its headline settled: what the thumbnail should show.
        poster_time=min(total, scenes[0].start + min(scenes[0].duration * 0.6, 2.0)),
    )
    sound = SoundClip(source=soundtrack, role="effect")
    return Timeline(output=output, tracks=tracks, audio=[SoundTrack(clips=[sound])])


def headlines(scenes: list[ShortScene], look: ShortLook) -> list[TextClip]:
    palette = PALETTES[look.tone]
    style = headline_style(palette, look.width, look.font)
    clips: list[TextClip] = []
    for k, scene in enumerate(scenes):
        if not scene.headline.strip():
            continue
        delay = 0.15 if k else 0.05
        # The hook pops in; later headlines slide up from below, in time with the cut's motion.
        enter = Animation(kind="pop", duration=0.45) if k == 0 else Animation(kind="slide", duration=0.5)
        clips.append(
            TextClip(
                text=scene.headline.strip(),
                start=scene.start + delay,
                duration=max(0.5, scene.duration - delay - 0.05),
                x=f"{HEADLINE_X * 100:g}%",
                y=f"{HEADLINE_Y * 100:g}%",
                width=f"{HEADLINE_W * 100:g}%",
                style=style,
                enter=enter,
                exit=Animation(kind="fade", duration=0.25),
                drift=Drift(y=-0.02 * look.height, scale=1.05),
            )
        )
    return clips


def caption_clips(scenes: list[ShortScene], look: ShortLook) -> list[CaptionsClip]:
    """The captions of each scene's narration: the timeline's, and the subtitle files' (one source)."""
    palette = PALETTES[look.tone]
    total = scenes[-1].start + scenes[-1].duration if scenes else 0.0
    clips = []
    for scene in scenes:
        if not scene.words:
            continue
        end = scene.start + scene.duration
        spoken = scene.words[-1].end
        clips.append(
            CaptionsClip(
                start=scene.voice_start,
                # Until the scene ends, or the voice does when it runs on past the cut (the next voice
                # waits for it, so captions never overlap), never past the video's end.
                duration=min(max(end - scene.voice_start, spoken + 0.05), total - scene.voice_start),
                words=list(scene.words),
                x=f"{CAPTIONS_X * 100:g}%",
                y=f"{CAPTIONS_Y * 100:g}%",
                width=f"{CAPTIONS_W * 100:g}%",
                style=caption_style(palette, look.width, look.caption_style, look.font),
                highlight=highlight_colour(palette, look.caption_style),
                max_words=5,
            )
        )
    return clips
