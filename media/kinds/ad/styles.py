"""The four product-ad styles, as data: a style is a template (palette, typefaces, text animation, motion per
scene, transition, music mood, caption treatment, scene lengths), never a branch in the code. The painter,
the timeline and the offline writer read these fields; a fifth style is one more entry here.

Typefaces are freely licensed fonts installed from the package index (SIL OFL 1.1): Source Serif Pro
(`font-source-serif-pro`) for the luxury serif, Lato (`font-lato`: Thin to Black) for the heavy, thin and
huge sans faces. They are found by path, without importing their packages. Light enough for the API process,
which lists the styles and measures the call to action against the end card.
"""

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from media.errors import MediaError
from media.timeline.model import Animation, Colour, KenBurns, Transition

SCENES = 4
AD_SECONDS = 30.0
MIN_END_CARD_SECONDS = 3.0


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FontRef(_Data):
    """A font file inside an installed package."""

    package: str
    file: str

    @property
    def label(self) -> str:
        return Path(self.file).stem


class Palette(_Data):
    background: Colour  # the backdrop's base
    backdrop: Colour  # the backdrop's second colour (gradient, shapes)
    text: Colour
    muted: Colour  # feature lines
    accent: Colour  # rules, the call-to-action button
    on_accent: Colour  # the call to action's text on its button
    shadow: Colour  # under the product


class Type(_Data):
    headline: FontRef
    body: FontRef
    cta: FontRef
    uppercase: bool = False  # headlines and the call to action in capitals
    shadow: bool = False  # a drop shadow under the type, for busy backdrops
    headline_size: float = Field(gt=0.0, le=0.3)  # share of the frame's shorter side, before fitting
    body_size: float = Field(gt=0.0, le=0.2)
    cta_size: float = Field(gt=0.0, le=0.2)


class Shot(_Data):
    """One camera move over a scene's picture; a scene of several shots cuts between them."""

    zoom: Literal["in", "out"] = "in"
    amount: float = Field(0.08, gt=0.0, le=0.5)
    anchor: tuple[float, float] = (0.5, 0.5)  # the point of the frame that stays put


class Captions(_Data):
    """How the voiceover is captioned (None on a style: no burned-in captions)."""

    font: FontRef
    size: float = Field(gt=0.0, le=0.2)  # share of the shorter side
    colour: Colour
    highlight: Colour
    stroke: Colour = "#000000"
    stroke_width: float = Field(0.0, ge=0.0, le=0.02)  # share of the shorter side
    box: Colour | None = None
    uppercase: bool = False
    max_words: int = Field(5, ge=1, le=20)


class AdStyle(_Data):
    name: str  # what createProductAd's `style` takes
    label: str
    description: str
    palette: Palette
    type: Type
    backdrop: Literal["vignette", "burst", "plain", "blocks"]  # the painter's pattern (media.kinds.ad.paint)
    text_enter: Animation
    text_exit: Animation | None = None
    text_delay: float = Field(0.3, ge=0.0, le=2.0)  # seconds into a scene before the headline enters
    shots: tuple[tuple[Shot, ...], tuple[Shot, ...], tuple[Shot, ...]]  # the motion of scenes 1-3
    transition: Transition | None  # between scenes; None: hard cuts
    music_mood: str  # a mood of the offline backing track (media.audio.music.MOODS)
    captions: Captions | None
    seconds: tuple[float, float, float, float]  # each scene's planned length; they add up to 30 s
    shadow_blur: float = Field(0.03, gt=0.0, le=0.2)  # share of the product's size
    shadow_opacity: float = Field(0.55, ge=0.0, le=1.0)
    # The offline writer's voice of the style: its hooks and words (media.kinds.ad.writer).
    hooks: tuple[str, ...] = Field(min_length=1)
    vocabulary: tuple[str, ...] = Field(min_length=3)
    closers: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _adds_up(self) -> "AdStyle":
        if abs(sum(self.seconds) - AD_SECONDS) > 1e-6 or self.seconds[-1] < MIN_END_CARD_SECONDS:
            raise ValueError(
                f"a style's scenes last {AD_SECONDS:g} s, the end card >= {MIN_END_CARD_SECONDS:g} s"
            )
        return self

    @property
    def palette_list(self) -> list[str]:
        p = self.palette
        return [p.background, p.backdrop, p.text, p.muted, p.accent]


