"""A short's storyboard and the expansion of its idea: plain data shared by the writers that make them
(media.providers.story), the frames and timeline made from them (media.kinds.short) and the API, which
checks a storyboard a user brings before anything is queued.

Field names are camelCase in JSON (what users and models write: `visualPrompt`, `onScreenText`), snake_case
in Python. A storyboard is checked as a whole: every problem comes back with its path, like a timeline's.
"""

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

# Each tone has a palette (media.kinds.short_look) and the mood of its generated music bed.
TONE_MOODS: dict[str, str] = {
    "upbeat": "upbeat",
    "playful": "upbeat",
    "inspiring": "corporate",
    "informative": "corporate",
    "corporate": "corporate",
    "calm": "calm",
    "dramatic": "dramatic",
    "mysterious": "dramatic",
}
TONES = tuple(TONE_MOODS)
# The moods of media.audio.music (named here too, for the API, which must not import numpy).
MUSIC_MOODS = ("upbeat", "calm", "dramatic", "corporate")
FORMATS = ("explainer", "listicle", "howto", "story", "myth")
MIN_SECONDS, MAX_SECONDS = 15.0, 90.0  # a short's length
MAX_SCENES = 12
MIN_SCENE_SECONDS, MAX_SCENE_SECONDS = 1.0, 30.0
MAX_ON_SCREEN_WORDS = 7  # big text on a phone: a glance, not a sentence
# Faster than any voice speaks comfortably: a storyboard over it cannot fit its narration in its time.
MAX_WORDS_PER_SECOND = 4.0


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class StoryScene(_Data):
    narration: str = Field("", max_length=600)  # what the voice says ("" for a silent scene)
    on_screen_text: str = Field("", max_length=80)  # the big text of the frame
    visual_prompt: str = Field("", max_length=1000)  # what the picture shows (for an image provider)
    duration: float = Field(ge=MIN_SCENE_SECONDS, le=MAX_SCENE_SECONDS)  # seconds


class Storyboard(_Data):
    title: str = Field("", max_length=120)
    scenes: list[StoryScene] = Field(min_length=1, max_length=MAX_SCENES)

    @property
    def seconds(self) -> float:
        return sum(scene.duration for scene in self.scenes)

    @property
    def starts(self) -> list[float]:
        """Where each scene starts, in seconds from the video's start."""
        out, at = [], 0.0
        for scene in self.scenes:
            out.append(at)
            at += scene.duration
        return out


class Expansion(_Data):
    """An idea made into a plan: what `expandIdea` returns and what drafting writes the storyboard from."""

    title: str = Field(min_length=1, max_length=120)
    logline: str = Field(min_length=1, max_length=300)
    tone: str
    format: str
    audience: str = Field(min_length=1, max_length=120)
    hooks: list[str] = Field(min_length=1, max_length=5)
    outline: list[str] = Field(min_length=3, max_length=6)


class StoryboardInvalid(Exception):
    """Every problem of a storyboard, each (path, message), paths like "scenes[2].onScreenText"."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


def words(text: str) -> int:
    """Words, for pacing: tokens between spaces; in Chinese or Japanese (written without spaces) one per
    two characters."""
    count = 0
    for token in text.split():
        unspaced = sum(1 for ch in token if "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff")
        if unspaced:
            count += (unspaced + 1) // 2
        elif any(ch.isalnum() for ch in token):
            count += 1
    return count


def parse_storyboard(
    data: object, *, min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS
) -> Storyboard:
    """`data` (decoded JSON) as a Storyboard, or StoryboardInvalid listing every problem."""
    try:
        board = Storyboard.model_validate(data)
    except ValidationError as exc:
        raise StoryboardInvalid([(_path(e["loc"]), e["msg"]) for e in exc.errors()]) from exc
    problems: list[tuple[str, str]] = []
    for k, scene in enumerate(board.scenes):
        count = words(scene.on_screen_text)
        if count > MAX_ON_SCREEN_WORDS:
            problems.append(
                (
                    f"scenes[{k}].onScreenText",
                    f"has {count} words; at most {MAX_ON_SCREEN_WORDS} read at a glance",
                )
            )
    total = board.seconds
    if not min_seconds - 1e-6 <= total <= max_seconds + 1e-6:
        problems.append(
            (
                "scenes",
                f"the durations add up to {total:g} s; a short lasts {min_seconds:g} to {max_seconds:g} s",
            )
        )
    spoken = sum(words(scene.narration) for scene in board.scenes)
    if spoken > MAX_WORDS_PER_SECOND * total:
        problems.append(
            (
                "scenes",
                f"{spoken} words of narration cannot be spoken in {total:g} s; at most "
                f"{MAX_WORDS_PER_SECOND * total:.0f} fit",
            )
        )
    if problems:
        raise StoryboardInvalid(problems)
    return board


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "storyboard"
