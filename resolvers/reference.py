"""Reference data for forms: the sizes, visual styles and voices a create mutation accepts."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.params import SIZE_PRESETS
from media.kinds.ad.styles import STYLES as AD_STYLES
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
    # The product ad's templates say more: their colours in order, music mood, typefaces and transition.
    label: str | None = None
    description: str | None = None
    palette: list[str] = field(default_factory=list)
    mood: str | None = None
    typefaces: list[str] = field(default_factory=list)
    transition: str | None = None


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


def styles(kind: str | None = None) -> list[StyleView]:
    """The styles a kind takes: the explainer's visual styles by default (and for EXPLAINER), the product
    ad's templates for PRODUCT_AD; none for a kind without styles."""
    if kind is None or kind == "EXPLAINER":
        return [
            StyleView(n, t.background, t.foreground, t.accent, palette=[t.background, t.foreground, t.accent])
            for n, t in THEMES.items()
        ]
    if kind == "PRODUCT_AD":
        return [
            StyleView(
                name=s.name,
                background=s.palette.background,
                foreground=s.palette.text,
                accent=s.palette.accent,
                label=s.label,
                description=s.description,
                palette=s.palette_list,
                mood=s.music_mood,
                typefaces=sorted({s.type.headline.label, s.type.body.label, s.type.cta.label}),
                transition=s.transition.kind if s.transition is not None else "cut",
            )
            for s in AD_STYLES.values()
        ]
    return []


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
