"""createProductAd's bad input gets typed errors before anything is queued, and the styles it takes are
listed with their palette and mood."""

from __future__ import annotations

from typing import Any

from tests.service import Service
from tests.test_product_ad_e2e import CREATE, product_png

GOOD = {"productName": "Aurora Bottle", "style": "LUXURY", "ctaText": "Shop now"}


async def create(service: Service, files: dict[str, bytes] | None = None, **fields: Any) -> dict[str, Any]:
    body = await service.gql(CREATE, {"input": {**GOOD, **fields}}, files=files)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createProductAd"]
    return result


async def test_bad_product_ad_input_gets_typed_errors_and_no_job(service: Service) -> None:
    long_cta = (
        "Order today for free shipping on every bottle of the summer collection, and a gift for a friend too"
    )
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"style": "sparkly"}, "UNKNOWN_STYLE", "style"),
        ({"productName": "   "}, "EMPTY_TEXT", "productName"),
        ({"ctaText": ""}, "EMPTY_TEXT", "ctaText"),
        # Within the 120 characters, but the bold styles' heavy capitals need three lines at the minimum size.
        ({"ctaText": long_cta, "style": "BOLD"}, "CTA_TOO_LONG", "ctaText"),
        ({"ctaText": long_cta, "style": "ENERGETIC", "size": "1920x1080"}, "CTA_TOO_LONG", "ctaText"),
        ({"ctaText": long_cta + " and more of it, for everyone"}, "TEXT_TOO_LONG", "ctaText"),
        ({"productName": "x" * 81}, "TEXT_TOO_LONG", "productName"),
        ({"description": "y" * 1001}, "TEXT_TOO_LONG", "description"),
        ({"size": "640x480"}, "UNKNOWN_SIZE", "size"),
        ({"voice": "klingon-x"}, "UNSUPPORTED_VOICE", "voice"),
        ({"productImageUrl": "file:///etc/passwd"}, "INVALID_URL", "productImageUrl"),
    ]
    for fields, code, field in cases:
        result = await create(service, **fields)
        assert (result.get("__typename"), result.get("code"), result.get("field")) == (
            "InvalidInput",
            code,
            field,
        ), (
            fields,
            result,
        )
    unknown = await create(service, style="sparkly")
    assert "LUXURY, ENERGETIC, MINIMAL, BOLD" in unknown["message"]
    # A product "image" that is not one: a text file, and a WAV, uploaded as the product photo.
    for data, found in ((b"these are not the pixels you are looking for", "unrecognised data"),
                        (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40), "a audio file")):  # fmt: skip
        result = await create(service, files={"variables.input.productImage": data}, productImage=None)
        assert (result["__typename"], result["code"], result["field"]) == (
            "InvalidInput", "UNSUPPORTED_MEDIA", "productImage",
        ), result  # fmt: skip
        assert found in result["message"]
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []
    # The same fields with a real photo make a job (so each case above failed on its own fault).
    made = await create(service, files={"variables.input.productImage": product_png()}, productImage=None)
    assert made["__typename"] == "Job", made
    # and the long call to action fits the serif of the luxury style, on two lines at a smaller size.
    assert (await create(service, ctaText=long_cta))["__typename"] == "Job"


async def test_styles_of_product_ads_are_listed_with_palette_mood_and_typefaces(service: Service) -> None:
    query = "{ ad: styles(kind: PRODUCT_AD) { name label palette mood typefaces transition } explainer: styles { name } }"  # noqa: E501
    data = (await service.gql(query))["data"]
    ad = {s["name"]: s for s in data["ad"]}
    assert list(ad) == ["LUXURY", "ENERGETIC", "MINIMAL", "BOLD"]
    assert {s["mood"] for s in ad.values()} == {"calm", "upbeat", "corporate", "dramatic"}
    assert all(len(s["palette"]) == 5 and s["typefaces"] for s in ad.values())
    assert ad["LUXURY"]["transition"] == "crossfade" and ad["ENERGETIC"]["transition"] == "cut"
    assert ad["BOLD"]["transition"] == "wipe"
    assert any("SourceSerifPro" in t for t in ad["LUXURY"]["typefaces"])
    assert {s["name"] for s in data["explainer"]} == {"dark", "light", "warm", "ocean"}  # unchanged
