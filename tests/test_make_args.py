"""`clipforge make`'s options come from the schema: the real one, and a sample of shapes still to come."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from clipforge.make.args import InputProblem, kind_parser
from clipforge.make.command import common_options
from clipforge.make.kinds import Kind, Schema, local_schema
from tests.schema_sample import EXPECTED_FILES, EXPECTED_INPUT, SAMPLE


def parse(schema: Schema, kind: Kind, argv: list[str]) -> tuple[dict[str, object], list[str]]:
    built = kind_parser(schema, kind, "clipforge make", [common_options()])
    values, files = built.to_input(built.parser.parse_args(argv))
    return values, sorted(f.path for f in files)


def test_every_create_mutation_is_a_kind_and_nothing_else_is() -> None:
    schema = local_schema()
    assert {k.id for k in schema.kinds} >= {"slideshow", "explainer", "timeline"}
    assert all(k.mutation.startswith(("create", "render")) for k in schema.kinds)
    assert "cancel-job" not in {k.id for k in schema.kinds}
    sample = Schema(SAMPLE)
    assert [(k.id, k.mutation, k.arg_type) for k in sample.kinds] == [
        ("product-ad", "createProductAd", "ProductAdInput!")
    ]
    assert sample.kind("PRODUCT_AD") is sample.kind("product-ad") is sample.kind("createProductAd")


def test_shapes_still_to_come_map_onto_options_uploads_and_dotted_nested_fields(tmp_path: Path) -> None:
    schema = Schema(SAMPLE)
    kind = schema.kinds[0]
    photos = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "ref.png"]
    for p in photos:
        p.write_bytes(b"x")
    storyboard = tmp_path / "board.json"
    storyboard.write_text('{"scenes": [{"text": "hi"}]}')
    values, files = parse(
        schema,
        kind,
        ["Aurora", "Lamp", "--style", "bold", "--scene-id", "scene-1",
         "--scene.image-prompt", "a lamp on a desk", "--scene.product-reference-image", str(photos[2]),
         "--tags", "warm", "desk", "--photos", str(photos[0]), str(photos[1]),
         "--storyboard", f"@{storyboard}", "--no-captions"],
    )  # fmt: skip
    assert values == {**EXPECTED_INPUT, "productName": "Aurora Lamp"}  # unquoted words are one name
    assert files == sorted(EXPECTED_FILES)


def test_a_url_given_for_an_upload_goes_to_its_url_twin_and_bad_values_are_refused(tmp_path: Path) -> None:
    schema = Schema(SAMPLE)
    kind = schema.kinds[0]
    values, files = parse(schema, kind, ["X", "--style", "luxury", "--photos", "https://example.com/a.jpg"])
    assert values == {"productName": "X", "style": "LUXURY", "photoUrls": ["https://example.com/a.jpg"]}
    assert files == []
    with pytest.raises(InputProblem, match="must be one of luxury, bold"):
        parse(schema, kind, ["X", "--style", "shiny"])
    with pytest.raises(InputProblem, match="no such file"):
        parse(schema, kind, ["X", "--photos", str(tmp_path / "missing.png")])
    with pytest.raises(InputProblem, match="not valid JSON"):
        parse(schema, kind, ["X", "--storyboard", "{nope"])
    with pytest.raises(InputProblem, match="local files only"):
        parse(schema, kind, ["X", "--scene.product-reference-image", "https://example.com/r.png"])


def test_the_real_kinds_take_what_the_issue_shows(tmp_path: Path) -> None:
    schema = local_schema()
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "song.mp3").write_bytes(b"x")
    notes = tmp_path / "notes.md"
    notes.write_text("# Cats\nCats purr.")
    slideshow = schema.kind("slideshow")
    explainer = schema.kind("explainer")
    timeline = schema.kind("timeline")
    assert slideshow and explainer and timeline
    values, files = parse(schema, slideshow, [str(tmp_path / "a.jpg"), "https://x.org/b.jpg",
                                              "--audio", str(tmp_path / "song.mp3")])  # fmt: skip
    assert values == {"imageUrls": ["https://x.org/b.jpg"], "images": [None], "audio": None}
    assert files == ["variables.input.audio", "variables.input.images.0"]
    values, _ = parse(schema, explainer, [str(notes), "--max-scenes", "3", "--preview"])
    assert values == {"sourceText": "# Cats\nCats purr.", "maxScenes": 3, "preview": True}
    values, _ = parse(schema, timeline, ['{"tracks": []}'])
    assert values == {"timeline": {"tracks": []}}
    short, ad = schema.kind("short"), schema.kind("product-ad")
    assert short and ad
    for argv in (["why cats purr"], ["why", "cats", "purr"]):  # quoted or not, the words are the idea
        values, files = parse(schema, short, [*argv, "--duration-seconds", "20"])
        assert values == {"idea": "why cats purr", "durationSeconds": 20} and files == []
    values, files = parse(schema, ad, ["Aurora Bottle", "--style", "luxury", "--cta-text", "Shop now",
                                       "--product-image", str(tmp_path / "a.jpg")])  # fmt: skip
    assert values == {
        "productName": "Aurora Bottle",
        "style": "luxury",
        "ctaText": "Shop now",
        "productImage": None,
    }
    assert files == ["variables.input.productImage"]
    with pytest.raises(SystemExit):  # argparse: a Float option given a word
        parse(schema, slideshow, ["--seconds-per-image", "long"])


def test_an_input_field_named_like_an_option_of_the_command_keeps_both() -> None:
    schema = Schema(SAMPLE)
    kind = schema.kinds[0]
    clash = argparse.ArgumentParser(add_help=False)
    clash.add_argument("--tags")
    built = kind_parser(schema, kind, "clipforge make", [clash])
    ns = built.parser.parse_args(["X", "--style", "bold", "--input.tags", "a"])
    assert built.to_input(ns)[0]["tags"] == ["a"]
