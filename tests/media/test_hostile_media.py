"""Hostile media: every input is built here, byte by byte or with PyAV, and each defence is shown to hold.

Images are capped from their header; audio and video only open through the demuxer allow-list (no playlists
that read other files) and within caps on duration, picture size and streams, also when a file states none;
a cut-short file is a decode error; a render that wants too much memory or CPU is stopped by the kernel and
reported with its own code.
"""

import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.errors import MediaError
from media.inputs.demux import AUDIO_FORMATS, VIDEO_FORMATS, open_input
from media.render.child import render_in_child
from media.render.images import load_fitted, probe_image
from media.timeline.model import Timeline
from tests.media.hostile_factory import (
    Unseekable,
    mp4_cut_in_half,
    png_header_only,
    wav_claiming,
    write_sparse_wav,
    write_video,
)
from tests.media.media_factory import child_pids, write_scene


def _decode_all(path: Path, formats: tuple[str, ...], code: str) -> int:
    with open_input(path, formats, code, "test") as source:
        stream = source.streams.video[0] if source.streams.video else source.streams.audio[0]
        return sum(1 for _ in source.decode(stream))


async def _ignore(done: int, total: int) -> None:
    pass


def _timeline(*clips: dict[str, Any], width: int = 160, height: int = 288, **out: Any) -> Timeline:
    output = {"width": width, "height": height, "fps": 30, "preset": "veryfast", **out}
    return Timeline.model_validate({"output": output, "tracks": [{"clips": list(clips)}]})


# --- images -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(100_000, 100_000), (8000, 8000)], ids=["10-gigapixels", "64-megapixels"])
def test_png_declaring_a_huge_size_is_refused_from_its_header_at_once(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", *size)
    assert bomb.stat().st_size < 200
    started = time.monotonic()
    for attempt in (lambda: probe_image(bomb), lambda: load_fitted(bomb, 160, 288)):
        with pytest.raises(MediaError) as excinfo:
            attempt()
        assert excinfo.value.code == "IMAGE_TOO_LARGE"
        assert "bomb.png" in excinfo.value.message and "50 megapixels" in excinfo.value.message
    # 10^10 pixels would take minutes (and 30 GB) to decode; refusing from the header takes milliseconds.
    assert time.monotonic() - started < 1.0


# --- playlists posing as media ----------------------------------------------------------------------------


@pytest.fixture
def secret_clip(tmp_path: Path) -> Path:
    """A real MPEG-TS clip a playlist could pull in: stands for any file on the worker we must not read."""
    secret = tmp_path / "secret.ts"
    write_video(secret, fmt="mpegts", frames=5)
    return secret


PLAYLISTS = {
    "hls-passwd.mp4": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
    "hls-local.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\nsecret.ts\n#EXT-X-ENDLIST\n",
    "concat-passwd.mp4": "ffconcat version 1.0\nfile /etc/passwd\n",
    "concat-local.mp4": "ffconcat version 1.0\nfile secret.ts\n",
}


def test_the_playlists_are_real_ffmpeg_follows_them_without_our_allow_list(
    tmp_path: Path, secret_clip: Path
) -> None:
    # The guard under test must be ours: plain FFmpeg, even held to the file protocol, reads the named file.
    for name in ("hls-local.m3u8", "concat-local.mp4"):
        playlist = tmp_path / name
        playlist.write_text(PLAYLISTS[name])
        with av.open(str(playlist), container_options={"protocol_whitelist": "file"}) as container:
            assert container.format.name in ("hls", "concat")
            assert sum(1 for _ in container.decode(video=0)) == 5


@pytest.mark.parametrize("name", sorted(PLAYLISTS))
@pytest.mark.parametrize(
    ("formats", "code"), [(VIDEO_FORMATS, "VIDEO_DECODE_FAILED"), (AUDIO_FORMATS, "AUDIO_DECODE_FAILED")]
)
def test_a_playlist_posing_as_media_is_refused_and_reads_nothing(
    tmp_path: Path, secret_clip: Path, name: str, formats: tuple[str, ...], code: str
) -> None:
    playlist = tmp_path / name
    playlist.write_text(PLAYLISTS[name])
    with pytest.raises(MediaError) as excinfo:
        _decode_all(playlist, formats, code)
    assert excinfo.value.code == code
    assert name in excinfo.value.message
    assert "root:" not in str(excinfo.value) and "secret" not in excinfo.value.message


# --- truncated files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("faststart", [False, True], ids=["index-at-end", "index-first"])
async def test_an_mp4_cut_in_half_fails_the_render_with_a_decode_error(
    tmp_path: Path, faststart: bool
) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(mp4_cut_in_half(tmp_path, faststart=faststart))
    # Cut with its index first, the file still opens and its first frames decode; the damage is found when
    # decoding reaches it. Index last, the index is gone and the file does not open.
    if faststart:
        with av.open(str(cut)) as container:
            assert container.streams.video[0].frames == 30  # the index still promises all of them
    timeline = _timeline({"type": "video", "source": str(cut), "duration": 3.0})
    started = time.monotonic()
    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            timeline, tmp_path / "v.mp4", tmp_path / "v.jpg", on_progress=_ignore, timeout_seconds=30
        )
    assert excinfo.value.code == "VIDEO_DECODE_FAILED"
    assert "tracks[0].clips[0]" in excinfo.value.message and "cut.mp4" in excinfo.value.message
    expected = "truncated or damaged" if faststart else "not a readable video file"
    assert expected in excinfo.value.message
    assert time.monotonic() - started < 15
    assert not (tmp_path / "v.mp4").exists()


