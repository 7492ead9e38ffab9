"""Images, optional audio and overlay -> an MP4 slideshow with Ken Burns motion and crossfades, and a poster.

A slideshow is a timeline like every other video: images on one track, each with a Ken Burns move and joined
by crossfades, the overlay screened on top, the audio as a looped music clip that fades out. The engine's
fast paths (an opaque full-frame layer drawn straight into the frame, a crossfade as one addWeighted) keep
it at the cost the dedicated renderer had.

Timing contract: the video lasts `images * seconds_per_image`; image k owns [k*spi, (k+1)*spi); the crossfade
between k and k+1 is centred on their boundary; nothing fades at the very start or end.
"""

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from media.timeline.checks import X264_PRESETS
from media.timeline.model import (
    MAX_ZOOM,
    ImageClip,
    KenBurns,
    Output,
    OverlayClip,
    SoundClip,
    SoundTrack,
    Timeline,
    Track,
    Transition,
)


class SlideshowSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    images: list[Path] = Field(min_length=1, max_length=20)
    audio: Path | None = None
    overlay: Path | None = None
    overlay_opacity: float = Field(0.35, ge=0.0, le=1.0)
    width: int = Field(ge=16, le=4096)
    height: int = Field(ge=16, le=4096)
    fps: int = Field(30, ge=1, le=60)
    seconds_per_image: float = Field(4.0, gt=0.0, le=600.0)
    transition_seconds: float = Field(0.5, ge=0.0)
    preset: str = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    audio_fade_seconds: float = Field(2.0, ge=0.0)
    poster_time: float | None = Field(None, ge=0.0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (yuv420p halves them for chroma)")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}")
        if self.transition_seconds > self.seconds_per_image:
            raise ValueError("transition_seconds cannot exceed seconds_per_image")
        if self.poster_time is not None and self.poster_time >= self.duration_seconds:
            raise ValueError("poster_time must fall inside the video")
        return self

    @property
    def duration_seconds(self) -> float:
        return round(len(self.images) * self.seconds_per_image * self.fps) / self.fps

    def to_timeline(self) -> Timeline:
        count, spi = len(self.images), self.seconds_per_image
        half = self.transition_seconds / 2
        fade = Transition(kind="crossfade", duration=self.transition_seconds) if half > 0 else None
        clips = []
        for k, image in enumerate(self.images):
            # On screen from half a crossfade before its slot to half one after, except at the ends.
            before = half if k > 0 else 0.0
            after = half if k < count - 1 else 0.0
            clips.append(
                ImageClip(
                    source=image,
                    start=k * spi - before,
                    duration=spi + before + after,
                    fit="auto",
                    ken_burns=_ken_burns(k),
                    transition=fade if k > 0 else None,
                )
            )
        tracks = [Track(clips=clips)]
        duration = self.duration_seconds
        if self.overlay is not None:
            overlay = OverlayClip(
                source=self.overlay,
                start=0.0,
                duration=duration,
                opacity=self.overlay_opacity,
                blend="screen",
                grayscale=True,  # dust and grain are grey; this keeps the blend on the YUV planes
            )
            tracks.append(Track(clips=[overlay]))
        audio = []
        if self.audio is not None:
            music = SoundClip(source=self.audio, loop=True, fade_out=self.audio_fade_seconds, role="music")
            audio.append(SoundTrack(clips=[music]))
        output = Output(
            width=self.width,
            height=self.height,
            fps=self.fps,
            preset=self.preset,
            crf=self.crf,
            duration=duration,
            loudness_lufs=None,  # the user's track as it is
            poster_time=spi / 2 if self.poster_time is None else self.poster_time,
        )
        return Timeline(output=output, tracks=tracks, audio=audio)


def _ken_burns(image: int) -> KenBurns:
    """Even images zoom in, odd ones zoom out. With the anchor left of centre, zooming in drifts the view
    left and zooming out drifts it right, so the pan alternates with the zoom; the vertical anchor changes
    every second image for variety."""
    anchor_y = 0.4 if (image // 2) % 2 == 0 else 0.6
    return KenBurns(zoom="in" if image % 2 == 0 else "out", amount=MAX_ZOOM - 1.0, anchor=(0.3, anchor_y))
