"""A minimal RFC 6455 WebSocket client on asyncio.Protocol, for generating load: thousands of sockets in one
process, each message handled in `data_received` (no task wake-up per message), permessage-deflate when the
server agrees to it (as browsers always offer it), pings answered.

Only what a graphql-transport-ws viewer needs: text messages, close, ping/pong. It connects to 127.0.0.1 only.
"""

import asyncio
import base64
import hashlib
import os
import zlib
from collections.abc import Callable

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG, _CONT = 0x1, 0x8, 0x9, 0xA, 0x0
_DEFLATE_TAIL = b"\x00\x00\xff\xff"
_MAX_HEADER_BYTES = 16384


class HandshakeFailed(Exception):
    pass


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return key + masked


def frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (clients must mask, RFC 6455 5.3)."""
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return header + _mask(payload)


class WsClient(asyncio.Protocol):
    """One socket. `on_text(text)` runs for every text message, inside data_received."""

    def __init__(
        self,
        host: str,
        path: str,
        *,
        on_text: Callable[[str], None],
        subprotocol: str = "graphql-transport-ws",
        offer_deflate: bool = True,
    ) -> None:
        self.host, self.path = host, path
        self.on_text = on_text
        self.subprotocol = subprotocol
        self.offer_deflate = offer_deflate
        self.key = base64.b64encode(os.urandom(16))
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.deflate: zlib._Decompress | None = None  # set when the server accepted permessage-deflate
        self.fragments: list[bytes] = []
        self.compressed = False
        self.close_code: int | None = None
        self.bytes_received = 0  # on the wire, after the handshake: compressed when deflate was agreed

    # --- asyncio.Protocol ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not a subclass
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key.decode()}",
            "Sec-WebSocket-Version: 13",
            f"Sec-WebSocket-Protocol: {self.subprotocol}",
        ]
        if self.offer_deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.open.done():
            self.bytes_received += len(data)
        else:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEADER_BYTES:
                    self._fail(HandshakeFailed("response headers too long"))
                return
            head, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 4 :]
            try:
                self._accept(head)
            except HandshakeFailed as exc:
                self._fail(exc)
                return
            self.open.set_result(None)
            self.bytes_received += len(self.buffer)  # what came after the response headers
        self._frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(HandshakeFailed(f"connection lost during the handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)

    # --- sending ---------------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(_CLOSE, code.to_bytes(2, "big")))
            # The server answers with its own close frame and then closes the TCP connection.
            asyncio.get_running_loop().call_later(2.0, self.abort)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- receiving -------------------------------------------------------------------------------------

    def _accept(self, head: bytes) -> None:
        status, *header_lines = head.decode("latin-1").split("\r\n")
        if not status.startswith("HTTP/1.1 101"):
            raise HandshakeFailed(status)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise HandshakeFailed("wrong Sec-WebSocket-Accept")
        if headers.get("sec-websocket-protocol") != self.subprotocol:
            raise HandshakeFailed(f"subprotocol not accepted: {headers.get('sec-websocket-protocol')}")
        if "permessage-deflate" in headers.get("sec-websocket-extensions", ""):
            self.deflate = zlib.decompressobj(wbits=-15)

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            first, second = buf[0], buf[1]
            n, offset = second & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, offset = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + n:
                return
            payload = bytes(buf[offset : offset + n])
            del buf[: offset + n]
            self._frame(first & 0x80 != 0, first & 0x40 != 0, first & 0x0F, payload)

    def _frame(self, fin: bool, rsv1: bool, opcode: int, payload: bytes) -> None:
        if opcode == _PING:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(frame(_PONG, payload))
            return
        if opcode == _PONG:
            return
        if opcode == _CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(frame(_CLOSE, payload[:2]))
                self.transport.close()
            return
        if opcode != _CONT:
            self.fragments, self.compressed = [], rsv1
        self.fragments.append(payload)
        if not fin:
            return
        data = b"".join(self.fragments)
        self.fragments = []
        if self.compressed:
            assert self.deflate is not None, "a compressed frame without permessage-deflate"
            data = self.deflate.decompress(data + _DEFLATE_TAIL)
        if opcode in (_TEXT, _CONT):
            self.on_text(data.decode())

    def _fail(self, exc: Exception) -> None:
        if not self.open.done():
            self.open.set_exception(exc)
        self.abort()


async def connect(port: int, path: str, on_text: Callable[[str], None], *, offer_deflate: bool) -> WsClient:
    """Open a socket to 127.0.0.1:port and finish the handshake (the caller bounds the time)."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WsClient(f"127.0.0.1:{port}", path, on_text=on_text, offer_deflate=offer_deflate),
        "127.0.0.1",
        port,
    )
    try:
        await client.open
    except BaseException:
        client.abort()
        raise
    return client
