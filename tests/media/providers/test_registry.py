"""The registry: every provider in the table builds from a ProviderConfig, a cloud one refuses to build
without its key, an unknown name is refused listing the valid ones, and the choices and overrides in the
config reach the provider that is built. Nothing here calls a vendor for real."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from media.providers.http import ProviderError
from media.providers.image_gen.offline import OfflineImages
from media.providers.image_gen.runway import RunwayImages
from media.providers.image_to_video.offline import OfflineMotion
from media.providers.image_to_video.runway import RunwayMotion
from media.providers.registry import TABLE, ProviderConfig, Providers, build_providers, make
from media.providers.script.offline import OfflineWriter
from media.providers.visual.base import Theme
from media.providers.visual.openai import OpenAIPainter
from media.providers.visual.placeholder import PlaceholderPainter
from media.providers.visual.scene import ScenePainter
from media.providers.visual.title import StandInPainter
from media.providers.voice.espeak import EspeakVoice
from media.script import Scene

CHOSEN_BY = {
    "llm": "CLIPFORGE_LLM_PROVIDER",
    "voice": "CLIPFORGE_TTS_PROVIDER",
    "image": "CLIPFORGE_IMAGE_PROVIDER",
    "image_gen": "CLIPFORGE_IMAGE_GEN_PROVIDER",
    "image_to_video": "CLIPFORGE_IMAGE_TO_VIDEO_PROVIDER",
    "music": "CLIPFORGE_MUSIC_PROVIDER",
}
# The method of each capability's Protocol: what the built provider must have.
METHOD = {
    "llm": "complete",
    "voice": "speak",
    "image": "paint",
    "image_gen": "submit",
    "image_to_video": "submit",
    "music": "backing_track",
}
# Every cloud provider and the variable holding its key; the test below keeps this list equal to the table.
KEYS = [
    ("llm", "openai", "CLIPFORGE_OPENAI_API_KEY"),
    ("llm", "anthropic", "CLIPFORGE_ANTHROPIC_API_KEY"),
    ("llm", "gemini", "CLIPFORGE_GEMINI_API_KEY"),
    ("voice", "openai", "CLIPFORGE_OPENAI_API_KEY"),
    ("voice", "elevenlabs", "CLIPFORGE_ELEVENLABS_API_KEY"),
    ("image", "openai", "CLIPFORGE_OPENAI_API_KEY"),
    ("image_gen", "runway", "CLIPFORGE_RUNWAY_API_KEY"),
    ("image_to_video", "runway", "CLIPFORGE_RUNWAY_API_KEY"),
]
ALL = [(capability, name) for capability, entry in TABLE.items() for name in entry.factories]


class Vendor:
    """Refuses every request (400) and keeps it: enough to see what a provider would send."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(400, json={"error": {"message": "recorded"}})


@pytest.fixture
def vendor() -> Vendor:
    return Vendor()


@pytest.fixture
async def http(vendor: Vendor) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        yield client


def with_keys(http: httpx.AsyncClient, **overrides: Any) -> ProviderConfig:
    return ProviderConfig(
        http=http,
        openai_api_key="sk-test",
        anthropic_api_key="sk-ant-test",
        gemini_api_key="AIza-test",
        elevenlabs_api_key="xi-test",
        runway_api_key="key_test",
        **overrides,
    )


def test_the_table_has_the_capabilities_and_settings_the_workers_are_configured_with() -> None:
    assert {capability: entry.setting for capability, entry in TABLE.items()} == CHOSEN_BY
    assert all(entry.factories.get("offline") for entry in TABLE.values())


@pytest.mark.parametrize(("capability", "name"), ALL)
async def test_every_provider_in_the_table_builds_with_its_keys_and_calls_nobody(
    capability: str, name: str, http: httpx.AsyncClient, vendor: Vendor
) -> None:
    provider = make(capability, name, with_keys(http))
    if (capability, name) == ("llm", "offline"):
        assert provider is None  # no model: each kind writes with its own rules
    else:
        assert callable(getattr(provider, METHOD[capability]))
    assert vendor.requests == []  # building is free: no request until a job asks for something


def test_the_key_list_covers_every_cloud_provider_in_the_table() -> None:
    assert sorted((c, n) for c, n, _ in KEYS) == sorted((c, n) for c, n in ALL if n != "offline")


@pytest.mark.parametrize(("capability", "name", "setting"), KEYS)
@pytest.mark.parametrize("missing", [None, ""], ids=["none", "empty"])  # settings default to ""
async def test_a_cloud_provider_without_its_key_is_refused_naming_the_variable(
    capability: str, name: str, setting: str, missing: str | None, http: httpx.AsyncClient
) -> None:
    # Every other key is given, so the refusal is about this one (CLIPFORGE_X_API_KEY is the field x_api_key).
    without: dict[str, Any] = {setting.removeprefix("CLIPFORGE_").lower(): missing}
    config = replace(with_keys(http), **without)
    with pytest.raises(ProviderError) as caught:
        make(capability, name, config)
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"
    assert setting in caught.value.message


@pytest.mark.parametrize("capability", list(TABLE))
def test_an_unknown_name_is_refused_listing_the_valid_ones(capability: str) -> None:
    with pytest.raises(ProviderError) as caught:
        make(capability, "acme", ProviderConfig())
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"
    assert "'acme'" in caught.value.message and CHOSEN_BY[capability] in caught.value.message
    assert ", ".join(TABLE[capability].factories) in caught.value.message


