"""libespeak-ng through ctypes: the C declarations of speak_lib.h that we use, and the process's one engine.

The library comes from the `espeakng-loader` wheel (the .so and its voice data, no apt). It keeps one
synthesiser per process (voice, parameters and callback are global), so `engine()` makes it once and every use
holds `LOCK`. SYNCHRONOUS mode: espeak_Synth calls our callback on the calling thread with 16-bit mono samples
and events, and returns when the text is spoken.
"""

import ctypes
import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from espeakng_loader import get_data_path, get_library_path  # type: ignore[import-untyped]

from media.providers.http import ProviderError

SYNCHRONOUS = 2
POSITION_CHARACTER = 1
CHARS_UTF8 = 1
INITIALIZE_DONT_EXIT = 0x8000  # without it, missing voice data makes espeak call exit() inside the worker
EVENT_LIST_END = 0
EVENT_WORD = 1
PARAMETER_RATE = 1
LOCK = threading.Lock()


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters of the text
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # samples from the start of this synthesis
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _VoiceEntry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        # (priority byte, NUL-terminated language) pairs, ending at priority 0
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_I, _U, _P = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
_SIGNATURES: dict[str, tuple[list[type], type | None]] = {
    "espeak_Initialize": ([_I, _I, ctypes.c_char_p, _I], _I),
    "espeak_SetSynthCallback": ([_Callback], None),
    "espeak_SetVoiceByName": ([ctypes.c_char_p], _I),
    "espeak_SetParameter": ([_I, _I, _I], _I),
    "espeak_ListVoices": ([_P], ctypes.POINTER(ctypes.POINTER(_VoiceEntry))),
    "espeak_Synth": ([_P, ctypes.c_size_t, _U, _I, _U, _U, _P, _P], _I),
}


@dataclass(frozen=True)
class VoiceInfo:
    name: str  # what `voice` accepts, e.g. "en-us" (any case)
    label: str  # espeak's own name, e.g. "English (America)"
    languages: tuple[str, ...]  # language tags it speaks, best first, e.g. ("en-us", "en")
    identifier: str = field(repr=False)  # espeak's voice file, e.g. "gmw/en-US"
    priorities: tuple[int, ...] = field(repr=False, default=())  # per language; lower is a better match


@dataclass
class Take:
    """What one espeak_Synth call produced."""

    pcm: bytearray = field(default_factory=bytearray)
    words: list[tuple[int, int]] = field(default_factory=list)  # (text position, first sample)
    error: Exception | None = None


class Engine:
    """libespeak-ng, initialised, with our callback installed; use it only while holding LOCK."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(str(get_library_path()))
        for function, (arguments, result) in _SIGNATURES.items():
            getattr(lib, function).argtypes = arguments
            getattr(lib, function).restype = result
        data = Path(str(get_data_path()))
        rate = int(lib.espeak_Initialize(SYNCHRONOUS, 0, str(data).encode(), INITIALIZE_DONT_EXIT))
        if rate <= 0:
            raise ProviderError("TTS_UNAVAILABLE", f"espeak-ng could not start with the voice data in {data}")
        self.sample_rate = rate
        self._lib = lib
        self._take: Take | None = None
        self._callback = _Callback(self._on_audio)  # kept referenced: espeak calls it long after this line
        lib.espeak_SetSynthCallback(self._callback)
        self.voices = self._list_voices()
        self.variants = {p.name.lower(): p.name for p in (data / "voices" / "!v").iterdir()}

    def _list_voices(self) -> tuple[VoiceInfo, ...]:
        found: list[VoiceInfo] = []
        entries = self._lib.espeak_ListVoices(None)
        for i in range(10_000):  # the list ends with a NULL entry; the bound only guards a broken one
            if not entries[i]:
                break
            entry = entries[i].contents
            pairs: list[tuple[int, str]] = []
            at = int(entry.languages)
            while (priority := ctypes.string_at(at, 1)[0]) != 0:
                language = ctypes.string_at(at + 1).decode()
                pairs.append((priority, language))
                at += len(language) + 2
            identifier = entry.identifier.decode()
            name = identifier.rsplit("/", 1)[-1]
            pairs.sort(key=lambda pair: pair[0])
            languages = tuple(language for _, language in pairs)
            label = entry.name.decode().strip()
            found.append(VoiceInfo(name, label, languages, identifier, tuple(p for p, _ in pairs)))
        return tuple(found)

    def synthesize(self, text: str, voice: str, rate: int) -> Take:
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ProviderError("UNSUPPORTED_VOICE", f"espeak-ng could not load the voice {voice!r}")
        self._lib.espeak_SetParameter(PARAMETER_RATE, rate, 0)
        take = self._take = Take()
        data = text.encode()
        try:
            status = self._lib.espeak_Synth(
                data, len(data) + 1, 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None
            )
        finally:
            self._take = None
        if take.error is not None:
            raise take.error
        if status != 0:
            raise ProviderError("TTS_FAILED", f"espeak-ng could not speak the narration (status {status})")
        return take

    def _on_audio(
        self, wav: "ctypes._Pointer[ctypes.c_short]", count: int, events: "ctypes._Pointer[_Event]"
    ) -> int:
        take = self._take
        if take is None:
            return 1
        try:
            if count > 0:
                take.pcm += ctypes.string_at(wav, count * 2)
            i = 0
            while events[i].type != EVENT_LIST_END:
                if events[i].type == EVENT_WORD:
                    take.words.append((int(events[i].text_position), int(events[i].sample)))
                i += 1
        except Exception as exc:  # an exception cannot cross into C: stop the synthesis, raise it afterwards
            take.error = exc
            return 1
        return 0


@functools.cache
def engine() -> Engine:
    """The process's engine; call with `LOCK` held. A failed start is not cached, so it is retried."""
    return Engine()
