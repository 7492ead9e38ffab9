"""The offline writer of shorts: an idea → its expansion (title, logline, tone, format, audience, hooks,
outline) → a storyboard (a hook, 3 to 6 beats, a close), by rules instead of a model. Deterministic (the same
idea always gives the same plan), free, and fast enough for `expandIdea` to answer in a few milliseconds.

The sentences it adds around the idea's words are English. For any other language it adds none: the
narration and the on-screen text are the idea's own words, as given, so the voice never reads English
boilerplate in a German or Japanese accent (a cloud model writes a real script in any language).
"""

import re

from media.storyboard import FORMATS, TONES, Expansion, Storyboard, StoryScene, words

WORDS_PER_SECOND = 2.6  # the budget for a scene's narration: espeak-ng speaks ~2.9 at its default rate
_LEAD_SECONDS = 0.7  # a scene's narration starts after its cut and leaves room before the next one
# Words a headline should not end on ("How to make the" reads as cut off; "How to make" does not).
_DANGLING = frozenset(
    ("a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "than")
    + ("that", "the", "their", "to", "was", "were", "with", "you", "your", "my", "our", "its", "every")
)
_TONE_WORDS: dict[str, tuple[str, ...]] = {
    "dramatic": ("war", "dark", "crime", "disaster", "collapse", "fall", "death", "danger", "battle", "lost"),
    "mysterious": ("secret", "mystery", "hidden", "unknown", "strange", "unsolved", "ghost", "vanished"),
    "calm": ("sleep", "calm", "relax", "meditation", "breathe", "nature", "slow", "mindful", "peace", "rain"),
    "corporate": ("business", "startup", "company", "team", "market", "sales", "finance", "saas", "revenue"),
    "playful": ("fun", "funny", "cat", "cats", "dog", "dogs", "weird", "silly", "game", "games", "pizza"),
    "inspiring": ("dream", "success", "motivation", "goal", "goals", "growth", "inspire", "achieve", "habit"),
    "informative": ("science", "fact", "facts", "explained", "learn", "history", "works", "space", "brain"),
}
# A line said after (or before) the idea itself in the hook, by format.
_HOOK_LINES: dict[str, str] = {
    "explainer": "Here's what nobody tells you.",
    "listicle": "Save this for later.",
    "howto": "Let me show you how.",
    "story": "Nobody saw the ending coming.",
    "myth": "Most people get this wrong.",
}
_OUTLINES: dict[str, tuple[str, ...]] = {
    "explainer": (
        "The surprising part",
        "Why it happens",
        "What most people miss",
        "A real example",
        "What it means for you",
        "The one thing to remember",
    ),
    "listicle": ("Number one", "Number two", "Number three", "Number four", "Number five", "Number six"),
    "howto": (
        "What you need",
        "Step one",
        "Step two",
        "Step three",
        "The common mistake",
        "Check your result",
    ),
    "story": (
        "Where it began",
        "The turning point",
        "What happened next",
        "The twist",
        "How it ended",
        "The lesson",
    ),
    "myth": (
        "The myth",
        "Where it comes from",
        "What is actually true",
        "The evidence",
        "Why it matters",
        "The takeaway",
    ),
}
# What the voice says after each beat's outline line, taken in turn so that neighbouring beats differ.
_SAYINGS: dict[str, tuple[str, ...]] = {
    "explainer": (
        "Most people never stop to think about this.",
        "It sounds simple, but there is more going on.",
        "Once you see it, you cannot unsee it.",
        "Here is a simple way to picture it.",
        "This is the part that surprises everyone.",
        "And it changes how you look at the whole thing.",
    ),
    "listicle": (
        "It takes seconds to notice and it makes a real difference.",
        "Almost everyone skips this one.",
        "Keep this one in mind.",
        "This is the one people ask about most.",
        "Small detail, big effect.",
        "Try it once and you will see.",
    ),
    "howto": (
        "Keep it simple and take your time.",
        "Most people rush this part.",
        "Do it once and it becomes a habit.",
        "If it feels slow, you are doing it right.",
        "This is where the result is made.",
        "Check it before you move on.",
    ),
    "story": (
        "Everything was about to change.",
        "Nobody saw it coming.",
        "And that was only the beginning.",
        "For a moment, it looked like it was over.",
        "Then came the part nobody expected.",
        "It is still talked about today.",
    ),
    "myth": (
        "You have heard it a hundred times.",
        "Look closer and the story changes.",
        "The truth is more interesting.",
        "It started with a small mistake.",
        "The evidence points the other way.",
        "Now you can set the record straight.",
    ),
}
_CLOSES = ("Now you know. Follow for more.", "Follow for more.", "Save this for later.")
_QUESTION = re.compile(
    r"(?i)^(why|how(?!\s+to\b)|what|who|when|where|which|is|are|can|could|do|does|did|should|will)\b"
)
_ACTION = re.compile(r"(?i)^\s*how\s+to\s+(?P<action>.+)$")
_COUNT = re.compile(r"(?i)\b(?P<count>\d{1,2})\s+(?:ways|things|reasons|tips|facts|mistakes|steps|signs)\b")
_CLAUSES = re.compile(r"(?<=[.!?。！？;；])\s*|\s*[\n]+\s*|(?<=[,，、])\s+")


def english(language: str) -> bool:
    return language.strip().lower().replace("_", "-").split("-")[0] == "en"


def clean_idea(idea: str) -> str:
    return re.sub(r"\s+", " ", idea).strip()


def expand(
    idea: str, *, tone: str | None = None, format: str | None = None, audience: str | None = None,
    language: str = "en", beats: int = 4,
) -> Expansion:  # fmt: skip
    """The idea's plan. `tone`, `format` and `audience` win when given; otherwise they are read from the
    idea's words."""
    text = clean_idea(idea)
    tone = tone or guess_tone(text)
    format = format or _guess_format(text)
    beats = max(3, min(6, beats))
    if not english(language):
        clauses = _clauses(text)
        return Expansion(
            title=_clip(clauses[0], 120),
            logline=_clip(text, 300),
            tone=tone,
            format=format,
            audience=_clip(audience or "", 120) or "everyone",
            hooks=[_clip(clauses[0], 150)],
            outline=[_clip(part, 150) for part in _parts(text, clauses, beats)],
        )
    said = _as_sentence(text)
    line = _HOOK_LINES[_known_format(format)]
    audience = audience or ("busy professionals" if tone == "corporate" else "curious viewers")
    kind = "how-to" if format == "howto" else format
    article = "an" if tone[:1] in "aeiou" else "a"
    logline = f"A short {kind} for {audience}, in {article} {tone} tone: {_lower_first(said)}"
    return Expansion(
        title=_clip(_title(text), 120),
        logline=_clip(logline, 300),
        tone=tone,
        format=format,
        audience=_clip(audience, 120),
        hooks=[_clip(h, 150) for h in (said, f"{said} {line}", f"{line} {said}")],
        outline=list(_OUTLINES[_known_format(format)][:beats]),
    )


def write_storyboard(
    idea: str, expansion: Expansion, *, seconds: float, language: str = "en", min_scenes: int = 0
) -> Storyboard:
    """A hook, beats, a close, lasting exactly `seconds` in all; at least `min_scenes` scenes (one per
    image the user brought)."""
    text = clean_idea(idea)
    # A cut every 5 to 6 seconds: the pace of the platforms' shorts.
    beats = max(3, min(6, round((seconds - 7) / 5.5)), min_scenes - 2)
    durations = _durations(seconds, beats, hook_words=words(expansion.hooks[0]))
    if not english(language):
        return _as_given(text, expansion, durations)
    form = _known_format(expansion.format)
    outline = [*expansion.outline, *_OUTLINES[form]]
    sayings = _SAYINGS[form]
    scenes = [
        StoryScene(
            narration=_fit([expansion.hooks[0], _HOOK_LINES[form]], durations[0]),
            on_screen_text=_headline(text),
            visual_prompt=_prompt(text, "an arresting opening image", expansion.tone),
            duration=durations[0],
        )
    ]
    for k in range(beats):
        beat = outline[k].rstrip(".!?")
        # Beat k opens with saying k: no two beats (at most six) say the same first thing.
        lines = [f"{beat}.", *(sayings[(k + 2 * j) % len(sayings)] for j in range(3))]
        scenes.append(
            StoryScene(
                narration=_fit(lines, durations[k + 1]),
                on_screen_text=_short(beat),
                visual_prompt=_prompt(text, beat.lower(), expansion.tone),
                duration=durations[k + 1],
            )
        )
    scenes.append(
        StoryScene(
            narration=_pick(_CLOSES, len(text), durations[-1]),
            on_screen_text="Follow for more",
            visual_prompt=_prompt(text, "a calm closing shot", expansion.tone),
            duration=durations[-1],
        )
    )
    return Storyboard(title=expansion.title, scenes=scenes)


def _as_given(text: str, expansion: Expansion, durations: list[float]) -> Storyboard:
    """Other languages: the idea's clauses spoken as written, one scene each, the rest carried by on-screen
    text alone (a voice reading invented English sentences in a German voice is worse than silence)."""
    clauses = _clauses(text)
    count = len(durations)
    if len(clauses) > count:  # more clauses than scenes: the last scenes take the rest together
        clauses = [*clauses[: count - 1], " ".join(clauses[count - 1 :])]
    pieces = _parts(text, clauses, 6)
    scenes = []
    for k, duration in enumerate(durations):
        said = clauses[k] if k < len(clauses) else ""
        shown = said or pieces[k % len(pieces)]
        scenes.append(
            StoryScene(
                narration=_fit([said], duration) if said else "",
                on_screen_text=_short(shown),
                visual_prompt=_prompt(expansion.title, f"scene {k + 1}", expansion.tone),
                duration=duration,
            )
        )
    return Storyboard(title=expansion.title, scenes=scenes)


def _durations(seconds: float, beats: int, *, hook_words: int) -> list[float]:
    """The hook long enough to say the idea, the close short, the beats equal; in tenths of a second so
    that they add up to `seconds` exactly."""
    tenths = round(seconds * 10)
    hook = max(25, min(55, round((hook_words / WORDS_PER_SECOND + _LEAD_SECONDS) * 10)))
    close = max(25, min(40, round(tenths * 0.1)))
    rest = tenths - hook - close
    beat = [rest // beats + (1 if k < rest % beats else 0) for k in range(beats)]
    return [hook / 10, *(b / 10 for b in beat), close / 10]


def _fit(lines: list[str], seconds: float) -> str:
    """The first of `lines` and as many of the next as can be said in the scene (never half a sentence:
    the durations leave room for the first)."""
    budget = int((seconds - _LEAD_SECONDS) * WORDS_PER_SECOND)
    said = lines[:1]
    for line in lines[1:]:
        if words(" ".join([*said, line])) > budget:
            break
        said.append(line)
    return _clip(" ".join(said), 600)


def _pick(lines: tuple[str, ...], start: int, seconds: float) -> str:
    """The first of `lines` from `start` on (round the end) that can be said in time, else the shortest."""
    budget = int((seconds - _LEAD_SECONDS) * WORDS_PER_SECOND)
    turn = [lines[(start + k) % len(lines)] for k in range(len(lines))]
    return next((line for line in turn if words(line) <= budget), min(lines, key=words))


def guess_tone(text: str) -> str:
    """The tone an English text's words suggest ("upbeat" when none does)."""
    found = set(re.findall(r"[a-z]+", text.lower()))
    for tone, cues in _TONE_WORDS.items():
        if found & set(cues):
            return tone
    return "upbeat"


def _guess_format(text: str) -> str:
    lower = text.lower()
    if _ACTION.match(lower):
        return "howto"
    if _COUNT.search(lower) or re.match(r"(?i)^\s*top\s+\d", lower):
        return "listicle"
    if re.search(r"\b(myth|myths|wrong|actually|really true)\b", lower):
        return "myth"
    if re.search(r"\b(story|once|the day|history of|journey)\b", lower):
        return "story"
    return "explainer"


def _known_format(format: str) -> str:
    return format if format in FORMATS else "explainer"


def _as_sentence(text: str) -> str:
    bare = text.rstrip(".!?…").strip()
    return _upper_first(bare) + ("?" if _QUESTION.match(bare) else ".")


def _headline(text: str) -> str:
    """The idea's first words for the hook's frame, without a dangling "the" or "of" at the end."""
    tokens = text.rstrip(".!?…").split()[:6]
    while len(tokens) > 2 and tokens[-1].lower() in _DANGLING:
        tokens.pop()
    return _clip(_upper_first(" ".join(tokens)), 60)


def _title(text: str) -> str:
    bare = text.rstrip(".!?…").strip()
    small = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "vs"}
    out = [
        w if (w.lower() in small and k) or any(ch.isupper() for ch in w[1:]) else w[:1].upper() + w[1:]
        for k, w in enumerate(bare.split())
    ]
    return " ".join(out)


def _clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSES.split(text) if p and p.strip()]
    return parts or [text]


def _parts(text: str, clauses: list[str], most: int) -> list[str]:
    """3 to `most` pieces of the idea as written: its clauses, or its words in three groups."""
    if len(clauses) >= 3:
        return clauses[:most]
    tokens = text.split()
    if len(tokens) < 3:
        return [text] * 3
    sizes = [len(tokens) // 3 + (1 if k < len(tokens) % 3 else 0) for k in range(3)]
    return [" ".join(tokens[sum(sizes[:k]) : sum(sizes[: k + 1])]) for k in range(3)]


def _short(text: str, limit: int = 6) -> str:
    """At most `limit` words (and 60 characters) of the text, for the frame."""
    tokens = text.split()
    if len(tokens) <= 1 and len(text) > 24:  # a script without spaces: by characters
        return text[:16]
    return _clip(" ".join(tokens[:limit]).rstrip(",;:"), 60)


def _prompt(topic: str, beat: str, tone: str) -> str:
    return _clip(
        f"{topic}: {beat}. Vertical 9:16, cinematic, {tone} mood, rich depth, no text or letters.", 1000
    )


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


__all__ = ["FORMATS", "TONES", "expand", "guess_tone", "write_storyboard"]
