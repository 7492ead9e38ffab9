"""A product ad's timeline: four scenes in 30 s, each its picture with the style's motion, its headline and
feature line animated in the style's way, its voiceover captioned in the style's treatment; the end card a
still with the product, its name and the call to action on a button; the style's transitions between scenes
and a music bed ducked under the voice, the whole normalised to -14 LUFS by the renderer.

Timing: scene k runs from starts[k] for lengths[k] (media.kinds.ad.timing); its line is spoken from
LEAD_SECONDS in and ends at least TAIL_SECONDS before the scene does. A transition of length T is centred on
the seam, so a picture is on screen from T/2 before its scene to T/2 after it.
"""

from dataclasses import dataclass
from pathlib import Path

from media.kinds.ad.layout import (
    CTA_PADDING,
    Box,
    Layout,
    cta_size,
    fitted_size,
    font_for,
    layout_for,
    min_type,
)
from media.kinds.ad.script import AdScript
from media.kinds.ad.styles import AD_SECONDS, AdStyle, font_path, with_ken_burns
from media.kinds.ad.timing import LEAD_SECONDS, scene_starts
from media.providers.voice.base import WordTiming
from media.timeline.model import (
    CaptionsClip,
    ImageClip,
    Output,
    SoundClip,
    SoundTrack,
    TextClip,
    TextStyle,
    Timeline,
    Track,
    VisualClip,
    Word,
)

MUSIC_VOLUME = 0.5  # the bed under the voice before ducking; the renderer then sets the overall loudness
MUSIC_FADE_OUT = 1.5


@dataclass(frozen=True)
class Voiced:
    """One scene's spoken line: its audio (a storage key or a local path), length and word timings."""

    audio: Path
    duration: float
    words: list[WordTiming]


@dataclass(frozen=True)
class AdLook:
    width: int
    height: int
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23


def ad_timeline(
    style: AdStyle,
    script: AdScript,
    voices: list[Voiced],
    lengths: list[float],
    pictures: list[Path],
    look: AdLook,
    music: Path | None = None,
) -> Timeline:
    if not len(voices) == len(lengths) == len(pictures) == len(script.scenes):
        raise ValueError("one voice, length and picture per scene")
    layout = layout_for(look.width, look.height)
    starts = scene_starts(lengths)
    ends = [s + n for s, n in zip(starts, lengths, strict=True)]
    half = style.transition.duration / 2 if style.transition is not None else 0.0
    pictures_track: list[VisualClip] = []
    # Headlines, feature lines and the call to action each on a track of their own: a track's clips may only
    # overlap through a transition, and text enters and leaves by its own animations.
    text_tracks: list[list[VisualClip]] = [[], [], []]
    captions_track: list[VisualClip] = []
    last = len(lengths) - 1
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        shown_from = start - half if k > 0 else 0.0
        shown_to = end + half if k < last else AD_SECONDS
        pictures_track.extend(_pictures(style, k, pictures[k], shown_from, shown_to, last))
        text_end = end - half if k < last else AD_SECONDS
        if k < last:
            texts = _scene_text(style, layout, script, k, start, text_end, look)
            captions = _captions(style, layout, voices[k], start + LEAD_SECONDS, look)
            if captions is not None:
                captions_track.append(captions)
        else:
            texts = _end_card_text(style, layout, script, start, look)
        for track, text in zip(text_tracks, texts, strict=False):
            if text is not None:
                track.append(text)
    narration = [
        SoundClip(source=v.audio, start=round(s + LEAD_SECONDS, 6), role="narration")
        for v, s in zip(voices, starts, strict=True)
    ]
    audio = [SoundTrack(clips=narration)]
    if music is not None:
        audio.append(
            SoundTrack(
                clips=[
                    SoundClip(
                        source=music,
                        duration=AD_SECONDS,
                        loop=True,
                        volume=MUSIC_VOLUME,
                        fade_in=0.3,
                        fade_out=MUSIC_FADE_OUT,
                        role="music",
                    )
                ]
            )
        )
    tracks = [Track(clips=pictures_track), *(Track(clips=t) for t in text_tracks if t)]
    if captions_track:
        tracks.append(Track(clips=captions_track))
    output = Output(
        width=look.width,
        height=look.height,
        fps=look.fps,
        preset=look.preset,
        crf=look.crf,
        duration=AD_SECONDS,
        loudness_lufs=-14.0,
        poster_time=starts[last] + lengths[last] / 2,  # the end card: product, name and call to action
    )
    return Timeline(output=output, tracks=tracks, audio=audio)


def _pictures(style: AdStyle, k: int, picture: Path, start: float, end: float, last: int) -> list[ImageClip]:
    """Scene k's picture from `start` to `end`: the end card still, the others in the style's shots (a scene
    of several shots cuts between them)."""
    incoming = style.transition if k > 0 else None
    if k == last:  # static: the product and the call to action hold still
        return [
            ImageClip(
                source=picture, start=round(start, 6), duration=round(end - start, 6), transition=incoming
            )
        ]
    shots = style.shots[k]
    step = (end - start) / len(shots)
    clips = []
    for n, shot in enumerate(shots):
        at = start + n * step
        until = end if n == len(shots) - 1 else start + (n + 1) * step
        clips.append(
            ImageClip(
                source=picture,
                start=round(at, 6),
                duration=round(until - at, 6),
                ken_burns=with_ken_burns(shot),
                transition=incoming if n == 0 else None,
            )
        )
    return clips


