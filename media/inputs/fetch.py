"""Download user-supplied URLs without letting them reach into our own network.

Every hop of a redirect chain is resolved and checked before we connect; the body streams to disk under
a byte cap and one overall deadline; the media type comes from the file's first bytes, never from the server's
Content-Type header.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from media.errors import MediaError

MediaKind = Literal["image", "audio", "video", "font"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
SNIFF_BYTES = 64  # enough for every signature below, including Matroska's DocType
_HOST = re.compile(r"[A-Za-z0-9.-]+")
# Cloud metadata endpoints stay refused even when allow_private opens loopback and LAN addresses for dev.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, not "private" to ipaddress
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# HEIF/AVIF images share the MP4 box layout; they must not pass as video.
_HEIF_BRANDS = frozenset(
    {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
)
# Containers that may carry only an audio track; the decoder checks the streams later.
_AUDIO_IN_CONTAINER = {
    "video/mp4": "audio/mp4",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
}


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 50 * 1024 * 1024
    timeout_seconds: float = 30.0  # overall deadline for one file (connect + redirects + body)
    connect_timeout_seconds: float = 5.0
    max_redirects: int = 5
    allow_private: bool = False  # dev/test only: permits loopback/private hosts (never link-local/metadata)


@dataclass(frozen=True)
class Fetched:
    path: Path
    kind: MediaKind
    content_type: str  # sniffed from the bytes
    extension: str  # with the dot, e.g. ".jpg"
    bytes: int
    url: str  # the final URL, after redirects


def check_url(url: str) -> str:
    """Syntax-only check for the API, before a job exists: http(s), a plausible host, no credentials."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise MediaError("INVALID_URL", f"a URL must be 1 to {MAX_URL_LENGTH} characters long")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise MediaError("INVALID_URL", f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise MediaError("INVALID_URL", "only http and https URLs can be fetched")
    host = parsed.raw_host.decode("ascii", "replace")
    if not host or not (_HOST.fullmatch(host) or _is_ip(host)):
        raise MediaError("INVALID_URL", "the URL has no valid host name")
    if parsed.userinfo:
        raise MediaError("INVALID_URL", "URLs with a user name or password are not accepted")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise MediaError("INVALID_URL", "the URL's port is out of range")
    return url


