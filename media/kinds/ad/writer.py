"""The offline ad writer: each style's own hook patterns and vocabulary (media.kinds.ad.styles) filled with
the product's name, description and audience. Deterministic: the same brief always gives the same script (the
choices are keyed by the product's name), so a rerun of the stage writes the same lines.

It writes English; `language` still picks the voice. The description's own clauses become the feature lines,
cut to the scene's word budget, so the user's words carry the ad when they gave any.
"""

import re
import zlib

from media.kinds.ad.script import MAX_FEATURE_WORDS, AdScene, AdScript, settled, word_budget
from media.kinds.ad.styles import AdStyle

_CLAUSES = re.compile(r"(?<=[.!?;:])\s+|\s+[-–—]\s+|,\s+(?:and|but|so|with)\s+")


def clauses(text: str | None) -> list[str]:
    """The description's sentences and clauses, trimmed of their end punctuation."""
    if not text:
        return []
    parts = (p.strip().strip(".!?;:,").strip() for p in _CLAUSES.split(text.strip()))
    return [p for p in parts if len(p.split()) >= 2]


def cut(text: str, limit: int) -> str:
    """At most `limit` words, ending where a clause or sentence ends when one does."""
    found = text.split()
    if len(found) <= limit:
        return text.strip()
    kept = " ".join(found[:limit])
    # A whole sentence, else a whole clause, when one ends past the middle; else the words that fit.
    for marks in (".!?", ",;:"):
        stop = max(kept.rfind(mark) for mark in marks)
        if stop > len(kept) // 2:
            return kept[: stop + 1].rstrip(",;: ")
    return kept.rstrip(",;:-– ")


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _pick(options: tuple[str, ...], key: int, offset: int = 0) -> str:
    return options[(key + offset) % len(options)]


def write_offline(
    style: AdStyle, *, product: str, cta: str, description: str | None, audience: str | None
) -> AdScript:
    key = zlib.crc32(product.strip().lower().encode())
    vocab = style.vocabulary
    words = [_pick(vocab, key, k) for k in range(3)]
    seconds = style.seconds
    features = clauses(description)
    first = features[0] if features else f"{words[0]} and {words[1]}, every single day"
    second = features[1] if len(features) > 1 else f"{words[2]} in every detail"
    who = (audience or "").strip()
    hook = _pick(style.hooks, key)
    closer = _pick(style.closers, key)

    def line(text: str, scene: int) -> str:
        return sentence(cut(text, word_budget(seconds[scene])))

    # The call to action is never cut: when the name and it do not both fit, it is said alone (and a call
    # to action longer than its scene's budget makes the voice stage lengthen the end card).
    ending = f"{product}. {cta.rstrip('.!?')}."
    if len(ending.split()) > word_budget(seconds[3]):
        ending = sentence(cta)

    scenes = [
        AdScene(
            headline=hook,
            feature=product,
            voiceover=line(f"{hook} Meet {product}, {words[0]} and {words[1]}.", 0),
        ),
        AdScene(
            headline=f"{words[0].capitalize()}. {words[1].capitalize()}.",
            feature=sentence(cut(first, MAX_FEATURE_WORDS)),
            voiceover=line(f"{first}. {words[0].capitalize()}, {words[1]} and made to last.", 1),
        ),
        AdScene(
            headline=f"Made for {who}"
            if who and len(who.split()) <= 4
            else f"{words[2].capitalize()}, by design",
            feature=sentence(cut(second, MAX_FEATURE_WORDS)),
            voiceover=line(f"{second}. {f'Made for {who}, ' if who else ''}{words[2]} in every detail.", 2),
        ),
        AdScene(
            headline=product,
            feature=closer,
            voiceover=ending,
        ),
    ]
    return settled(AdScript(product=product, style=style.name, hook=hook, cta=cta, scenes=scenes))
