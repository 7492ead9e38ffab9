"""Reference data for forms: the sizes, visual styles and voices a create mutation accepts."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.params import SIZE_PRESETS
from media.kinds.explainer import THEMES
from media.kinds.scene import DEFAULT_RESOLUTION, MOTION_RATIOS, RESOLUTIONS, nearest
from resolvers.context import Context


@dataclass(frozen=True)
class VoiceView:
    name: str
    label: str
    languages: list[str]


@dataclass(frozen=True)
class StyleView:
    name: str
    background: str
    foreground: str
    accent: str


def resolutions() -> list[str]:
    return list(SIZE_PRESETS)


@dataclass(frozen=True)
class SceneResolutionView:
    video: str
    image: str
    motion: str  # what the video model is asked for (the result is fitted to `video`)
    default: bool


def scene_resolutions() -> list[SceneResolutionView]:
    """The AI scene video's ratio mapping, video ratio -> image ratio, in the seed's order."""
    return [
        SceneResolutionView(video, image, nearest(video, MOTION_RATIOS), video == DEFAULT_RESOLUTION)
        for video, image in RESOLUTIONS.items()
    ]


def styles() -> list[StyleView]:
    return [StyleView(n, t.background, t.foreground, t.accent) for n, t in THEMES.items()]


def voices(ctx: Context, language: str | None) -> list[VoiceView]:
    """The configured voice's voices (the offline one lists ~130), optionally those speaking `language`
    (a prefix match: "en" finds en-us and en-gb). Empty for cloud voices, whose names their vendor lists."""
    listed = ctx.services.list_voices
    if listed is None:
        return []
    wanted = (language or "").strip().lower()
    return [
        VoiceView(v.name, v.label, list(v.languages))
        for v in listed()
        if not wanted or any(tag == wanted or tag.startswith(wanted + "-") for tag in v.languages)
    ]