def shown(style: AdStyle, text: str) -> str:
    return text.upper() if style.type.uppercase else text


def _text(
    style: AdStyle,
    text: str,
    font: Path,
    share: float,
    box: Box,
    look: AdLook,
    colour: str,
    start: float,
    end: float,
    align: str,
) -> TextClip:
    x, y, w, h = box.pixels(look.width, look.height)
    font = font_for(text, font, heavy=style.type.uppercase)
    largest = max(min_type(look.width, look.height), round(share * min(look.width, look.height)))
    size = fitted_size(text, font, largest, min_type(look.width, look.height), w, h) or min_type(
        look.width, look.height
    )
    return TextClip(
        text=text,
        start=round(start, 6),
        duration=round(max(0.1, end - start), 6),
        x=x,
        y=y,
        width=w,
        height=h,
        enter=style.text_enter,
        style=TextStyle(
            font=font,
            size=size,
            colour=colour,
            align="left" if align == "left" else "center",
            line_spacing=1.1,
            shadow=style.type.shadow,
            shadow_offset=(max(2, size // 16), max(2, size // 16)),
        ),
    )


def _scene_text(
    style: AdStyle, layout: Layout, script: AdScript, k: int, start: float, end: float, look: AdLook
) -> list[TextClip | None]:
    """The scene's headline and feature line (None when it has none)."""
    scene, t, p = script.scenes[k], style.type, style.palette
    enter = start + style.text_delay
    headline = _text(style, shown(style, scene.headline), font_path(t.headline), t.headline_size,
                     layout.headline, look, p.text, enter, end, layout.align)  # fmt: skip
    feature = None
    if scene.feature.strip():
        feature = _text(style, scene.feature, font_path(t.body), t.body_size, layout.feature, look, p.muted,
                        enter + 0.35, end, layout.align)  # fmt: skip
    leave = {"exit": style.text_exit}
    return [
        c.model_copy(update=leave) if c is not None and style.text_exit else c for c in (headline, feature)
    ]


def _end_card_text(
    style: AdStyle, layout: Layout, script: AdScript, start: float, look: AdLook
) -> list[TextClip | None]:
    """The product's name, the end scene's tagline (None when it has none) and the call to action."""
    t, p = style.type, style.palette
    enter = start + min(style.text_delay, 0.3)
    name = _text(style, shown(style, script.product), font_path(t.headline), t.headline_size, layout.end_name,
                 look, p.text, enter, AD_SECONDS, layout.align)  # fmt: skip
    tagline = script.scenes[-1].feature.strip()
    shown_tagline = None
    if tagline:
        shown_tagline = _text(style, tagline, font_path(t.body), t.body_size, layout.end_tagline, look,
                              p.muted, enter + 0.2, AD_SECONDS, layout.align)  # fmt: skip
    return [name, shown_tagline, cta_clip(style, layout, script.cta, enter + 0.4, look)]


def cta_clip(style: AdStyle, layout: Layout, cta: str, start: float, look: AdLook) -> TextClip:
    """The call to action on a button of the accent colour, centred in its box (left-aligned in landscape)."""
    text = shown(style, cta)
    font = font_for(text, font_path(style.type.cta), heavy=True)
    size = cta_size(text, font, style.type.cta_size, look.width, look.height) or min_type(
        look.width, look.height
    )
    x, y, w, h = layout.cta.pixels(look.width, look.height)
    pad = round(CTA_PADDING * size)
    return TextClip(
        text=text,
        start=round(start, 6),
        duration=round(AD_SECONDS - start, 6),
        x=x + pad,
        y=y + pad,
        width=w - 2 * pad,
        height=h - 2 * pad,
        enter=style.text_enter,
        style=TextStyle(
            font=font,
            size=size,
            colour=style.palette.on_accent,
            box=style.palette.accent,
            box_padding=pad,
            align="left" if layout.align == "left" else "center",
            line_spacing=1.1,
        ),
    )


def _captions(
    style: AdStyle, layout: Layout, voice: Voiced, start: float, look: AdLook
) -> CaptionsClip | None:
    treatment = style.captions
    words = [
        Word(text=w.text.upper() if treatment and treatment.uppercase else w.text, start=w.start,
             end=max(w.end, w.start + 0.01))
        for w in voice.words
        if w.start < voice.duration and w.text.strip()
    ]  # fmt: skip
    if treatment is None or not words:
        return None
    short = min(look.width, look.height)
    font = font_for(" ".join(w.text for w in words), font_path(treatment.font), heavy=treatment.uppercase)
    # None: across the frame in the renderer's lower safe area; in landscape, under the text column.
    x, y, w, h = layout.captions.pixels(look.width, look.height) if layout.captions else (0, 0, None, None)
    return CaptionsClip(
        start=round(start, 6),
        duration=round(voice.duration, 6),
        words=words,
        highlight=treatment.highlight,
        max_words=treatment.max_words,
        style=TextStyle(
            font=font,
            size=max(min_type(look.width, look.height), round(treatment.size * short)),
            colour=treatment.colour,
            stroke_width=round(treatment.stroke_width * short),
            stroke_colour=treatment.stroke,
            box=treatment.box,
            box_padding=max(4, round(0.01 * short)),
        ),
        x=x,
        y=y,
        width=w,
        height=h,
    )
