"""A render's soundtrack, mixed and encoded to AAC on a thread of its own.

Mixing (decoding, ducking, the loudness pass, limiting) and AAC encoding need nothing from the video, so they
run beside it: the loudness pass no longer holds back the first video frame, and the encoding fills moments
when x264's threads leave a core idle. After each video frame the render loop muxes the packets that are
ready up to that frame's time, so the file stays interleaved; the queue between the two is bounded, so the
soundtrack runs at most a few seconds ahead and memory stays flat.
"""

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

import av

from media.audio.mix import Mix
from media.render.encode import Packet

_AHEAD_PACKETS = 256  # ~6 s of AAC at 44.1 kHz
_POLL_SECONDS = 0.1


def _seconds(packet: Packet) -> float:
    return float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else 0.0


class _Stopped(Exception):
    """The render ended first; the soundtrack's thread leaves quietly."""


Encode = Callable[[av.AudioFrame | None], list[Packet]]


class Soundtrack:
    """Use as a context manager; `ready(t)` after each video frame, `rest()` once the video is done. A
    failure on the soundtrack's thread is raised by whichever of them comes next."""

    def __init__(self, mix: Mix, encode: Encode) -> None:
        """`mix` is entered on the thread. `encode(frame)` returns its packets; `encode(None)` the last."""
        self._mix = mix
        self._encode = encode
        self._queue: queue.Queue[Packet | BaseException | None] = queue.Queue(_AHEAD_PACKETS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soundtrack", daemon=True)
        self._finished = False
        self._next: Packet | None = None  # taken from the queue, not yet due

    def __enter__(self) -> "Soundtrack":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def ready(self, until: float) -> list[Packet]:
        """The packets encoded so far that start before `until` seconds, without waiting for more. Later
        ones stay queued, which is what keeps the thread no more than the queue's length ahead."""
        packets: list[Packet] = []
        while True:
            if self._next is None and not self._finished:
                with contextlib.suppress(queue.Empty):
                    self._next = self._take(self._queue.get_nowait())
            if self._next is None or _seconds(self._next) >= until:
                return packets
            packets.append(self._next)
            self._next = None

    def rest(self) -> Iterator[Packet]:
        """Every packet still to come, waiting for the thread to encode them."""
        if self._next is not None:
            yield self._next
            self._next = None
        while not self._finished:
            if (packet := self._take(self._queue.get())) is not None:
                yield packet

    def _take(self, item: Packet | BaseException | None) -> Packet | None:
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        if item is None:
            self._finished = True
        return item

    def _run(self) -> None:
        try:
            with self._mix as mix:
                for frame in mix.frames_until(mix.total_samples):
                    self._put_all(self._encode(frame))
            self._put_all(self._encode(None))
            self._put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the render loop, which raises it
            with contextlib.suppress(_Stopped):
                self._put(exc)

    def _put_all(self, packets: list[Packet]) -> None:
        for packet in packets:
            self._put(packet)

    def _put(self, item: Packet | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue
        raise _Stopped
