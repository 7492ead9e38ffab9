"""An explainer's timeline: each scene's picture on screen while its narration plays, joined by crossfades,
with word-timed captions of the narration.

Timing: the narrations play back to back; scene k's picture is on screen from half a transition before its
narration starts to half a transition after it ends, so neighbouring pictures crossfade around each seam and
the video lasts the narrations plus one transition.
"""

from dataclasses import dataclass
from pathlib import Path

from media.providers.visual.base import Theme
from media.providers.voice.base import Speech
from media.timeline.model import (
    CaptionsClip,
    ImageClip,
    KenBurns,
    Output,
    SoundClip,
    SoundTrack,
    TextStyle,
    Timeline,
    Track,
    Transition,
    Word,
)

TRANSITION_SECONDS = 0.5
# visualStyle -> the colours visuals are drawn in.
THEMES: dict[str, Theme] = {
    "dark": Theme(),
    "light": Theme(background="#f8fafc", foreground="#0f172a", accent="#0369a1", muted="#475569"),
    "warm": Theme(background="#1c1917", foreground="#fafaf9", accent="#f59e0b", muted="#a8a29e"),
    "ocean": Theme(background="#082f49", foreground="#f0f9ff", accent="#2dd4bf", muted="#7dd3fc"),
}


@dataclass(frozen=True)
class ExplainerLook:
    width: int
    height: int
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23
    caption_font: Path | None = None  # a font covering the narration's script; DejaVu Sans by default
    captions: bool = True


def explainer_timeline(speeches: list[Speech], pictures: list[Path], look: ExplainerLook) -> Timeline:
    if not speeches or len(speeches) != len(pictures):
        raise ValueError("one speech and one picture per scene")
    half = TRANSITION_SECONDS / 2
    fade = Transition(kind="crossfade", duration=TRANSITION_SECONDS)
    images, voices, captions = [], [], []
    spoken = 0.0  # where the next narration starts, counted from half a transition in
    for k, (speech, picture) in enumerate(zip(speeches, pictures, strict=True)):
        images.append(
            ImageClip(
                source=picture,
                start=spoken,
                duration=speech.duration + TRANSITION_SECONDS,
                # A slow push-in keeps a still slide alive without making its text hard to read.
                ken_burns=KenBurns(zoom="in", amount=0.04),
                transition=fade if k > 0 else None,
            )
        )
        voices.append(SoundClip(source=speech.audio, start=spoken + half, role="narration"))
        words = [
            Word(text=w.text, start=w.start, end=max(w.end, w.start + 0.01))
            for w in speech.words
            if w.start < speech.duration
        ]
        if look.captions and words:
            captions.append(
                CaptionsClip(
                    start=spoken + half,
                    duration=speech.duration,
                    words=words,
                    style=TextStyle(
                        font=look.caption_font,
                        size=max(24.0, min(look.width, look.height) * 0.05),
                        stroke_width=max(2, round(min(look.width, look.height) * 0.004)),
                        box="#00000090",
                    ),
                )
            )
        spoken += speech.duration
    output = Output(
        width=look.width,
        height=look.height,
        fps=look.fps,
        preset=look.preset,
        crf=look.crf,
        duration=spoken + TRANSITION_SECONDS,
        poster_time=min(spoken, TRANSITION_SECONDS + speeches[0].duration / 2),
    )
    tracks = [Track(clips=list(images))]
    if captions:
        tracks.append(Track(clips=list(captions)))
    return Timeline(output=output, tracks=tracks, audio=[SoundTrack(clips=voices)])
