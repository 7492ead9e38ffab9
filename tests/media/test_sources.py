"""Finding and rewriting the files a timeline's JSON refers to, and previews of a timeline."""

from __future__ import annotations

from media.inputs.fetch import sniff
from media.timeline.model import Timeline
from media.timeline.preview import preview_of
from media.timeline.sources import references, rewrite

DATA = {
    "tracks": [
        {
            "clips": [
                {"type": "image", "source": "https://a.test/1.jpg", "duration": 1},
                {"type": "text", "text": "hi", "duration": 1, "style": {"font": "upload:0"}},
                {"type": "overlay", "source": "https://a.test/dust.mp4", "duration": 1},
                {"type": "solid", "duration": 1, "source": "ignored: solids have no source"},
            ]
        },
        "not a track",
    ],
    "audio": [{"clips": [{"source": "https://a.test/1.jpg"}]}],
}


def test_every_reference_is_found_with_its_path_and_the_media_it_must_be() -> None:
    found = [(r.path, r.value, sorted(r.accept)) for r in references(DATA)]
    assert found == [
        ("tracks[0].clips[0].source", "https://a.test/1.jpg", ["image"]),
        ("tracks[0].clips[1].style.font", "upload:0", ["font"]),
        ("tracks[0].clips[2].source", "https://a.test/dust.mp4", ["video"]),
        ("audio[0].clips[0].source", "https://a.test/1.jpg", ["audio", "video"]),
    ]


def test_rewriting_replaces_only_references_and_leaves_the_original_alone() -> None:
    renamed = rewrite(DATA, lambda value: value.upper())
    assert renamed["tracks"][0]["clips"][0]["source"] == "HTTPS://A.TEST/1.JPG"
    assert renamed["tracks"][0]["clips"][1]["style"]["font"] == "UPLOAD:0"
    assert renamed["tracks"][0]["clips"][3]["source"] == "ignored: solids have no source"
    assert DATA["tracks"][0]["clips"][0]["source"] == "https://a.test/1.jpg"  # type: ignore[index]


def test_fonts_are_recognised_by_their_first_bytes() -> None:
    assert sniff(b"\x00\x01\x00\x00" + bytes(60)) == ("font", "font/ttf", ".ttf")
    assert sniff(b"OTTO" + bytes(60)) == ("font", "font/otf", ".otf")


def test_a_preview_halves_the_frame_and_everything_in_pixels_but_not_shares_or_times() -> None:
    tl = Timeline.model_validate(
        {
            "output": {"width": 1080, "height": 1920, "fps": 30, "preset": "slow"},
            "tracks": [
                {
                    "clips": [
                        {"type": "solid", "duration": 2, "x": 100, "y": "50%", "width": 300, "height": 200},
                        {
                            "type": "text",
                            "text": "hi",
                            "duration": 2,
                            "max_width": 800,
                            "style": {"size": 64, "stroke_width": 1, "box_padding": 20},
                        },
                    ]
                }
            ],
        }
    )
    small = preview_of(tl)
    assert (small.output.width, small.output.height, small.output.fps) == (540, 960, 30)
    assert small.output.preset == "ultrafast"
    solid, text = small.tracks[0].clips
    assert (solid.x, solid.y, solid.width, solid.height, solid.duration) == (50, "50%", 150, 100, 2)
    assert text.type == "text" and text.max_width == 400
    assert (text.style.size, text.style.stroke_width, text.style.box_padding) == (32, 1, 10)
