"""media.inputs.fetch against a real HTTP server on 127.0.0.1 — no mocks of the network.

Loopback is the only address ever contacted. Refusals of other addresses must come from the address check:
host names are answered by a fake resolver, and a tripwire transport fails the test if a request to any host
but 127.0.0.1 gets as far as the HTTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import socket
import threading
import time
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from media.errors import MediaError
from media.inputs import fetch as fetch_module
from media.inputs.fetch import (
    FetchLimits,
    MediaKind,
    address_allowed,
    check_url,
    fetch_to_file,
    resolve_checked,
    sniff,
)

CHUNK = 64 * 1024
ENDLESS_CAP = 1024 * 1024 * 1024  # the "endless" body gives up after 1 GiB, so a broken test cannot hang
LOCAL = FetchLimits(
    allow_private=True, timeout_seconds=10.0
)  # every test but the SSRF default needs loopback
IMAGE: frozenset[MediaKind] = frozenset({"image"})
AUDIO: frozenset[MediaKind] = frozenset({"audio"})
VIDEO: frozenset[MediaKind] = frozenset({"video"})


def make_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def make_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 40
HTML = b"<!DOCTYPE html>\n<html><head><title>Log in</title></head><body>Please log in</body></html>\n"


@dataclass
class Served:
    jpeg: bytes
    wav: bytes
    requests: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of each request
    endless_sent: int = 0
    endless_done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    served: Served


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        served = self.server.served
        with served.lock:
            served.requests.append(self.path)
            served.hosts.append(self.headers.get("Host", ""))
        # The client hangs up on purpose in the limit and deadline tests.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.route(served, self.path)

    def route(self, served: Served, path: str) -> None:
        if path == "/photo":
            self.send(200, served.jpeg, "text/plain")  # the header lies; the bytes decide
        elif path == "/sound.wav":
            self.send(200, served.wav, "audio/wav")
        elif path == "/cat.jpg":
            self.send(200, HTML, "image/jpeg")
        elif path == "/clip.mp4":
            self.send(200, MP4_HEAD, "video/mp4")
        elif path == "/empty":
            self.send(200, b"", "image/jpeg")
        elif path == "/declared-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
            self.wfile.write(served.jpeg)
        elif path == "/endless":
            self.endless(served)
        elif path == "/drip":
            self.drip(served.jpeg)
        elif path.startswith("/hop/"):
            left = int(path.removeprefix("/hop/"))
            if left == 0:
                self.send(200, served.jpeg, "image/jpeg")
            else:
                self.redirect(f"/hop/{left - 1}")  # relative, as most servers send them
        elif path == "/to-metadata":
            self.redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/to-file":
            self.redirect("file:///etc/passwd")
        elif path.startswith("/to-name/"):
            self.redirect(f"http://{path.removeprefix('/to-name/')}/photo")
        else:
            self.send(404, b"not found", "text/plain")

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def endless(self, served: Served) -> None:
        # No Content-Length: only the byte cap can stop this. A JPEG start keeps the sniffer satisfied.
        first = served.jpeg[:CHUNK].ljust(CHUNK, b"\x00")
        try:
            self.send_response(200)
            self.end_headers()
            chunk = first
            while served.endless_sent < ENDLESS_CAP:
                self.wfile.write(chunk)
                served.endless_sent += len(chunk)
                chunk = b"\x00" * CHUNK
        finally:
            served.endless_done.set()

    def drip(self, body: bytes) -> None:
        # One byte every 50 ms: each read is quick, so only the overall deadline can stop it.
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        deadline = time.monotonic() + 20
        for i in range(len(body)):
            if time.monotonic() > deadline:
                break
            self.wfile.write(body[i : i + 1])
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Served]]:
    served = Served(jpeg=make_jpeg(), wav=make_wav())
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.served = served
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def base(server: tuple[str, Served]) -> str:
    return server[0]


@pytest.fixture
def served(server: tuple[str, Served]) -> Served:
    return server[1]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


class Tripwire(httpx.AsyncBaseTransport):
    """Real transport for 127.0.0.1; anything else that reaches the client fails the test unsent."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"a request to {request.url} got past the address check")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def tripwire() -> AsyncIterator[tuple[httpx.AsyncClient, Tripwire]]:
    transport = Tripwire()
    async with httpx.AsyncClient(transport=transport, trust_env=False) as c:
        yield c, transport


