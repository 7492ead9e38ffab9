"""The product ad's parts, without a render: the four styles as data and how they differ, scene lengths
that never cut a line, the offline writer's scripts, the painter's product with its alpha and soft shadow,
the call to action measured against the end card, and the timeline they make."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from media.errors import MediaError
from media.kinds.ad.layout import cta_size, font_for, layout_for, min_type
from media.kinds.ad.paint import backdrop, paint_scene
from media.kinds.ad.photo import load_product
from media.kinds.ad.script import word_budget, words
from media.kinds.ad.styles import AD_SECONDS, STYLES, font_path
from media.kinds.ad.timeline import AdLook, Voiced, ad_timeline
from media.kinds.ad.timing import LEAD_SECONDS, TAIL_SECONDS, scene_lengths
from media.kinds.ad.writer import write_offline
from media.providers.voice.base import WordTiming
from media.timeline.checks import validate_timeline
from media.timeline.model import ImageClip, TextClip

W, H = 540, 960


def test_four_styles_each_30_seconds_with_their_own_fonts_motion_and_transitions() -> None:
    assert list(STYLES) == ["LUXURY", "ENERGETIC", "MINIMAL", "BOLD"]
    for style in STYLES.values():
        assert sum(style.seconds) == pytest.approx(AD_SECONDS) and style.seconds[-1] >= 3.0
        for ref in (style.type.headline, style.type.body, style.type.cta):
            assert font_path(ref).is_file()  # installed from the package index with clipforge
    lux, energy, minimal, bold = STYLES.values()
    assert "Serif" in lux.type.headline.file and lux.transition and lux.transition.kind == "crossfade"
    assert lux.transition.duration >= 1.0 and lux.text_enter.kind == "fade" and lux.text_enter.duration >= 1.0
    assert all(s.zoom == "in" for shots in lux.shots for s in shots)  # slow push-ins
    assert energy.transition is None and energy.text_enter.kind == "pop"  # quick cuts and pops
    assert all(len(shots) >= 2 for shots in energy.shots) and "Black" in energy.type.headline.file
    assert minimal.type.headline.file.endswith("Thin.ttf") and minimal.transition is not None
    assert minimal.transition.kind == "crossfade" and max(s.amount for x in minimal.shots for s in x) <= 0.05
    assert bold.transition is not None and bold.transition.kind == "wipe" and bold.transition.duration <= 0.4
    assert bold.type.headline_size == max(s.type.headline_size for s in STYLES.values())  # huge type
    assert len({s.music_mood for s in STYLES.values()}) == 4
    # light and dark: minimal's background is light, the others' dark or saturated
    luminance = {n: Image.new("L", (1, 1), s.palette.background).getpixel((0, 0)) for n, s in STYLES.items()}
    assert luminance["MINIMAL"] > 200 and luminance["LUXURY"] < 40 and luminance["BOLD"] < 10


def test_a_line_too_long_for_its_scene_takes_time_from_the_others_and_the_ad_stays_30_seconds() -> None:
    planned = (7.5, 7.5, 7.5, 7.5)
    assert scene_lengths(planned, [3.0, 3.0, 3.0, 2.0]) == [7.5, 7.5, 7.5, 7.5]
    lengths = scene_lengths(planned, [3.0, 11.0, 4.0, 2.0])
    assert sum(lengths) == pytest.approx(30.0, abs=1e-9)
    assert lengths[1] >= 11.0 + LEAD_SECONDS + TAIL_SECONDS - 1e-3
    pairs = zip(lengths, [3.0, 11.0, 4.0, 2.0], strict=True)
    assert lengths[3] >= 3.0 and all(n >= v + LEAD_SECONDS + TAIL_SECONDS - 1e-3 for n, v in pairs)
    # Exactly full: every scene at its minimum.
    tight = scene_lengths(planned, [6.9, 6.9, 6.9, 6.9])
    assert tight == pytest.approx([7.5] * 4)
    with pytest.raises(MediaError) as caught:
        scene_lengths(planned, [7.0, 7.0, 7.0, 7.0])
    assert caught.value.code == "VOICE_TOO_LONG" and "30 s" in caught.value.message


@pytest.mark.parametrize("name", list(STYLES))
def test_the_offline_writer_speaks_in_the_style_within_budget_and_never_cuts_the_call_to_action(
    name: str,
) -> None:
    style = STYLES[name]
    brief = {
        "product": "Aurora Bottle",
        "cta": "Shop now at aurora.com",
        "description": "A steel bottle that keeps drinks cold for 24 hours, with a lid that never leaks. "
        "Light enough for every hike.",
        "audience": "hikers",
    }
    script = write_offline(style, **brief)
    assert script == write_offline(style, **brief)  # the same brief, the same script
    assert script.hook in style.hooks and script.scenes[0].headline == script.hook
    assert script.scenes[3].headline == "Aurora Bottle" and script.scenes[3].voiceover.endswith("aurora.com.")
    for scene, seconds in zip(script.scenes, style.seconds, strict=True):
        assert 3 <= words(scene.voiceover) <= word_budget(seconds)
    assert any(word in " ".join(s.voiceover for s in script.scenes) for word in style.vocabulary)
    long_cta = "Visit our store today and pick the colour that suits your next long adventure best"
    ending = write_offline(style, product="Aurora Bottle", cta=long_cta, description=None, audience=None)
    assert ending.scenes[3].voiceover == long_cta + "."  # said whole, even past the budget


def test_the_four_writers_open_differently() -> None:
    hooks = {
        write_offline(s, product="Lamp", cta="Buy", description=None, audience=None).hook
        for s in STYLES.values()
    }
    assert len(hooks) == 4


def cut_out(tmp_path: Path) -> Path:
    """A red disc on a transparent canvas, with margins."""
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse([100, 100, 300, 300], fill=(220, 20, 20, 255))
    path = tmp_path / "disc.png"
    image.save(path)
    return path


@pytest.mark.parametrize("name", ["MINIMAL", "LUXURY"])
def test_the_product_keeps_its_transparency_and_casts_a_soft_shadow(tmp_path: Path, name: str) -> None:
    style, layout = STYLES[name], layout_for(W, H)
    product = load_product(cut_out(tmp_path))
    assert product.size == (201, 201)  # the margins trimmed to the disc
    painted = np.asarray(paint_scene(style, layout, 1, W, H, product)).astype(int)
    bare = np.asarray(backdrop(style, layout, 1, W, H)).astype(int)
    x, y, w, h = layout.product.pixels(W, H)
    side = round(min(w, h) * 0.92)  # the disc fills 92 % of the box's shorter side
    cx, cy = x + w // 2, y + h // 2
    assert np.abs(painted[cy, cx] - (220, 20, 20)).max() < 8  # the product
    corner = (cy - side // 2 + 4, cx - side // 2 + 4)  # inside the disc's square, outside the disc
    assert np.abs(painted[corner] - bare[corner]).max() < 12  # transparent: the backdrop shows through
    # The shadow: darker than the backdrop just below the disc, fading smoothly further out.
    column = painted[:, cx].sum(axis=1) - bare[:, cx].sum(axis=1)
    below = cy + side // 2 + 3
    reach = [column[below + k] for k in range(0, side // 4, 2)]
    assert reach[0] < -15, reach[:5]
    assert all(a <= b + 2 for a, b in zip(reach, reach[1:], strict=False))  # soft: it fades, no edge
    assert reach[-1] > reach[0] / 3


def test_an_opaque_photo_becomes_a_card_with_rounded_corners(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 300), (20, 200, 20)).save(path)
    style, layout = STYLES["MINIMAL"], layout_for(W, H)
    painted = np.asarray(paint_scene(style, layout, 0, W, H, load_product(path))).astype(int)
    bare = np.asarray(backdrop(style, layout, 0, W, H)).astype(int)
    x, y, w, h = layout.product.pixels(W, H)
    side = round(min(w, h) * 0.92)
    left, top = x + (w - side) // 2, y + (h - side) // 2
    assert np.abs(painted[top + side // 2, left + side // 2] - (20, 200, 20)).max() < 8
    assert np.abs(painted[top, left] - bare[top, left]).max() < 40  # the corner is rounded off


def test_a_file_that_is_not_a_picture_is_refused_with_a_code(tmp_path: Path) -> None:
    path = tmp_path / "product.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 20)
    with pytest.raises(MediaError) as caught:
        load_product(path)
    assert caught.value.code in ("UNSUPPORTED_IMAGE", "IMAGE_DECODE_FAILED")
    empty = tmp_path / "empty.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(empty)
    with pytest.raises(MediaError, match="fully transparent"):
        load_product(empty)


def test_the_call_to_action_is_measured_against_the_end_card_at_the_minimum_type_size() -> None:
    font = font_path(STYLES["BOLD"].type.cta)
    assert cta_size("SHOP NOW", font, 0.07, 1080, 1920) == round(0.07 * 1080)
    medium = cta_size("FREE SHIPPING ON EVERY ORDER THIS WEEK ONLY", font, 0.07, 1080, 1920)
    assert medium is not None and min_type(1080, 1920) <= medium < round(0.07 * 1080)
    too_long = (
        "ORDER TODAY FOR FREE SHIPPING ON EVERY BOTTLE OF THE SUMMER COLLECTION, AND A GIFT FOR A FRIEND"
    )
    assert cta_size(too_long, font, 0.07, 1080, 1920) is None
    # A name in a script Lato lacks is set in DejaVu rather than drawn as empty boxes.
    assert font_for("Αύρα", font).name.startswith("DejaVuSans")
    assert font_for("Aurora", font) == font


def test_the_timeline_holds_four_scenes_a_static_end_card_and_every_line_whole(tmp_path: Path) -> None:
    for k in range(4):
        Image.new("RGB", (W, H)).save(tmp_path / f"s{k}.png")
        write_silence(tmp_path / f"v{k}.wav", 2.0 + k)
    write_silence(tmp_path / "m.wav", 5.0)
    pictures = [tmp_path / f"s{k}.png" for k in range(4)]
    spoken = [WordTiming(text="Hi", start=0.0, end=0.5)]
    voices = [Voiced(tmp_path / f"v{k}.wav", 2.0 + k, spoken) for k in range(4)]
    joins_by_style = {
        "LUXURY": {"crossfade"},
        "ENERGETIC": {"cut"},
        "MINIMAL": {"crossfade"},
        "BOLD": {"wipe"},
    }
    for name, style in STYLES.items():
        script = write_offline(
            style, product="Aurora Bottle", cta="Shop now", description=None, audience=None
        )
        lengths = scene_lengths(style.seconds, [v.duration for v in voices])
        timeline = ad_timeline(
            style, script, voices, lengths, pictures, AdLook(W, H), music=tmp_path / "m.wav"
        )
        assert timeline.output.duration == 30.0 and timeline.output.loudness_lufs == -14.0
        placed = validate_timeline(timeline, None)  # the renderer's own checks pass
        shown = [p for p in placed if p.track == 0]
        assert len({p.clip.source for p in shown if isinstance(p.clip, ImageClip)}) == 4
        end_card = shown[-1].clip
        assert isinstance(end_card, ImageClip) and end_card.ken_burns is None and shown[-1].end == 30.0
        # Between scenes (a shot's first clip), the style's transition; within a scene, cuts between shots.
        scene_joins = {p.incoming.kind for p in shown[1:] if p.incoming is not None} or {"cut"}
        assert scene_joins == joins_by_style[name], (name, scene_joins)
        narration = timeline.audio[0].clips
        starts = [c.start - LEAD_SECONDS for c in narration]
        for k, clip in enumerate(narration):
            end = starts[k + 1] if k < 3 else 30.0
            assert clip.start + voices[k].duration <= end - TAIL_SECONDS + 1e-6
        music = timeline.audio[1].clips[0]
        assert music.role == "music" and music.loop and music.duration == 30.0
        texts = [p.clip.text for p in placed if isinstance(p.clip, TextClip)]
        assert ("SHOP NOW" if style.type.uppercase else "Shop now") in texts


def write_silence(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(bytes(2 * round(22050 * seconds)))