@pytest.mark.parametrize("name", ["OpenAI", " openai ", "OPENAI\n"])
def test_names_are_read_ignoring_case_and_surrounding_spaces(name: str, http: httpx.AsyncClient) -> None:
    assert isinstance(make("image", name, with_keys(http)), OpenAIPainter)


def test_a_cloud_provider_without_an_http_client_is_refused() -> None:
    with pytest.raises(ProviderError) as caught:
        make("voice", "openai", ProviderConfig(openai_api_key="sk-test"))
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"


def offline_checks(providers: Providers) -> None:
    assert isinstance(providers.script, OfflineWriter) and providers.llm is None
    assert isinstance(providers.voice, EspeakVoice)
    assert isinstance(providers.placeholder, PlaceholderPainter)
    assert isinstance(providers.painter, ScenePainter)
    assert isinstance(providers.painter.painters["image"], StandInPainter)
    assert isinstance(providers.image_gen, OfflineImages)
    assert isinstance(providers.image_to_video, OfflineMotion)


def test_build_providers_gives_offline_for_every_capability_left_out() -> None:
    offline_checks(build_providers({}, ProviderConfig()))
    offline_checks(Providers.offline())


async def test_build_providers_uses_the_choices_and_draws_every_other_visual_offline(
    http: httpx.AsyncClient,
) -> None:
    providers = build_providers({"voice": "offline", "image": "OpenAI"}, with_keys(http))
    assert isinstance(providers.voice, EspeakVoice)
    assert isinstance(providers.painter, ScenePainter)
    assert isinstance(providers.painter.painters["image"], OpenAIPainter)
    assert type(providers.painter.painters["slide"]).__name__ == "SlidePainter"


def test_build_providers_fails_on_the_first_bad_choice_naming_its_variable() -> None:
    with pytest.raises(ProviderError, match="CLIPFORGE_TTS_PROVIDER") as caught:
        build_providers({"llm": "offline", "voice": "polly"}, ProviderConfig())
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"


def test_a_capability_the_table_does_not_have_is_a_wiring_bug() -> None:
    with pytest.raises(ValueError, match="voices"):
        build_providers({"voices": "offline"}, ProviderConfig())


def test_the_keys_stay_out_of_the_configs_repr() -> None:
    shown = repr(ProviderConfig(openai_api_key="sk-secret", elevenlabs_api_key="xi-secret"))
    assert "secret" not in shown


async def test_the_base_url_and_model_overrides_reach_the_openai_clients(
    http: httpx.AsyncClient, vendor: Vendor, tmp_path: Path
) -> None:
    config = with_keys(
        http,
        openai_base_url="https://gateway.example/v1/",
        script_model="gpt-script",
        voice_model="gpt-voice",
        image_model="gpt-picture",
    )
    providers = build_providers({"llm": "openai", "voice": "openai", "image": "openai"}, config)
    scene = Scene(narration="n", visual="image", title="Lighthouse", content="A lighthouse at dusk")
    with pytest.raises(ProviderError):
        await providers.script.write_script("Some text.", title=None, max_scenes=2, language="en")
    with pytest.raises(ProviderError):
        await providers.voice.speak("Hello there.", tmp_path / "a", voice=None, language="en")
    with pytest.raises(ProviderError):
        await providers.painter.paint(scene, tmp_path / "i.png", width=64, height=64, theme=Theme())
    sent = [(str(r.url), json.loads(r.content)["model"]) for r in vendor.requests]
    assert sent == [
        ("https://gateway.example/v1/chat/completions", "gpt-script"),
        ("https://gateway.example/v1/audio/speech", "gpt-voice"),
        ("https://gateway.example/v1/images/generations", "gpt-picture"),
    ]


async def test_a_model_override_reaches_the_other_vendors_too(
    http: httpx.AsyncClient, vendor: Vendor, tmp_path: Path
) -> None:
    for name in ("anthropic", "gemini"):
        writer = build_providers({"llm": name}, with_keys(http, script_model=f"{name}-model")).script
        with pytest.raises(ProviderError):
            await writer.write_script("Some text.", title=None, max_scenes=2, language="en")
    voice = make("voice", "elevenlabs", with_keys(http, voice_model="eleven-model"))
    with pytest.raises(ProviderError):
        await voice.speak("Hello there.", tmp_path / "a", voice=None, language="en")
    anthropic, gemini, elevenlabs = vendor.requests
    assert json.loads(anthropic.content)["model"] == "anthropic-model"
    assert gemini.url.path == "/v1beta/models/gemini-model:generateContent"
    assert json.loads(elevenlabs.content)["model_id"] == "eleven-model"


async def test_both_runway_providers_use_the_configured_runway(http: httpx.AsyncClient) -> None:
    config = replace(with_keys(http), runway_base_url="http://runway.test", runway_poll_seconds=1)
    providers = build_providers({"image_gen": "runway", "image_to_video": "Runway"}, config)
    assert isinstance(providers.image_gen, RunwayImages) and isinstance(
        providers.image_to_video, RunwayMotion
    )
    for runway in (providers.image_gen.runway, providers.image_to_video.runway):
        assert (runway.base_url, runway.poll_seconds) == ("http://runway.test", 1)
