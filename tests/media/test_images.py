import resource
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.errors import MediaError
from media.render.images import MAX_PIXELS, load_fitted, probe_image
from tests.media.media_factory import BLUE, GREEN, RED, write_image


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose IHDR declares width x height but which carries almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def _code(excinfo: pytest.ExceptionInfo[MediaError]) -> str:
    return excinfo.value.code


def test_text_file_is_rejected_as_unsupported_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("definitely not a picture")
    with pytest.raises(MediaError) as excinfo:
        load_fitted(path, 64, 64)
    assert _code(excinfo) == "UNSUPPORTED_IMAGE"


def test_image_format_outside_the_allow_list_is_rejected(tmp_path: Path) -> None:
    path = write_image(tmp_path / "picture.bmp", RED, fmt="BMP")
    with pytest.raises(MediaError) as excinfo:
        probe_image(path)
    assert _code(excinfo) == "UNSUPPORTED_IMAGE"


def test_truncated_jpeg_fails_to_decode(tmp_path: Path) -> None:
    full = write_image(tmp_path / "full.jpg", RED, size=(640, 480))
    data = full.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as excinfo:
        load_fitted(cut, 64, 64)
    assert _code(excinfo) == "IMAGE_DECODE_FAILED"


def test_missing_file_fails_to_decode(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as excinfo:
        load_fitted(tmp_path / "gone.png", 64, 64)
    assert _code(excinfo) == "IMAGE_DECODE_FAILED"


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (10000, 6000)])
def test_oversized_header_fails_fast_without_decoding(tmp_path: Path, width: int, height: int) -> None:
    # 30000x30000 trips Pillow's own bomb guard inside Image.open; 10000x6000 (60 MP) only ours.
    assert width * height > MAX_PIXELS
    path = _png_header_only(tmp_path / "bomb.png", width, height)
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(MediaError) as excinfo:
        load_fitted(path, 64, 64)
    assert _code(excinfo) == "IMAGE_TOO_LARGE"
    assert time.perf_counter() - started < 1.0
    # Decoding would need 1.8 to 2.7 GB; the process peak must not move noticeably.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib < 50 * 1024


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored landscape, left half red and right half blue; orientation 6 means "rotate 90 degrees clockwise
    # to display", which puts the stored left edge at the top.
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:, :30] = RED
    stored[:, 30:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)

    assert probe_image(path) == (40, 60)
    fitted = load_fitted(path, 40, 60)
    assert fitted.shape == (60, 40, 3)
    np.testing.assert_allclose(fitted[5].mean(axis=0), RED, atol=12)
    np.testing.assert_allclose(fitted[-5].mean(axis=0), BLUE, atol=12)


def test_animated_gif_uses_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in (RED, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    fitted = load_fitted(path, 40, 40)
    np.testing.assert_allclose(fitted.reshape(-1, 3).mean(axis=0), RED, atol=12)


def test_transparent_png_is_flattened_onto_black(tmp_path: Path) -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = (*GREEN, 255)
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)  # RGBA, from the 4 channels
    fitted = load_fitted(path, 40, 40)
    assert fitted[0, 0].tolist() == [0, 0, 0]
    np.testing.assert_allclose(fitted[20, 20], GREEN, atol=2)


def test_similar_aspect_is_cropped_to_cover_the_frame(tmp_path: Path) -> None:
    # 2:3 into 9:16 differs by 1.19x: cover, so every pixel comes from the image itself.
    path = write_image(tmp_path / "portrait.png", RED, size=(400, 600), fmt="PNG")
    fitted = load_fitted(path, 180, 320)
    assert fitted.shape == (320, 180, 3)
    np.testing.assert_allclose(fitted[:8].reshape(-1, 3).mean(axis=0), RED, atol=10)
    np.testing.assert_allclose(fitted[-8:].reshape(-1, 3).mean(axis=0), RED, atol=10)


def test_very_different_aspect_is_contained_on_a_darkened_fill(tmp_path: Path) -> None:
    # 2:1 into 9:16 differs by 3.6x: the whole image, 90 rows high, centred on a dark blurred copy.
    path = write_image(tmp_path / "wide.png", GREEN, size=(600, 300), fmt="PNG")
    fitted = load_fitted(path, 180, 320)
    assert fitted.shape == (320, 180, 3)
    np.testing.assert_allclose(fitted[160].mean(axis=0), GREEN, atol=10)
    fill = fitted[:100].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(fill, np.array(GREEN) * 0.45, atol=10)


def test_large_jpeg_is_fitted_to_the_requested_size(tmp_path: Path) -> None:
    path = write_image(tmp_path / "big.jpg", BLUE, size=(2400, 1800))
    fitted = load_fitted(path, 200, 150)
    assert fitted.shape == (150, 200, 3)
    np.testing.assert_allclose(fitted.reshape(-1, 3).mean(axis=0), BLUE, atol=10)
