"""Storage: key rules, URL signing, and what only one implementation does (the contract every implementation
meets is tests/media/test_storage_contract.py)."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest

from media.storage.base import check_key, guess_content_type, is_public
from media.storage.local import LocalStorage
from media.storage.memory import MemoryStorage
from media.storage.placement import PUBLIC_KINDS, artifact_key
from media.storage.signing import key_of_url, sign, verify

SECRET = b"test-secret"
BASE = "http://media.test"
GOOD_SIG = hmac.new(SECRET, b"jobs/1/video.mp4\n2000000000", hashlib.sha256).hexdigest()


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store", f"{BASE}/", SECRET)


# --- keys -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a", "jobs/01J9/video.mp4", "public/x_y-z.v2.png", ".hidden", "a" * 512])
def test_check_key_accepts_plain_relative_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "a/../b",
        "a/..",
        "./a",
        "a/./b",
        "/abs",
        "a//b",
        "a/",
        "a\\b",
        "a b",
        "é.png",
        "a?b",
        "a" * 513,
    ],
)
def test_check_key_rejects_traversal_and_odd_characters(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


# --- the local folder -------------------------------------------------------------------------------------


async def test_local_files_live_under_root_at_their_key(local: LocalStorage) -> None:
    await local.put_bytes("jobs/1/a.json", b"{}", "application/json")
    assert local.path_for("jobs/1/a.json") == local.root / "jobs" / "1" / "a.json"
    assert (local.root / "jobs" / "1" / "a.json").read_bytes() == b"{}"


async def test_atomic_writes_leave_no_temporary_files(local: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"y" * 100_000)
    await local.put_bytes("jobs/1/a.json", b"{}", "application/json")
    await local.put_bytes("jobs/1/a.json", b"{ }", "application/json")
    await local.put_file("jobs/1/b.bin", src, "application/octet-stream")
    assert all_files(local.root) == ["jobs/1/a.json", "jobs/1/b.bin"]


async def test_a_failed_write_keeps_the_old_object_and_leaves_no_temporary_file(
    local: LocalStorage, tmp_path: Path
) -> None:
    await local.put_bytes("jobs/1/video.mp4", b"old", "video/mp4")
    with pytest.raises(FileNotFoundError):
        await local.put_file("jobs/1/video.mp4", tmp_path / "does-not-exist.mp4", "video/mp4")
    assert local.path_for("jobs/1/video.mp4").read_bytes() == b"old"
    assert all_files(local.root) == ["jobs/1/video.mp4"]


async def test_path_for_refuses_a_symlink_that_escapes_the_root(local: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not serve")
    local.root.mkdir(parents=True)
    (local.root / "jobs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError):
        local.path_for("jobs/secret.txt")
    with pytest.raises(ValueError):
        await local.put_bytes("jobs/new.txt", b"x", "text/plain")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


async def test_symlinks_that_stay_inside_the_root_are_fine(local: LocalStorage) -> None:
    await local.put_bytes("real/a.txt", b"a", "text/plain")
    (local.root / "alias").symlink_to(local.root / "real", target_is_directory=True)
    assert local.path_for("alias/a.txt").read_bytes() == b"a"


def test_local_storage_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path, BASE, b"")


# --- memory -----------------------------------------------------------------------------------------------


async def test_memory_storage_needs_a_non_empty_secret_and_makes_one_when_none_is_given() -> None:
    with pytest.raises(ValueError):
        MemoryStorage(BASE, b"")
    one, other = MemoryStorage(BASE), MemoryStorage(BASE)
    assert await one.url("jobs/1/a.txt") != await other.url("jobs/1/a.txt")


async def test_memory_urls_are_the_key_under_the_base_and_open_only_there() -> None:
    memory = MemoryStorage(f"{BASE}/", SECRET)
    await memory.put_bytes("public/a.txt", b"a", "text/plain")
    assert await memory.url("public/a.txt") == f"{BASE}/public/a.txt"
    assert memory.read_url(f"{BASE}/public/a.txt") == b"a"
    assert memory.read_url("http://elsewhere.test/public/a.txt") is None
    assert memory.read_url(f"{BASE}public/a.txt") is None


# --- signed URLs ------------------------------------------------------------------------------------------


def query(url: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))


async def test_public_url_is_plain(local: LocalStorage) -> None:
    assert await local.url("public/scenes/1/image.png") == f"{BASE}/files/public/scenes/1/image.png"


async def test_private_url_is_signed_and_verifies_until_it_expires(local: LocalStorage) -> None:
    url = await local.url("jobs/1/video.mp4", expires_in=3600)
    assert url.startswith(f"{BASE}/files/jobs/1/video.mp4?")
    q = query(url)
    exp = int(q["exp"])
    assert verify("jobs/1/video.mp4", q["exp"], q["sig"], SECRET, now=exp - 3599)
    assert not verify("jobs/1/video.mp4", q["exp"], q["sig"], SECRET, now=exp)
    assert not verify("jobs/1/video.mp4", q["exp"], q["sig"], SECRET, now=exp + 1)


def test_signature_is_hmac_sha256_of_key_and_expiry() -> None:
    expected = hmac.new(SECRET, b"jobs/1/video.mp4\n1700000000", hashlib.sha256).hexdigest()
    assert sign("jobs/1/video.mp4", 1700000000, SECRET) == expected


@pytest.mark.parametrize(
    ("key", "exp", "sig"),
    [
        pytest.param("jobs/2/video.mp4", "2000000000", None, id="other-key"),
        pytest.param("jobs/1/video.mp4", "2000000001", None, id="later-expiry"),
        pytest.param("jobs/1/video.mp4", "2000000000", "0" * 64, id="forged-sig"),
        pytest.param("jobs/1/video.mp4", "2000000000", "ab", id="short-sig"),
        pytest.param("jobs/1/video.mp4", "2000000000", "é" * 64, id="non-ascii-sig"),
        pytest.param("jobs/1/video.mp4", None, None, id="missing-exp"),
        pytest.param("jobs/1/video.mp4", "2e9", None, id="non-digit-exp"),
        pytest.param("jobs/1/video.mp4", "²000000000", None, id="unicode-digit-exp"),
        pytest.param("jobs/1/video.mp4", "-1", None, id="negative-exp"),
        pytest.param("../jobs/1/video.mp4", "2000000000", None, id="traversal-key"),
    ],
)
def test_tampered_or_malformed_signatures_fail(key: str, exp: str | None, sig: str | None) -> None:
    good = sign("jobs/1/video.mp4", 2_000_000_000, SECRET)
    assert verify("jobs/1/video.mp4", "2000000000", good, SECRET, now=1_900_000_000)
    assert not verify(key, exp, good if sig is None else sig, SECRET, now=1_900_000_000)


def test_missing_signature_and_other_secret_fail() -> None:
    good = sign("jobs/1/video.mp4", 2_000_000_000, SECRET)
    assert not verify("jobs/1/video.mp4", "2000000000", None, SECRET, now=1_900_000_000)
    assert not verify("jobs/1/video.mp4", "2000000000", good, b"other-secret", now=1_900_000_000)
    assert verify("jobs/1/video.mp4", "2000000000", good.upper(), SECRET, now=1_900_000_000)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (f"{BASE}/files/public/a.png", "public/a.png"),
        (f"{BASE}/files/public/a.png?exp=1&sig=x", "public/a.png"),
        (f"{BASE}/files/public/../jobs/1/video.mp4", None),
        (f"{BASE}/files/public//a.png", None),
        (f"{BASE}/other/public/a.png", None),
        (f"{BASE}/files/jobs/1/video.mp4", None),
        (f"{BASE}/files/jobs/1/video.mp4?exp=2000000000", None),
        (f"{BASE}/files/jobs/1/video.mp4?exp=2000000000&sig={GOOD_SIG}", "jobs/1/video.mp4"),
        (f"{BASE}/files/jobs/1/video.mp4?sig={GOOD_SIG}&exp=2000000000", "jobs/1/video.mp4"),
        (f"{BASE}/files/jobs/2/video.mp4?exp=2000000000&sig={GOOD_SIG}", None),
    ],
)
def test_key_of_url_opens_public_keys_and_validly_signed_private_ones(url: str, key: str | None) -> None:
    assert key_of_url(url, f"{BASE}/files", SECRET, now=1_900_000_000) == key


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("jobs/1/video.mp4", "video/mp4"),
        ("a/thumb.jpg", "image/jpeg"),
        ("a/THUMB.JPEG", "image/jpeg"),
        ("a/frame.png", "image/png"),
        ("a/manifest.json", "application/json"),
        ("a/subs.srt", "application/x-subrip"),
        ("a/subs.vtt", "text/vtt"),
        ("a/voice.wav", "audio/wav"),
        ("a/music.mp3", "audio/mpeg"),
        ("a/voice.m4a", "audio/mp4"),
        ("a/no-extension", "application/octet-stream"),
    ],
)
def test_guess_content_type_by_extension(key: str, content_type: str) -> None:
    assert guess_content_type(key) == content_type


# --- which artifacts are public ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "key"),
    [
        ("thumbnail", "thumbnail.jpg", "public/jobs/J1/thumbnail.jpg"),
        ("image", "scene/image.png", "public/jobs/J1/scene/image.png"),
        ("frame", "frames/001.png", "public/jobs/J1/frames/001.png"),
        ("visual", "visuals/scene-00.png", "public/jobs/J1/visuals/scene-00.png"),
        ("video", "video.mp4", "jobs/J1/video.mp4"),
        ("narration", "narration/scene-00.wav", "jobs/J1/narration/scene-00.wav"),
        ("subtitles", "captions.vtt", "jobs/J1/captions.vtt"),
        ("manifest", "manifest.json", "jobs/J1/manifest.json"),
        ("input", "inputs/image-00.jpg", "jobs/J1/inputs/image-00.jpg"),
    ],
)
def test_shared_images_are_public_and_everything_else_private(kind: str, name: str, key: str) -> None:
    assert artifact_key("J1", kind, name) == key
    assert is_public(key) is (kind in PUBLIC_KINDS)


def test_an_artifact_name_cannot_leave_its_job_folder() -> None:
    with pytest.raises(ValueError):
        artifact_key("J1", "video", "../J2/video.mp4")


async def test_urls_last_as_long_as_the_store_is_configured_to_sign_them(tmp_path: Path) -> None:
    short = LocalStorage(tmp_path, BASE, SECRET, url_seconds=60)
    exp = int(query(await short.url("jobs/1/video.mp4"))["exp"])
    assert exp - 62 <= int(time.time()) <= exp - 59
    assert int(query(await short.url("jobs/1/video.mp4", expires_in=600))["exp"]) > exp + 500