def address_allowed(address: IPAddress, *, allow_private: bool = False) -> bool:
    """True when we may connect to `address`: globally routable, or local/LAN when allow_private."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:  # ::ffff:127.0.0.1 reaches 127.0.0.1; judge the address it really reaches
            return address_allowed(embedded, allow_private=allow_private)
    if address in _METADATA or address.is_link_local or address.is_multicast:
        return False
    if address.is_unspecified:  # 0.0.0.0 reaches this host on Linux
        return False
    if address.is_loopback:  # before is_reserved: ::1 sits inside the reserved ::/8
        return allow_private
    if address.is_reserved:
        return False
    if address.is_global:
        return True
    return allow_private and (address.is_private or address in _SHARED)


async def resolve_checked(host: str, port: int, *, allow_private: bool = False) -> list[IPAddress]:
    """Resolve `host` and refuse it unless every address it resolves to is allowed.

    Returns the checked addresses; the download connects to one of them (`pinned`), never looking the
    name up again.
    """
    if _is_ip(host):
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise MediaError("FETCH_FAILED", f"could not resolve host {host}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise MediaError("FETCH_FAILED", f"could not resolve host {host}")
    # Every address, not just the first: the client may try any of them. The addresses stay out of the message
    # so the error does not become a way to read our internal DNS.
    if not all(address_allowed(a, allow_private=allow_private) for a in addresses):
        raise MediaError("URL_NOT_ALLOWED", f"{host} is a private, local or reserved address")
    return addresses


async def fetch_to_file(
    client: httpx.AsyncClient, url: str, dest: Path, accept: frozenset[MediaKind], limits: FetchLimits
) -> Fetched:
    """Download `url` to `dest` if its bytes are of an `accept`ed kind. On any failure `dest` is removed."""
    if not accept:
        raise ValueError("accept must name at least one media kind")
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            return await _follow(client, httpx.URL(check_url(url)), dest, accept, limits)
    except TimeoutError:
        _discard(dest)
        raise MediaError(
            "FETCH_TIMEOUT", f"the download did not finish within {limits.timeout_seconds:g} seconds"
        ) from None
    except BaseException:
        _discard(dest)
        raise


async def _follow(
    client: httpx.AsyncClient, url: httpx.URL, dest: Path, accept: frozenset[MediaKind], limits: FetchLimits
) -> Fetched:
    timeout = httpx.Timeout(limits.timeout_seconds, connect=limits.connect_timeout_seconds)
    # Compressed bodies could expand far past max_bytes inside the decoder, so ask for none and refuse them.
    headers = {"Accept-Encoding": "identity"}
    for _ in range(limits.max_redirects + 1):
        host = url.raw_host.decode("ascii")
        addresses = await resolve_checked(
            host, url.port or (443 if url.scheme == "https" else 80), allow_private=limits.allow_private
        )
        pinned_url, extensions = pinned(url, addresses[0])
        try:
            async with client.stream(
                "GET",
                pinned_url,
                headers={**headers, "Host": url.netloc.decode("ascii")},
                extensions=extensions,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                if response.has_redirect_location:
                    url = _redirect_target(url, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise MediaError("FETCH_FAILED", f"{host} answered HTTP {response.status_code}")
                if not response.is_success:
                    raise MediaError(
                        "FETCH_FAILED", f"{host} answered HTTP {response.status_code}, not a file"
                    )
                return await _save_body(response, dest, accept, limits, str(url))
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise MediaError("FETCH_FAILED", f"could not connect to host {host}") from None
        except httpx.TimeoutException:
            raise MediaError(
                "FETCH_TIMEOUT", f"{host} stopped sending data for {limits.timeout_seconds:g} seconds"
            ) from None
        except httpx.TransportError as exc:
            raise MediaError(
                "FETCH_FAILED", f"the download from {host} failed ({type(exc).__name__})"
            ) from None
    raise MediaError("TOO_MANY_REDIRECTS", f"the URL redirected more than {limits.max_redirects} times")


def pinned(url: httpx.URL, address: IPAddress) -> tuple[httpx.URL, dict[str, Any]]:
    """The URL with its host replaced by the address we checked, so the connection goes exactly there: a
    second DNS lookup by the client could be answered differently (DNS rebinding). The Host header keeps the
    name for the server; for https the TLS handshake (SNI and the certificate check) keeps it too."""
    extensions: dict[str, Any] = {}
    if url.scheme == "https" and not _is_ip(url.host):
        extensions["sni_hostname"] = url.host
    return url.copy_with(host=str(address)), extensions


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise MediaError("INVALID_URL", "the server redirected to an invalid URL") from None
    if target.scheme not in ("http", "https"):
        raise MediaError("URL_NOT_ALLOWED", f"the server redirected to a {target.scheme or 'relative'} URL")
    return httpx.URL(check_url(str(target)))


async def _save_body(
    response: httpx.Response, dest: Path, accept: frozenset[MediaKind], limits: FetchLimits, url: str
) -> Fetched:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise MediaError(
            "FETCH_FAILED", f"the server sent {encoding}-compressed data although we asked for none"
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise MediaError("TOO_LARGE", f"the file is {int(declared)} bytes; the limit is {limits.max_bytes}")
    head = b""
    found: tuple[MediaKind, str, str] | None = None
    written = 0
    out = await asyncio.to_thread(dest.open, "wb")
    try:
        async for chunk in response.aiter_raw():
            if written + len(chunk) > limits.max_bytes:
                raise MediaError(
                    "TOO_LARGE", f"the file is larger than the limit of {limits.max_bytes} bytes"
                )
            if found is None and len(head) + len(chunk) >= SNIFF_BYTES:
                # Decide before writing, so a 50 MB HTML page is refused after its first chunk.
                head += chunk[: SNIFF_BYTES - len(head)]
                found = _accepted(head, accept)
            elif found is None:
                head += chunk
            await asyncio.to_thread(out.write, chunk)
            written += len(chunk)
    finally:
        out.close()
    if written == 0:
        raise MediaError("EMPTY_FILE", "the URL returned no data")
    kind, content_type, extension = found or _accepted(head, accept)
    return Fetched(dest, kind, content_type, extension, written, url)


def _accepted(head: bytes, accept: frozenset[MediaKind]) -> tuple[MediaKind, str, str]:
    expected = " or ".join(
        {"image": "an image", "audio": "audio", "video": "a video", "font": "a font"}[k]
        for k in sorted(accept)
    )
    found = sniff(head)
    if found is None:
        raise MediaError("UNSUPPORTED_MEDIA", f"expected {expected}, but the file {_describe(head)}")
    kind, content_type, extension = found
    if kind in accept:
        return found
    if "audio" in accept and content_type in _AUDIO_IN_CONTAINER:
        return "audio", _AUDIO_IN_CONTAINER[content_type], extension
    raise MediaError("UNSUPPORTED_MEDIA", f"expected {expected}, but the file is {kind} ({content_type})")


def sniff(head: bytes) -> tuple[MediaKind, str, str] | None:
    """(kind, content type, extension) from a file's first bytes (SNIFF_BYTES is enough), or None."""
    box = head[4:8]
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg", ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png", ".png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image", "image/gif", ".gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "image/webp", ".webp"
    if head.startswith((b"RIFF", b"RF64", b"BW64")) and head[8:12] == b"WAVE":
        return "audio", "audio/wav", ".wav"
    if head.startswith((b"\x00\x01\x00\x00", b"true")):
        return "font", "font/ttf", ".ttf"
    if head.startswith(b"OTTO"):
        return "font", "font/otf", ".otf"
    if head.startswith(b"ttcf"):
        return "font", "font/collection", ".ttc"
    if head.startswith(b"fLaC"):
        return "audio", "audio/flac", ".flac"
    if head.startswith(b"OggS"):
        return "audio", "audio/ogg", ".ogg"
    if head.startswith(b"ID3"):
        return "audio", "audio/mpeg", ".mp3"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML; the DocType says which flavour
        if b"webm" in head[:SNIFF_BYTES]:
            return "video", "video/webm", ".webm"
        return "video", "video/x-matroska", ".mkv"
    if box == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "audio", "audio/mp4", ".m4a"
        if brand in _HEIF_BRANDS:
            return None
        if brand == b"qt  ":
            return "video", "video/quicktime", ".mov"
        return "video", "video/mp4", ".mp4"
    if box in (b"moov", b"mdat", b"wide"):  # QuickTime files older than the ftyp box
        return "video", "video/quicktime", ".mov"
    if len(head) >= 3 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0x0F < 13:  # ADTS: sync, layer 0, valid sample rate
            return "audio", "audio/aac", ".aac"
        if _is_mpeg_audio_frame(head):
            return "audio", "audio/mpeg", ".mp3"
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # 11 sync bits, then version != reserved, layer != reserved, bitrate != bad, sample rate != reserved.
    b1, b2 = head[1], head[2]
    return (
        b1 & 0xE0 == 0xE0
        and (b1 >> 3) & 3 != 1
        and (b1 >> 1) & 3 != 0
        and b2 >> 4 != 0x0F
        and (b2 >> 2) & 3 != 3
    )


def _describe(head: bytes) -> str:
    """What non-media bytes look like, so the user can tell a login page from a broken link."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if not head:
        return "is empty"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text:
        return "looks like HTML (a web page, not a file)"
    if text.startswith((b"<?xml", b"<svg")):
        return "looks like XML or SVG"
    if text.startswith(b"#extm3u"):
        return "looks like a playlist"
    if text.startswith((b"{", b"[")):
        return "looks like JSON"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "looks like a HEIF/AVIF image, which is not supported"
    for magic, name in (
        (b"%PDF", "a PDF"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "a gzip archive"),
    ):
        if head.startswith(magic):
            return f"looks like {name}"
    if sum(32 <= b < 127 or b in b"\t\r\n" for b in head) >= 0.95 * len(head):
        return "looks like text"
    return "is not a recognised image, audio or video format"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _discard(path: Path) -> None:
    # Synchronous on purpose: this runs while a task is cancelled, where another await could be cut short.
    path.unlink(missing_ok=True)
