"""What the vendors charge, in US dollars per unit of the usage their modules report (media.providers.meter).

List prices as the vendors publish them (per 1M tokens or characters, per image, per second of video; read
2026-12), for the default models. Override or extend with CLIPFORGE_PRICES_USD (JSON, the same keys), e.g.
for a negotiated rate or another model.
"""

from __future__ import annotations

from collections.abc import Mapping

PER_MILLION = 1e-6

DEFAULT_PRICES_USD: dict[str, float] = {
    # Script writers: tokens in and out.
    "openai/gpt-4.1-mini:input_tokens": 0.40 * PER_MILLION,
    "openai/gpt-4.1-mini:output_tokens": 1.60 * PER_MILLION,
    "anthropic/claude-sonnet-4-5:input_tokens": 3.00 * PER_MILLION,
    "anthropic/claude-sonnet-4-5:output_tokens": 15.00 * PER_MILLION,
    "gemini/gemini-2.5-flash:input_tokens": 0.30 * PER_MILLION,
    "gemini/gemini-2.5-flash:output_tokens": 2.50 * PER_MILLION,
    # Voices: characters of text spoken.
    "openai/gpt-4o-mini-tts:characters": 15.00 * PER_MILLION,
    "elevenlabs/eleven_multilingual_v2:characters": 300.00 * PER_MILLION,
    # Images: one picture at a size and quality.
    "openai/gpt-image-1:image:low": 0.016,
    "openai/gpt-image-1:image:medium": 0.063,
    "openai/gpt-image-1:image:high": 0.25,
    # Runway: 1 Runway credit = $0.01; gen4_image 5 credits (720p) or 8 (1080p), gen4_turbo 5 per second.
    "runway/gen4_image:image:720p": 0.05,
    "runway/gen4_image:image:1080p": 0.08,
    "runway/gen4_turbo:seconds": 0.05,
}


def price_key(vendor: str, item: str) -> str:
    return f"{vendor}/{item}"


def unit_price(prices: Mapping[str, float], vendor: str, item: str) -> float | None:
    """USD per unit, or None when the table has no price for it."""
    return prices.get(price_key(vendor, item))