FAKE_DNS: dict[str, list[str] | None] = {
    "intranet.example": ["10.0.0.1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "cgnat.example": ["100.64.0.1"],
    "mixed.example": ["93.184.216.34", "10.0.0.1"],  # one bad address is enough to refuse
    "metadata.example": ["169.254.169.254"],
    "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "gone.example": None,  # NXDOMAIN
}


@pytest.fixture
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer FAKE_DNS names from the table (recording each lookup); everything else resolves for real."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    looked_up: list[str] = []

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if host not in FAKE_DNS:
            return await real(host, port, **kwargs)
        looked_up.append(host)
        answers = FAKE_DNS[host]
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return looked_up


async def expect_error(code: str, *args: Any) -> MediaError:
    with pytest.raises(MediaError) as caught:
        await fetch_to_file(*args)
    assert caught.value.code == code, caught.value
    return caught.value


# --- URL syntax -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.jpg",
        "http://example.com:8080/x?y=1",
        "http://[2001:db8::1]/x",
        " https://b.de/ ",
    ],
)
def test_check_url_accepts_http_and_https(url: str) -> None:
    assert check_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/a.jpg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https:///no-host",
        "not a url",
        "http://user:secret@example.com/a.jpg",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_check_url_rejects_other_schemes_missing_hosts_and_overlong_urls(url: str) -> None:
    with pytest.raises(MediaError) as caught:
        check_url(url)
    assert caught.value.code == "INVALID_URL"


# --- address policy ---------------------------------------------------------------------------------------

ALWAYS_REFUSED = [
    "169.254.169.254",  # cloud metadata
    "::ffff:169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "fe80::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "255.255.255.255",
    "240.0.0.1",
]
PRIVATE = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", ALWAYS_REFUSED)
def test_metadata_link_local_multicast_and_reserved_are_refused_even_in_dev(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=False)
    assert not address_allowed(ip, allow_private=True)


