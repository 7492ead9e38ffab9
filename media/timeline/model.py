"""The declarative timeline every job kind compiles to: output settings, visual tracks, audio tracks.

Plain data (pydantic): it is stored as a job's manifest and checked as a whole by `media.timeline.checks`
before anything renders. Times are seconds. Lengths are pixels (a number) or a share of the frame ("25%").
A clip without `start` follows the previous clip on its track, overlapping it by its transition.
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")]
Length = float | Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?%$")]
Side = Literal["left", "right", "top", "bottom"]
Fit = Literal[
    "cover", "contain", "blur", "auto"
]  # blur: contain on a blurred fill; auto: cover unless far off
# The slideshow's tightest Ken Burns view (1/1.15 of the widest), and the zoom the renderer's canvases are
# sized for by default. Here rather than in media.render.frames so the slideshow can name it without numpy.
MAX_ZOOM = 1.15


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Animation(_Data):
    """How a layer enters or leaves: fade, slide in from (or out to) a side, or pop (scale with overshoot)."""

    kind: Literal["fade", "slide", "pop"]
    duration: float = Field(0.4, gt=0.0)
    side: Side = "bottom"


class Transition(_Data):
    """Joins a clip to the previous one on its track; the two overlap by `duration`."""

    kind: Literal["crossfade", "fade_black", "slide", "wipe", "zoom"]
    duration: float = Field(gt=0.0)
    side: Side = "right"  # where the incoming clip comes from (slide) or where the wipe starts


class KenBurns(_Data):
    zoom: Literal["in", "out"] = "in"
    pan: Literal["none", "left", "right", "up", "down"] = "none"
    amount: float = Field(0.15, gt=0.0, le=0.5)  # 0.15: the tightest view is 1/1.15 of the widest
    # The frame point (0..1) that stays put while zooming; when given it replaces `pan`.
    anchor: tuple[float, float] | None = None


class Drift(_Data):
    """A slow, steady move across the clip's whole time: a layer floating over a Ken Burns background moves
    at another speed than the picture behind it, which reads as depth (parallax). `x`, `y`: pixels moved
    from the clip's start to its end; `scale`: its size at the end (1: unchanged)."""

    x: float = 0.0
    y: float = 0.0
    scale: float = Field(1.0, gt=0.0, le=4.0)


class _Visual(_Data):
    start: float | None = None
    duration: float = Field(gt=0.0)
    z: int = 0
    opacity: float = Field(1.0, ge=0.0, le=1.0)
    x: Length = 0.0
    y: Length = 0.0
    width: Length | None = None  # None: the frame's width
    height: Length | None = None
    enter: Animation | None = None
    exit: Animation | None = None
    transition: Transition | None = None
    drift: Drift | None = None


class ImageClip(_Visual):
    type: Literal["image"] = "image"
    source: Path
    fit: Fit = "cover"
    ken_burns: KenBurns | None = None


class VideoClip(_Visual):
    type: Literal["video"] = "video"
    source: Path
    fit: Fit = "cover"
    trim_start: float = Field(0.0, ge=0.0)
    loop: bool = False
    keep_audio: bool = False
    volume: float = Field(1.0, ge=0.0, le=4.0)


class SolidClip(_Visual):
    type: Literal["solid"] = "solid"
    colour: Colour = "#000000"


class GradientClip(_Visual):
    type: Literal["gradient"] = "gradient"
    colours: list[Colour] = Field(min_length=2, max_length=8)
    angle: float = 90.0  # degrees; 90 runs top to bottom, 0 left to right


class TextStyle(_Data):
    font: Path | None = None  # a TTF/OTF file; None: DejaVu Sans from matplotlib
    mono: bool = False  # DejaVu Sans Mono when no font is given
    size: float = Field(48.0, gt=0.0, le=1000.0)
    colour: Colour = "#ffffff"
    stroke_width: int = Field(0, ge=0, le=50)
    stroke_colour: Colour = "#000000"
    shadow: bool = False
    shadow_colour: Colour = "#000000a0"
    shadow_offset: tuple[int, int] = (3, 3)
    box: Colour | None = None  # a background box behind the text
    box_padding: int = Field(12, ge=0, le=400)
    align: Literal["left", "center", "right"] = "center"
    line_spacing: float = Field(1.15, gt=0.5, le=4.0)


class TextClip(_Visual):
    type: Literal["text"] = "text"
    text: str = Field(min_length=1, max_length=5000)
    style: TextStyle = TextStyle()
    max_width: Length | None = None  # wrap lines longer than this; None: the layer's width


class Word(_Data):
    text: str = Field(min_length=1)
    start: float = Field(ge=0.0)
    end: float = Field(gt=0.0)


class CaptionsClip(_Visual):
    """Word-timed captions: the current phrase (a few words, at most two lines), the spoken word highlighted.
    Word times are relative to the clip's start. Placed in the lower safe area unless `y` is given."""

    type: Literal["captions"] = "captions"
    words: list[Word] = Field(min_length=1)
    style: TextStyle = TextStyle(stroke_width=4, size=56)
    highlight: Colour = "#ffd400"
    max_words: int = Field(7, ge=1, le=20)


class OverlayClip(_Visual):
    """A video blended over everything below it (film dust, light leaks)."""

    type: Literal["overlay"] = "overlay"
    source: Path
    blend: Literal["normal", "screen", "multiply", "overlay"] = "screen"
    loop: bool = True
    # Treat the overlay as grey: screen and multiply then stay on the YUV planes (fast), but a coloured
    # overlay loses its tint.
    grayscale: bool = False


VisualClip = Annotated[
    ImageClip | VideoClip | SolidClip | GradientClip | TextClip | CaptionsClip | OverlayClip,
    Field(discriminator="type"),
]
LAYER_TYPES = ("image", "video", "solid", "gradient", "text", "captions", "overlay")


class Track(_Data):
    clips: list[VisualClip] = Field(default_factory=list)


class SoundClip(_Data):
    source: Path
    start: float = Field(0.0, ge=0.0)
    trim_start: float = Field(0.0, ge=0.0)
    duration: float | None = Field(None, gt=0.0)  # None: to the source's end (or the video's, when looping)
    loop: bool = False
    volume: float = Field(1.0, ge=0.0, le=4.0)
    fade_in: float = Field(0.0, ge=0.0)
    fade_out: float = Field(0.0, ge=0.0)
    role: Literal["music", "narration", "effect"] = "music"


class SoundTrack(_Data):
    clips: list[SoundClip] = Field(default_factory=list)


class Output(_Data):
    width: int = Field(1080, ge=16)
    height: int = Field(1920, ge=16)
    fps: int = Field(30, ge=1)
    background: Colour = "#000000"
    codec: Literal["auto", "libx264", "h264_nvenc"] = "auto"  # auto: NVENC when a working GPU is found
    preset: str = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    sample_rate: Literal[44100, 48000] = 44100
    loudness_lufs: float | None = Field(-14.0, ge=-40.0, le=0.0)  # None: leave levels as they are
    duration: float | None = Field(None, gt=0.0)  # None: until the last clip ends
    poster_time: float | None = Field(None, ge=0.0)  # None: a third into the video


class Timeline(_Data):
    output: Output = Output()
    tracks: list[Track] = Field(default_factory=list)
    audio: list[SoundTrack] = Field(default_factory=list)
