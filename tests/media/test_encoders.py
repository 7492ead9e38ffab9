"""The H.264 encoder choice: auto falls back to libx264 where NVENC does not open (this machine has no
NVIDIA GPU), a named encoder that cannot run fails with a typed error, and x264's settings map to NVENC's."""

from pathlib import Path

import pytest

from media.errors import MediaError
from media.render import encoders
from media.render.child import render_in_child
from media.render.engine import render_timeline
from media.timeline.checks import X264_PRESETS
from tests.media.media_factory import probe_video
from tests.media.timeline_factory import solid, timeline


def test_nvenc_does_not_open_on_this_gpu_less_machine_so_auto_is_libx264() -> None:
    assert "h264_nvenc" in encoders.ENCODERS  # the wheel ships it ...
    assert encoders.opens("h264_nvenc") is False  # ... but without a GPU and driver it cannot open
    assert encoders.opens("libx264") is True
    assert encoders.choose("auto") == "libx264"
    assert encoders.choose("libx264") == "libx264"


def test_auto_takes_nvenc_where_it_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders, "opens", lambda name: True)
    assert encoders.choose("auto") == "h264_nvenc"
    assert encoders.choose("h264_nvenc") == "h264_nvenc"


@pytest.mark.parametrize("name", ["h264_nvenc", "h264_vaapi", "mpeg4"])
def test_an_encoder_that_cannot_run_here_is_a_typed_error(name: str) -> None:
    with pytest.raises(MediaError) as caught:
        encoders.choose(name)
    assert caught.value.code == "ENCODER_UNAVAILABLE"
    assert name in caught.value.message


def test_every_x264_preset_maps_to_an_nvenc_preset_with_constant_quality_at_the_crf() -> None:
    seen = []
    for preset in X264_PRESETS:
        chosen = encoders.options("h264_nvenc", preset, 27)
        assert chosen["rc"] == "vbr" and chosen["cq"] == "27" and chosen["b"] == "0"
        seen.append(int(chosen["preset"].removeprefix("p")))
    assert seen == sorted(seen) and seen[0] == 1 and seen[-1] == 7  # slower x264 presets, slower NVENC ones
    assert encoders.options("libx264", "veryfast", 23) == {"preset": "veryfast", "crf": "23"}


def test_render_with_auto_encodes_h264_with_libx264_and_says_so(tmp_path: Path) -> None:
    result = render_timeline(timeline([solid("#336699", 1.0)]), tmp_path / "a.mp4", tmp_path / "a.jpg")
    assert result.encoder == "libx264"
    assert probe_video(tmp_path / "a.mp4").codec == "h264"


def test_render_asking_for_nvenc_without_a_gpu_fails_typed_and_leaves_nothing(tmp_path: Path) -> None:
    video, poster = tmp_path / "b.mp4", tmp_path / "b.jpg"
    with pytest.raises(MediaError) as caught:
        render_timeline(timeline([solid("#336699", 1.0)]), video, poster, encoder="h264_nvenc")
    assert caught.value.code == "ENCODER_UNAVAILABLE"
    assert not video.exists() and not poster.exists()


def test_a_timeline_naming_its_codec_overrides_the_machines_choice(tmp_path: Path) -> None:
    named = timeline([solid("#336699", 1.0)], codec="libx264")
    result = render_timeline(named, tmp_path / "c.mp4", tmp_path / "c.jpg", encoder="h264_nvenc")
    assert result.encoder == "libx264"


async def test_child_render_reports_its_encoder_and_the_typed_error(tmp_path: Path) -> None:
    async def ignore(frames: int, total: int) -> None:
        return None

    tl = timeline([solid("#336699", 1.0)])
    done = await render_in_child(
        tl, tmp_path / "d.mp4", tmp_path / "d.jpg", on_progress=ignore, timeout_seconds=60, encoder="auto"
    )
    assert done.encoder == "libx264"
    with pytest.raises(MediaError) as caught:
        await render_in_child(
            tl, tmp_path / "e.mp4", tmp_path / "e.jpg", on_progress=ignore, timeout_seconds=60,
            encoder="h264_nvenc",
        )  # fmt: skip
    assert caught.value.code == "ENCODER_UNAVAILABLE"