@pytest.mark.parametrize("address", PRIVATE)
def test_loopback_private_and_cgnat_are_refused_unless_allow_private(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=False)
    assert address_allowed(ip, allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_globally_routable_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


# --- host names are resolved and checked before any connection --------------------------------------------


@pytest.mark.parametrize("host", ["intranet.example", "mapped.example", "cgnat.example", "mixed.example"])
async def test_host_names_resolving_to_private_addresses_are_refused_before_connecting(
    host: str, fake_dns: list[str], tripwire: tuple[httpx.AsyncClient, Tripwire], tmp_path: Path
) -> None:
    client, wire = tripwire
    dest = tmp_path / "x"
    await expect_error("URL_NOT_ALLOWED", client, f"http://{host}/a.jpg", dest, IMAGE, FetchLimits())
    assert fake_dns == [host]
    assert wire.seen == []
    assert not dest.exists()


async def test_metadata_host_name_is_refused_even_with_allow_private(
    fake_dns: list[str], tripwire: tuple[httpx.AsyncClient, Tripwire], tmp_path: Path
) -> None:
    client, wire = tripwire
    await expect_error("URL_NOT_ALLOWED", client, "http://metadata.example/", tmp_path / "x", IMAGE, LOCAL)
    assert wire.seen == []


async def test_public_host_name_passes_the_check_with_every_address(fake_dns: list[str]) -> None:
    addresses = await resolve_checked("public.example", 443)
    assert [str(a) for a in addresses] == FAKE_DNS["public.example"]


async def test_unresolvable_host_is_fetch_failed(
    fake_dns: list[str], tripwire: tuple[httpx.AsyncClient, Tripwire], tmp_path: Path
) -> None:
    client, wire = tripwire
    error = await expect_error("FETCH_FAILED", client, "http://gone.example/", tmp_path / "x", IMAGE, LOCAL)
    assert "could not resolve host gone.example" in error.message
    assert wire.seen == []


async def test_loopback_server_is_refused_by_default(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    before = len(served.requests)
    await expect_error("URL_NOT_ALLOWED", client, f"{base}/photo", tmp_path / "x", IMAGE, FetchLimits())
    assert len(served.requests) == before  # refused by the check, not by the server


# --- redirects --------------------------------------------------------------------------------------------


async def test_two_redirects_are_followed_to_the_file(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fetched = await fetch_to_file(client, f"{base}/hop/2", tmp_path / "x", IMAGE, LOCAL)
    assert fetched.url == f"{base}/hop/0"
    assert fetched.kind == "image"


async def test_exactly_max_redirects_is_allowed(base: str, client: httpx.AsyncClient, tmp_path: Path) -> None:
    fetched = await fetch_to_file(client, f"{base}/hop/5", tmp_path / "x", IMAGE, LOCAL)
    assert fetched.url == f"{base}/hop/0"


async def test_six_redirects_are_too_many(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    before = len(served.requests)
    await expect_error("TOO_MANY_REDIRECTS", client, f"{base}/hop/6", tmp_path / "x", IMAGE, LOCAL)
    assert served.requests[before:] == [f"/hop/{n}" for n in range(6, 0, -1)]  # stopped before /hop/0


async def test_redirect_to_the_metadata_address_is_refused_before_connecting(
    base: str, tripwire: tuple[httpx.AsyncClient, Tripwire], tmp_path: Path
) -> None:
    client, wire = tripwire
    await expect_error("URL_NOT_ALLOWED", client, f"{base}/to-metadata", tmp_path / "x", IMAGE, LOCAL)
    assert wire.seen == [f"{base}/to-metadata"]


async def test_redirect_to_a_name_is_resolved_and_checked_on_that_hop(
    base: str, fake_dns: list[str], tripwire: tuple[httpx.AsyncClient, Tripwire], tmp_path: Path
) -> None:
    client, wire = tripwire
    url = f"{base}/to-name/metadata.example"
    await expect_error("URL_NOT_ALLOWED", client, url, tmp_path / "x", IMAGE, LOCAL)
    assert fake_dns == ["metadata.example"]
    assert wire.seen == [url]


async def test_the_connection_goes_to_the_checked_address_so_a_rebinding_dns_cannot_redirect_it(
    base: str,
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    tripwire: tuple[httpx.AsyncClient, Tripwire],
    tmp_path: Path,
) -> None:
    # The first answer passes the check; any later lookup would get the metadata address. A client that
    # resolved the name again when connecting would be sent there (and the tripwire would fail the test).
    loop = asyncio.get_running_loop()
    real, answers = loop.getaddrinfo, iter(["127.0.0.1"])

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return await real(host, port, **kwargs)
        address = next(answers, "169.254.169.254")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    client, wire = tripwire
    port = httpx.URL(base).port
    fetched = await fetch_to_file(client, f"http://rebind.example:{port}/photo", tmp_path / "p", IMAGE, LOCAL)
    assert fetched.kind == "image" and fetched.url == f"http://rebind.example:{port}/photo"
    assert wire.seen == [f"http://127.0.0.1:{port}/photo"]
    assert served.hosts[-1] == f"rebind.example:{port}"  # the server still sees the name it was asked for


async def test_redirect_to_a_file_url_is_refused(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await expect_error("URL_NOT_ALLOWED", client, f"{base}/to-file", tmp_path / "x", IMAGE, LOCAL)


# --- status, size, time -----------------------------------------------------------------------------------


async def test_http_404_is_fetch_failed_naming_the_status(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    error = await expect_error("FETCH_FAILED", client, f"{base}/missing", tmp_path / "x", IMAGE, LOCAL)
    assert "404" in error.message


async def test_refused_connection_is_fetch_failed(client: httpx.AsyncClient, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on any more
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = await expect_error(
        "FETCH_FAILED", client, f"http://127.0.0.1:{port}/", tmp_path / "x", IMAGE, LOCAL
    )
    assert "could not connect to host 127.0.0.1" in error.message


async def test_content_length_over_the_limit_is_refused_before_reading(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dest = tmp_path / "x"
    limits = FetchLimits(allow_private=True, max_bytes=1024 * 1024)
    await expect_error("TOO_LARGE", client, f"{base}/declared-huge", dest, IMAGE, limits)
    assert not dest.exists()


async def test_endless_body_stops_at_the_limit_and_removes_the_partial_file(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes_at_discard: list[int] = []
    discard = fetch_module._discard

    def measure_then_discard(path: Path) -> None:
        sizes_at_discard.append(path.stat().st_size if path.exists() else 0)
        discard(path)

    monkeypatch.setattr(fetch_module, "_discard", measure_then_discard)
    dest = tmp_path / "x"
    limit = 4 * CHUNK
    limits = FetchLimits(max_bytes=limit, allow_private=True)
    await expect_error("TOO_LARGE", client, f"{base}/endless", dest, IMAGE, limits)
    assert sizes_at_discard and max(sizes_at_discard) <= limit + CHUNK
    assert not dest.exists()
    # The server notices the hang-up: it stops after what the sockets buffer, far short of the 1 GiB on offer.
    assert await asyncio.to_thread(served.endless_done.wait, 10)
    assert served.endless_sent < 64 * 1024 * 1024


async def test_a_body_exactly_at_the_limit_is_accepted(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    limits = FetchLimits(max_bytes=len(served.jpeg), allow_private=True)
    fetched = await fetch_to_file(client, f"{base}/photo", tmp_path / "x", IMAGE, limits)
    assert fetched.bytes == len(served.jpeg)


async def test_slow_drip_hits_the_overall_deadline(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dest = tmp_path / "x"
    deadline = 0.5
    started = time.monotonic()
    limits = FetchLimits(timeout_seconds=deadline, allow_private=True)
    await expect_error("FETCH_TIMEOUT", client, f"{base}/drip", dest, IMAGE, limits)
    assert time.monotonic() - started < 2 * deadline
    assert not dest.exists()


# --- what the bytes are -----------------------------------------------------------------------------------


async def test_jpeg_is_typed_by_its_bytes_not_the_servers_header(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dest = tmp_path / "photo"
    fetched = await fetch_to_file(client, f"{base}/photo", dest, IMAGE, LOCAL)
    assert (fetched.kind, fetched.content_type, fetched.extension) == ("image", "image/jpeg", ".jpg")
    assert fetched.path == dest
    assert fetched.bytes == len(served.jpeg)
    assert dest.read_bytes() == served.jpeg


async def test_wav_is_fetched_as_audio(
    base: str, served: Served, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fetched = await fetch_to_file(client, f"{base}/sound.wav", tmp_path / "a", AUDIO, LOCAL)
    assert (fetched.kind, fetched.content_type, fetched.extension) == ("audio", "audio/wav", ".wav")
    assert fetched.path.read_bytes() == served.wav


async def test_mp4_container_is_accepted_where_audio_or_video_is_wanted(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    as_audio = await fetch_to_file(client, f"{base}/clip.mp4", tmp_path / "a", AUDIO, LOCAL)
    as_video = await fetch_to_file(client, f"{base}/clip.mp4", tmp_path / "v", VIDEO, LOCAL)
    assert (as_audio.kind, as_audio.content_type) == ("audio", "audio/mp4")
    assert (as_video.kind, as_video.content_type) == ("video", "video/mp4")
    await expect_error("UNSUPPORTED_MEDIA", client, f"{base}/clip.mp4", tmp_path / "i", IMAGE, LOCAL)


async def test_html_at_an_image_url_is_unsupported_media_and_says_so(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dest = tmp_path / "x"
    error = await expect_error("UNSUPPORTED_MEDIA", client, f"{base}/cat.jpg", dest, IMAGE, LOCAL)
    assert "expected an image" in error.message
    assert "looks like HTML" in error.message
    assert not dest.exists()


async def test_audio_where_an_image_is_wanted_is_unsupported_media(
    base: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    error = await expect_error("UNSUPPORTED_MEDIA", client, f"{base}/sound.wav", tmp_path / "x", IMAGE, LOCAL)
    assert "audio (audio/wav)" in error.message


async def test_empty_body_is_empty_file(base: str, client: httpx.AsyncClient, tmp_path: Path) -> None:
    dest = tmp_path / "x"
    await expect_error("EMPTY_FILE", client, f"{base}/empty", dest, IMAGE, LOCAL)
    assert not dest.exists()


def encoded(fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(out, fmt, **params)
    return out.getvalue()


EBML = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(encoded("JPEG"), ("image", "image/jpeg", ".jpg"), id="jpeg-pillow"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("image", "image/jpeg", ".jpg"), id="jpeg"),
        pytest.param(encoded("PNG"), ("image", "image/png", ".png"), id="png-pillow"),
        pytest.param(encoded("GIF"), ("image", "image/gif", ".gif"), id="gif-pillow"),
        pytest.param(b"GIF87a\x08\x00\x08\x00", ("image", "image/gif", ".gif"), id="gif87a"),
        pytest.param(encoded("WEBP"), ("image", "image/webp", ".webp"), id="webp-pillow"),
        pytest.param(make_wav(), ("audio", "audio/wav", ".wav"), id="wav-wave-module"),
        pytest.param(b"RF64\xff\xff\xff\xffWAVEds64", ("audio", "audio/wav", ".wav"), id="wav-rf64"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00", ("audio", "audio/mpeg", ".mp3"), id="mp3-id3"),
        pytest.param(b"\xff\xfb\x90\x64\x00", ("audio", "audio/mpeg", ".mp3"), id="mp3-frame-sync"),
        pytest.param(b"\xff\xf3\x48\xc4\x00", ("audio", "audio/mpeg", ".mp3"), id="mp3-mpeg2-layer3"),
        pytest.param(b"OggS\x00\x02" + b"\x00" * 20, ("audio", "audio/ogg", ".ogg"), id="ogg"),
        pytest.param(b"fLaC\x00\x00\x00\x22", ("audio", "audio/flac", ".flac"), id="flac"),
        pytest.param(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", ("audio", "audio/mp4", ".m4a"), id="m4a"),
        pytest.param(b"\xff\xf1\x50\x80\x02\x1f\xfc", ("audio", "audio/aac", ".aac"), id="aac-adts"),
        pytest.param(MP4_HEAD, ("video", "video/mp4", ".mp4"), id="mp4-isom"),
        pytest.param(
            b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00", ("video", "video/mp4", ".mp4"), id="mp4-mp42"
        ),
        pytest.param(
            b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", ("video", "video/quicktime", ".mov"), id="mov"
        ),
        pytest.param(EBML + b"\x84webm\x42\x87\x81\x04", ("video", "video/webm", ".webm"), id="webm"),
        pytest.param(EBML + b"\x88matroska\x42\x87", ("video", "video/x-matroska", ".mkv"), id="matroska"),
    ],
)
def test_sniff_recognises_each_format_by_its_magic_bytes(head: bytes, expected: tuple[str, str, str]) -> None:
    assert sniff(head[: fetch_module.SNIFF_BYTES]) == expected


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"", id="empty"),
        pytest.param(HTML, id="html"),
        pytest.param(b"#EXTM3U\n#EXTINF:-1,x\nfile:///etc/passwd\n", id="m3u-playlist"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00", id="zip"),
        pytest.param(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", id="avif"),
        pytest.param(b"\x00" * 64, id="zeros"),
        pytest.param(b"hello, world", id="text"),
    ],
)
def test_sniff_returns_none_for_everything_else(head: bytes) -> None:
    assert sniff(head) is None