# --- duration, size and stream caps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "sparse"), [(8000, True), (1, False)], ids=["8khz-sparse-576MB", "1hz-36KB-real"]
)
def test_a_wav_whose_header_claims_ten_hours_is_refused_on_open(
    tmp_path: Path, rate: int, sparse: bool
) -> None:
    long_wav = tmp_path / "long.wav"
    if sparse:
        write_sparse_wav(long_wav, 10 * 3600, rate=rate)
    else:
        long_wav.write_bytes(wav_claiming(10 * 3600, rate=rate)[0])
    started = time.monotonic()
    with pytest.raises(MediaError) as excinfo:
        open_input(long_wav, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio")
    assert excinfo.value.code == "MEDIA_TOO_LONG"
    assert excinfo.value.message == "long.wav lasts 10 h; the limit is 2 h"
    assert time.monotonic() - started < 1.0


def test_a_wav_header_claiming_more_than_the_file_holds_yields_only_what_is_there(tmp_path: Path) -> None:
    # FFmpeg caps the header's data size at the file's size: the claim cannot make us decode (or allocate
    # for) ten hours, and what is decoded is still counted against the cap.
    liar = tmp_path / "liar.wav"
    liar.write_bytes(wav_claiming(10 * 3600, rate=8000, data_bytes=800)[0])
    with open_input(liar, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio") as source:
        assert sum(frame.samples for frame in source.decode(source.streams.audio[0])) == 800


def test_a_video_that_states_no_duration_is_stopped_once_it_plays_past_the_cap(tmp_path: Path) -> None:
    sink = Unseekable()
    write_video(sink, fmt="matroska", times=[0, 3600, 7200, 10800], size=(64, 48))
    live = tmp_path / "live.mkv"
    live.write_bytes(bytes(sink.data))
    with av.open(str(live)) as container:
        assert container.duration is None and container.streams.video[0].duration is None
    with pytest.raises(MediaError) as excinfo:
        _decode_all(live, VIDEO_FORMATS, "VIDEO_DECODE_FAILED")
    assert excinfo.value.code == "MEDIA_TOO_LONG"
    assert excinfo.value.message == "live.mkv plays for more than 2 h, the limit"


def test_a_video_wider_than_8192_pixels_is_refused_on_open(tmp_path: Path) -> None:
    wide = tmp_path / "wide.mp4"
    write_video(wide, frames=1, size=(8200, 16))
    with pytest.raises(MediaError) as excinfo:
        open_input(wide, VIDEO_FORMATS, "VIDEO_DECODE_FAILED", "video")  # before any frame is decoded
    assert excinfo.value.code == "VIDEO_TOO_LARGE"
    assert excinfo.value.message == "wide.mp4 is 8200x16 pixels; the limit is 8192 pixels per side"


def test_a_file_with_seventeen_streams_is_refused_on_open(tmp_path: Path) -> None:
    many = tmp_path / "many.mkv"
    with av.open(str(many), "w") as container:
        streams = [container.add_stream("pcm_s16le", rate=8000, layout="mono") for _ in range(17)]
        for stream in streams:
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 80), np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
            container.mux(stream.encode(frame))
        for stream in streams:
            container.mux(stream.encode(None))
    with pytest.raises(MediaError) as excinfo:
        open_input(many, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio")
    assert excinfo.value.code == "TOO_MANY_STREAMS"
    assert excinfo.value.message == "many.mkv has 17 streams; the limit is 16"


# --- the render child's kernel limits ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scene(tmp_path_factory.mktemp("photo") / "photo.jpg", (1440, 2560), 3)


def _portrait(photo: Path, seconds: float) -> Timeline:
    """A W1-like render: 1080x1920, a Ken Burns photo (every frame differs), veryfast x264, frame threads."""
    clip = {"type": "image", "source": str(photo), "duration": seconds, "ken_burns": {"zoom": "in"}}
    return _timeline(clip, width=1080, height=1920)


@pytest.fixture(scope="module")
def imports_mib() -> int:
    """Address space a render child holds once its imports are done, before it renders anything."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    code = (
        "import pathlib, media.render.__main__\n"
        "print(next(l.split()[1] for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmPeak')))"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout) // 1024


async def test_a_1080x1920_render_fits_the_default_memory_limit(tmp_path: Path, portrait_photo: Path) -> None:
    # x264's frame threads reserve ~40 MiB of address space each; the default must leave them room.
    result = await render_in_child(
        _portrait(portrait_photo, 1.0),
        tmp_path / "v.mp4",
        tmp_path / "v.jpg",
        on_progress=_ignore,
        timeout_seconds=60,
    )
    assert (result.width, result.height, result.frames) == (1080, 1920, 30)


@pytest.mark.parametrize("above_imports_mib", [-512, 64], ids=["below-the-interpreter", "below-the-render"])
async def test_a_render_over_its_memory_limit_fails_with_render_out_of_memory(
    tmp_path: Path, portrait_photo: Path, imports_mib: int, above_imports_mib: int
) -> None:
    limit = max(16, imports_mib + above_imports_mib)
    started = time.monotonic()
    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            _portrait(portrait_photo, 1.0),
            tmp_path / "v.mp4",
            tmp_path / "v.jpg",
            on_progress=_ignore,
            timeout_seconds=60,
            memory_limit_mb=limit,
        )
    assert excinfo.value.code == "RENDER_OUT_OF_MEMORY", excinfo.value
    assert f"memory limit of {limit} MiB" in excinfo.value.message
    assert time.monotonic() - started < 10
    assert not (tmp_path / "v.mp4").exists()


async def test_a_render_over_its_cpu_limit_is_stopped_with_render_cpu_limit(
    tmp_path: Path, portrait_photo: Path
) -> None:
    before = set(child_pids())
    started = time.monotonic()
    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            _portrait(portrait_photo, 4.0),
            tmp_path / "v.mp4",
            tmp_path / "v.jpg",
            on_progress=_ignore,
            timeout_seconds=60,
            cpu_limit_seconds=1,
        )
    assert excinfo.value.code == "RENDER_CPU_LIMIT"
    assert excinfo.value.message == "the render used more than its limit of 1 CPU-seconds"
    # Four seconds of 1080x1920 take ~5 CPU-seconds; stopped after one, it ends well within the timeout.
    assert time.monotonic() - started < 10
    assert set(child_pids()) - before == set()
