"""The offline voice's catalogue: which espeak-ng voices exist and which one a request names.

Apart from espeak.py, which speaks, so that the API process can list voices and refuse an unknown one up front
while importing only ctypes and the library loader: the audio side pulls in PyAV and numpy.
"""

import re
from collections.abc import Mapping, Sequence

from media.providers.http import ProviderError
from media.providers.voice.espeak_lib import LOCK, VoiceInfo, engine

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def list_voices() -> list[VoiceInfo]:
    """The voices espeak-ng offers (about 130, by language), for the API's `voices` query."""
    with LOCK:
        return list(engine().voices)


def check_voice(voice: str | None, language: str) -> None:
    """UNSUPPORTED_VOICE now, for a voice or language the offline voice cannot speak: lets the API refuse a
    job up front instead of failing it at the narration stage."""
    with LOCK:
        espeak = engine()
        resolve_voice(espeak.voices, espeak.variants, voice, language)


def resolve_voice(
    voices: Sequence[VoiceInfo], variants: Mapping[str, str], voice: str | None, language: str
) -> str:
    """espeak's identifier for `voice` (a voice name, or a language it speaks, plus an optional "+variant"),
    or for `language` (BCP 47; "de-AT" falls back to "de") when no voice is asked for."""
    wanted = voice if voice is not None else language
    name, plus, variant = wanted.strip().partition("+")
    name = name.lower().replace("_", "-")
    found: VoiceInfo | None = None
    if _NAME.fullmatch(name):
        tags = [name] if voice is not None else _fallbacks(name)
        found = next((v for v in voices if v.name.lower() == name), None)
        for tag in tags:
            found = found or _speaking(voices, tag)
    if found is None:
        asked = f"voice {wanted!r}" if voice is not None else f"language {wanted!r}"
        raise ProviderError("UNSUPPORTED_VOICE", f"espeak-ng has no {asked}; the voices query lists them")
    if not plus:
        return found.identifier
    real = variants.get(variant.lower())
    if real is None:
        raise ProviderError(
            "UNSUPPORTED_VOICE", f"espeak-ng has no voice variant {variant!r} (in {wanted!r})"
        )
    return f"{found.identifier}+{real}"


def _fallbacks(tag: str) -> list[str]:
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _speaking(voices: Sequence[VoiceInfo], language: str) -> VoiceInfo | None:
    best: tuple[int, VoiceInfo] | None = None
    for voice in voices:
        for priority, tag in zip(voice.priorities, voice.languages, strict=True):
            if tag == language and (best is None or priority < best[0]):
                best = (priority, voice)
    return best[1] if best else None
