"""Which provider serves each capability: one table of capability → provider name → factory, and the set of
providers a worker runs with.

Names and keys come from settings, which live above media/, so they arrive as a ProviderConfig of plain
values. Everything is checked when the providers are built: an unknown name or a missing key is
PROVIDER_NOT_CONFIGURED naming the environment variable to set, so a misconfigured worker fails at startup
instead of in the middle of someone's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, overload

import httpx

from media.providers.http import ProviderError, require_key
from media.providers.llm import anthropic as llm_anthropic
from media.providers.llm import gemini as llm_gemini
from media.providers.llm import openai as llm_openai
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.base import LLM
from media.providers.llm.gemini import GeminiLLM
from media.providers.llm.openai import OpenAILLM
from media.providers.script.base import ScriptWriter
from media.providers.script.llm import LLMScriptWriter
from media.providers.script.offline import OfflineWriter
from media.providers.visual import openai as painter_openai
from media.providers.visual.base import Painter
from media.providers.visual.openai import OpenAIPainter
from media.providers.visual.placeholder import PlaceholderPainter
from media.providers.visual.scene import scene_painter
from media.providers.visual.title import StandInPainter
from media.providers.voice import elevenlabs as voice_elevenlabs
from media.providers.voice import openai as voice_openai
from media.providers.voice.base import Voice
from media.providers.voice.elevenlabs import ElevenLabsVoice
from media.providers.voice.espeak import DEFAULT_RATE, EspeakVoice
from media.providers.voice.openai import OpenAIVoice

OFFLINE = "offline"
OPENAI_KEY = "CLIPFORGE_OPENAI_API_KEY"  # one key for the three OpenAI clients
P = TypeVar("P", covariant=True)


@dataclass(frozen=True)
class ProviderConfig:
    """Everything a factory may need. A key that is None or empty is missing. `http` may be None only for
    the offline providers; the model overrides apply to whichever vendor is chosen for that capability."""

    http: httpx.AsyncClient | None = None
    # Out of repr, so a logged config (or a traceback's locals) never shows a key.
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    gemini_api_key: str | None = field(default=None, repr=False)
    elevenlabs_api_key: str | None = field(default=None, repr=False)
    runway_api_key: str | None = field(default=None, repr=False)  # for image-to-video, not used yet
    openai_base_url: str = "https://api.openai.com/v1"  # or any OpenAI-compatible gateway
    anthropic_base_url: str = "https://api.anthropic.com"  # or a gateway speaking the Messages API
    script_model: str | None = None
    voice_model: str | None = None
    image_model: str | None = None
    espeak_rate: int = DEFAULT_RATE


@dataclass(frozen=True)
class Capability(Generic[P]):
    setting: str  # the environment variable that chooses the provider, named when the choice is wrong
    factories: Mapping[str, Callable[[ProviderConfig], P]]  # by lower-case provider name


def _client(config: ProviderConfig, provider: str) -> httpx.AsyncClient:
    if config.http is None:
        raise ProviderError("PROVIDER_NOT_CONFIGURED", f"{provider} needs an HTTP client")
    return config.http


def _no_llm(config: ProviderConfig) -> LLM | None:
    return None  # offline: each kind writes with its own rules


def _openai_llm(config: ProviderConfig) -> LLM | None:
    name = llm_openai.PROVIDER
    return OpenAILLM(
        api_key=require_key(config.openai_api_key, name, OPENAI_KEY),
        http=_client(config, name),
        model=config.script_model or llm_openai.DEFAULT_MODEL,
        base_url=config.openai_base_url,
    )


def _anthropic_llm(config: ProviderConfig) -> LLM | None:
    name = llm_anthropic.PROVIDER
    return AnthropicLLM(
        api_key=require_key(config.anthropic_api_key, name, "CLIPFORGE_ANTHROPIC_API_KEY"),
        http=_client(config, name),
        model=config.script_model or llm_anthropic.DEFAULT_MODEL,
        base_url=config.anthropic_base_url,
    )


def _gemini_llm(config: ProviderConfig) -> LLM | None:
    name = llm_gemini.PROVIDER
    return GeminiLLM(
        api_key=require_key(config.gemini_api_key, name, "CLIPFORGE_GEMINI_API_KEY"),
        http=_client(config, name),
        model=config.script_model or llm_gemini.DEFAULT_MODEL,
    )


def _espeak_voice(config: ProviderConfig) -> Voice:
    return EspeakVoice(rate=config.espeak_rate)


def _openai_voice(config: ProviderConfig) -> Voice:
    name = voice_openai.PROVIDER
    return OpenAIVoice(
        api_key=require_key(config.openai_api_key, name, OPENAI_KEY),
        http=_client(config, name),
        model=config.voice_model or voice_openai.DEFAULT_MODEL,
        base_url=config.openai_base_url,
    )


def _elevenlabs_voice(config: ProviderConfig) -> Voice:
    name = voice_elevenlabs.PROVIDER
    return ElevenLabsVoice(
        api_key=require_key(config.elevenlabs_api_key, name, "CLIPFORGE_ELEVENLABS_API_KEY"),
        http=_client(config, name),
        model=config.voice_model or voice_elevenlabs.DEFAULT_MODEL,
    )


def _stand_in_painter(config: ProviderConfig) -> Painter:
    return StandInPainter()


def _openai_painter(config: ProviderConfig) -> Painter:
    name = painter_openai.PROVIDER
    return OpenAIPainter(
        key=require_key(config.openai_api_key, name, OPENAI_KEY),
        http=_client(config, name),
        model=config.image_model or painter_openai.MODEL,
        base_url=config.openai_base_url,
    )


# The one table. Each entry is typed with its Protocol, so mypy checks every factory; a new provider is one
# line here, a new capability one entry here plus a field of Providers.
TABLE: Mapping[str, Capability[object]] = {
    # The language model every kind's writer asks (None offline: each kind's rule-based writer).
    "llm": Capability[LLM | None](
        "CLIPFORGE_LLM_PROVIDER",
        {OFFLINE: _no_llm, "openai": _openai_llm, "anthropic": _anthropic_llm, "gemini": _gemini_llm},
    ),
    "voice": Capability[Voice](
        "CLIPFORGE_TTS_PROVIDER",
        {OFFLINE: _espeak_voice, "openai": _openai_voice, "elevenlabs": _elevenlabs_voice},
    ),
    # The painter of `image` scenes; every other visual type is drawn offline (visual/scene.py).
    "image": Capability[Painter](
        "CLIPFORGE_IMAGE_PROVIDER",
        {OFFLINE: _stand_in_painter, "openai": _openai_painter},
    ),
}


@overload
def make(capability: Literal["llm"], name: str, config: ProviderConfig) -> LLM | None: ...
@overload
def make(capability: Literal["voice"], name: str, config: ProviderConfig) -> Voice: ...
@overload
def make(capability: Literal["image"], name: str, config: ProviderConfig) -> Painter: ...
@overload
def make(capability: str, name: str, config: ProviderConfig) -> object: ...
def make(capability: str, name: str, config: ProviderConfig) -> object:
    """The provider called `name` (case and surrounding spaces ignored) for `capability`; ProviderError
    PROVIDER_NOT_CONFIGURED for an unknown name or a missing key, naming the variable to set."""
    entry = TABLE.get(capability)
    if entry is None:  # a bug in our wiring, not a setting someone can fix
        raise ValueError(f"no capability {capability!r}; the table has {', '.join(TABLE)}")
    factory = entry.factories.get(name.strip().lower())
    if factory is None:
        raise ProviderError(
            "PROVIDER_NOT_CONFIGURED",
            f"no {capability} provider called {name!r}: set {entry.setting} to one of "
            f"{', '.join(entry.factories)}",
        )
    return factory(config)


@dataclass(frozen=True)
class Providers:
    """The providers a job's stages use, one field per capability.

    A new capability (image generation, image-to-video, music come next) is a new field here plus an entry in
    TABLE; build_providers fills the field from that entry.
    """

    script: ScriptWriter  # the explainer's scene script: on the language model, or the offline rules
    voice: Voice
    painter: Painter  # every scene's visual: drawn offline, `image` scenes by the chosen image provider
    placeholder: Painter = field(default_factory=PlaceholderPainter)  # marks a visual that failed for good
    # The language model, for kinds that ask it for their own shape of answer (media.providers.llm.base.Ask);
    # None: offline, and each kind writes with its own rules.
    llm: LLM | None = None

    @classmethod
    def offline(cls) -> Providers:
        """Everything offline: no keys, no network (the default, and what most tests use)."""
        return build_providers({}, ProviderConfig())


def build_providers(choices: Mapping[str, str], config: ProviderConfig) -> Providers:
    """The providers named in `choices` (capability → provider name; a capability left out is offline)."""
    unknown = [capability for capability in choices if capability not in TABLE]
    if unknown:
        raise ValueError(f"no capability {', '.join(unknown)}; the table has {', '.join(TABLE)}")
    llm = make("llm", choices.get("llm", OFFLINE), config)
    return Providers(
        script=OfflineWriter() if llm is None else LLMScriptWriter(llm),
        llm=llm,
        voice=make("voice", choices.get("voice", OFFLINE), config),
        painter=scene_painter(make("image", choices.get("image", OFFLINE), config)),
        placeholder=PlaceholderPainter(),
    )
