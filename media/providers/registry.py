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

from media.inputs.fetch import FetchLimits
from media.providers.http import ProviderError, require_key
from media.providers.image_gen.base import ImageGenerator
from media.providers.image_gen.offline import OfflineImages
from media.providers.image_gen.runway import RunwayImages
from media.providers.image_to_video.base import ImageToVideo
from media.providers.image_to_video.offline import OfflineMotion
from media.providers.image_to_video.runway import RunwayMotion
from media.providers.llm import anthropic as llm_anthropic
from media.providers.llm import gemini as llm_gemini
from media.providers.llm import openai as llm_openai
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.base import LLM
from media.providers.llm.gemini import GeminiLLM
from media.providers.llm.openai import OpenAILLM
from media.providers.music.base import MusicSource
from media.providers.music.offline import GeneratedMusic
from media.providers.runway import API_URL as RUNWAY_URL
from media.providers.runway import MAX_WAIT_SECONDS as RUNWAY_MAX_WAIT
from media.providers.runway import POLL_SECONDS as RUNWAY_POLL
from media.providers.runway import Runway
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
RUNWAY_KEY = "CLIPFORGE_RUNWAY_API_KEY"  # one key for Runway's images and videos
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
    runway_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str = "https://api.openai.com/v1"  # or any OpenAI-compatible gateway
    anthropic_base_url: str = "https://api.anthropic.com"  # or a gateway speaking the Messages API
    script_model: str | None = None
    voice_model: str | None = None
    image_model: str | None = None
    espeak_rate: int = DEFAULT_RATE
    runway_base_url: str = RUNWAY_URL
    runway_poll_seconds: float = RUNWAY_POLL
    runway_max_wait_seconds: float = RUNWAY_MAX_WAIT
    # How vendors' output URLs are downloaded (Runway's expire in a day or two, so they are copied at once).
    fetch_limits: FetchLimits = FetchLimits()


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


def _generated_music(config: ProviderConfig) -> MusicSource:
    return GeneratedMusic()


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


def _runway(config: ProviderConfig) -> Runway:
    return Runway(
        http=_client(config, "Runway"),
        key=require_key(config.runway_api_key, "Runway", RUNWAY_KEY),
        base_url=config.runway_base_url,
        fetch_limits=config.fetch_limits,
        poll_seconds=config.runway_poll_seconds,
        max_wait_seconds=config.runway_max_wait_seconds,
    )


def _offline_images(config: ProviderConfig) -> ImageGenerator:
    return OfflineImages()


def _runway_images(config: ProviderConfig) -> ImageGenerator:
    return RunwayImages(_runway(config))


def _offline_motion(config: ProviderConfig) -> ImageToVideo:
    return OfflineMotion()


def _runway_motion(config: ProviderConfig) -> ImageToVideo:
    return RunwayMotion(_runway(config))


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
    # A backing track by mood, for shorts whose user brings no music.
    "music": Capability[MusicSource]("CLIPFORGE_MUSIC_PROVIDER", {OFFLINE: _generated_music}),
    # The AI scene video's still image, and the video made from it.
    "image_gen": Capability[ImageGenerator](
        "CLIPFORGE_IMAGE_GEN_PROVIDER", {OFFLINE: _offline_images, "runway": _runway_images}
    ),
    "image_to_video": Capability[ImageToVideo](
        "CLIPFORGE_IMAGE_TO_VIDEO_PROVIDER", {OFFLINE: _offline_motion, "runway": _runway_motion}
    ),
}


@overload
def make(capability: Literal["llm"], name: str, config: ProviderConfig) -> LLM | None: ...
@overload
def make(capability: Literal["voice"], name: str, config: ProviderConfig) -> Voice: ...
@overload
def make(capability: Literal["image"], name: str, config: ProviderConfig) -> Painter: ...
@overload
def make(capability: Literal["music"], name: str, config: ProviderConfig) -> MusicSource: ...
@overload
def make(capability: Literal["image_gen"], name: str, config: ProviderConfig) -> ImageGenerator: ...
@overload
def make(capability: Literal["image_to_video"], name: str, config: ProviderConfig) -> ImageToVideo: ...
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

    A new capability is a new field here plus an entry in TABLE; build_providers fills the field from that
    entry.
    """

    script: ScriptWriter  # the explainer's scene script: on the language model, or the offline rules
    voice: Voice
    painter: Painter  # every scene's visual: drawn offline, `image` scenes by the chosen image provider
    placeholder: Painter = field(default_factory=PlaceholderPainter)  # marks a visual that failed for good
    # The language model, for kinds that ask it for their own shape of answer (media.providers.llm.base.Ask);
    # None: offline, and each kind writes with its own rules.
    llm: LLM | None = None
    # The image provider itself, when a cloud one is configured (shorts paint whole frames with it, as a
    # paid action priced for `pictures_provider`); None: offline, each kind draws its own pictures.
    pictures: Painter | None = None
    pictures_provider: str = OFFLINE
    music: MusicSource = field(default_factory=GeneratedMusic)
    image_gen: ImageGenerator = field(default_factory=OfflineImages)  # a scene's still image
    image_to_video: ImageToVideo = field(default_factory=OfflineMotion)  # a scene's video, from its still

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
    image_name = choices.get("image", OFFLINE).strip().lower()
    image = make("image", image_name, config)
    return Providers(
        script=OfflineWriter() if llm is None else LLMScriptWriter(llm),
        llm=llm,
        voice=make("voice", choices.get("voice", OFFLINE), config),
        painter=scene_painter(image),
        placeholder=PlaceholderPainter(),
        pictures=None if image_name == OFFLINE else image,
        pictures_provider=image_name,
        music=make("music", choices.get("music", OFFLINE), config),
        image_gen=make("image_gen", choices.get("image_gen", OFFLINE), config),
        image_to_video=make("image_to_video", choices.get("image_to_video", OFFLINE), config),
    )