SERIF = "font_source_serif_pro"
LATO = "font_lato"


def _serif(weight: str) -> FontRef:
    return FontRef(package=SERIF, file=f"SourceSerifPro-{weight}.ttf")


def _lato(weight: str) -> FontRef:
    return FontRef(package=LATO, file=f"Lato-{weight}.ttf")


STYLES: dict[str, AdStyle] = {
    s.name: s
    for s in (
        AdStyle(
            name="LUXURY",
            label="Luxury",
            description="Dark and warm, a serif set small, slow push-ins and long crossfades.",
            palette=Palette(
                background="#120d09",
                backdrop="#3a2c1d",
                text="#f4ead8",
                muted="#c8b89a",
                accent="#c9a45c",
                on_accent="#14100b",
                shadow="#000000",
            ),
            type=Type(
                headline=_serif("Light"),
                body=_serif("Regular"),
                cta=_serif("Semibold"),
                headline_size=0.075,
                body_size=0.036,
                cta_size=0.05,
            ),
            backdrop="vignette",
            text_enter=Animation(kind="fade", duration=1.2),
            text_exit=Animation(kind="fade", duration=0.6),
            text_delay=0.6,
            shots=(
                (Shot(zoom="in", amount=0.08, anchor=(0.5, 0.45)),),
                (Shot(zoom="in", amount=0.07, anchor=(0.42, 0.5)),),
                (Shot(zoom="in", amount=0.08, anchor=(0.58, 0.5)),),
            ),
            transition=Transition(kind="crossfade", duration=1.4),
            music_mood="calm",
            captions=Captions(
                font=_serif("Regular"), size=0.034, colour="#f4ead8", highlight="#c9a45c", max_words=6
            ),
            seconds=(8.0, 7.5, 7.5, 7.0),
            shadow_blur=0.06,
            shadow_opacity=0.7,
            hooks=(
                "Crafted for those who notice.",
                "Quiet, and unmistakable.",
                "Some things are simply made better.",
            ),
            vocabulary=("crafted", "timeless", "refined", "effortless", "exquisite", "considered"),
            closers=("Made to be kept.", "Yours to discover."),
        ),
        AdStyle(
            name="ENERGETIC",
            label="Energetic",
            description="Saturated colour, a heavy sans, quick cuts and popping type over an upbeat bed.",
            palette=Palette(
                background="#ff2e63",
                backdrop="#ff9a00",
                text="#ffffff",
                muted="#fff3b0",
                accent="#1df2c4",
                on_accent="#101010",
                shadow="#5a0020",
            ),
            type=Type(
                headline=_lato("BlackItalic"),
                body=_lato("Bold"),
                cta=_lato("Black"),
                uppercase=True,
                shadow=True,
                headline_size=0.1,
                body_size=0.045,
                cta_size=0.06,
            ),
            backdrop="burst",
            text_enter=Animation(kind="pop", duration=0.3),
            text_delay=0.15,
            shots=(
                (
                    Shot(zoom="in", amount=0.2, anchor=(0.5, 0.5)),
                    Shot(zoom="out", amount=0.15, anchor=(0.3, 0.4)),
                ),
                (
                    Shot(zoom="in", amount=0.18, anchor=(0.7, 0.45)),
                    Shot(zoom="in", amount=0.22, anchor=(0.4, 0.6)),
                ),
                (
                    Shot(zoom="out", amount=0.2, anchor=(0.5, 0.3)),
                    Shot(zoom="in", amount=0.2, anchor=(0.6, 0.55)),
                ),
            ),
            transition=None,
            music_mood="upbeat",
            captions=Captions(
                font=_lato("Black"),
                size=0.05,
                colour="#ffffff",
                highlight="#fff200",
                stroke_width=0.004,
                uppercase=True,
                max_words=3,
            ),
            seconds=(7.0, 7.5, 7.5, 8.0),
            shadow_blur=0.025,
            shadow_opacity=0.6,
            hooks=("Stop scrolling!", "Ready for this?", "Game changer alert!"),
            vocabulary=("fast", "fun", "bold", "fresh", "unstoppable", "electric"),
            closers=("Let's go!", "Don't miss out!"),
        ),
        AdStyle(
            name="MINIMAL",
            label="Minimal",
            description="Light and spacious, thin type, gentle fades, nothing extra.",
            palette=Palette(
                background="#f6f4f0",
                backdrop="#e6e2da",
                text="#1f1f1f",
                muted="#6b6b6b",
                accent="#1f1f1f",
                on_accent="#f6f4f0",
                shadow="#8a8273",
            ),
            type=Type(
                headline=_lato("Thin"),
                body=_lato("Light"),
                cta=_lato("Regular"),
                headline_size=0.065,
                body_size=0.032,
                cta_size=0.042,
            ),
            backdrop="plain",
            text_enter=Animation(kind="fade", duration=0.8),
            text_exit=Animation(kind="fade", duration=0.4),
            text_delay=0.5,
            shots=(
                (Shot(zoom="in", amount=0.03, anchor=(0.5, 0.5)),),
                (Shot(zoom="out", amount=0.03, anchor=(0.5, 0.5)),),
                (Shot(zoom="in", amount=0.03, anchor=(0.5, 0.5)),),
            ),
            transition=Transition(kind="crossfade", duration=0.8),
            music_mood="corporate",
            captions=Captions(
                font=_lato("Light"), size=0.03, colour="#1f1f1f", highlight="#8a8273", max_words=6
            ),
            seconds=(7.5, 7.5, 7.5, 7.5),
            shadow_blur=0.08,
            shadow_opacity=0.35,
            hooks=("Less, but better.", "Only what matters.", "Simple, by design."),
            vocabulary=("simple", "clean", "quiet", "honest", "essential", "calm"),
            closers=("Nothing more.", "That's all."),
        ),
        AdStyle(
            name="BOLD",
            label="Bold",
            description="Black, white and one loud colour, huge type and hard wipes.",
            palette=Palette(
                background="#000000",
                backdrop="#ffe600",
                text="#ffffff",
                muted="#ffe600",
                accent="#ffe600",
                on_accent="#000000",
                shadow="#000000",
            ),
            type=Type(
                headline=_lato("Black"),
                body=_lato("Bold"),
                cta=_lato("Black"),
                uppercase=True,
                headline_size=0.15,
                body_size=0.05,
                cta_size=0.07,
            ),
            backdrop="blocks",
            text_enter=Animation(kind="slide", duration=0.35, side="left"),
            text_delay=0.2,
            shots=(
                (Shot(zoom="in", amount=0.06, anchor=(0.5, 0.5)),),
                (Shot(zoom="in", amount=0.06, anchor=(0.5, 0.5)),),
                (Shot(zoom="in", amount=0.06, anchor=(0.5, 0.5)),),
            ),
            transition=Transition(kind="wipe", duration=0.3, side="left"),
            music_mood="dramatic",
            captions=Captions(
                font=_lato("Black"),
                size=0.048,
                colour="#000000",
                highlight="#ffffff",
                box="#ffe600",
                uppercase=True,
                max_words=3,
            ),
            seconds=(7.0, 7.5, 7.5, 8.0),
            shadow_blur=0.02,
            shadow_opacity=0.8,
            hooks=("No compromises.", "Make it count.", "This changes everything."),
            vocabulary=("loud", "strong", "relentless", "real", "big", "built"),
            closers=("Own it.", "No excuses."),
        ),
    )
}


def style_named(name: str) -> AdStyle | None:
    """The style for `name`, in any case ("luxury" and "LUXURY" alike)."""
    return STYLES.get(name.strip().upper())


@lru_cache(maxsize=16)
def font_path(font: FontRef) -> Path:
    spec = find_spec(font.package)
    if spec is None or not spec.submodule_search_locations:
        raise MediaError(
            "FONT_UNREADABLE",
            f"the {font.package.replace('_', '-')} package, which ships {font.file}, is missing",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "files" / font.file
    if not path.is_file():
        raise MediaError("FONT_UNREADABLE", f"{font.file} is not in the {font.package} package")
    return path


def with_ken_burns(shot: Shot) -> KenBurns:
    return KenBurns(zoom=shot.zoom, amount=shot.amount, anchor=shot.anchor)
