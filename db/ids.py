"""Time-ordered ids (UUIDv7 layout): newest-first listing and cursors need no extra column."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, 74-bit counter)


def new_id() -> str:
    """Monotonic within a process: ids made in the same millisecond still sort in the order made."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        counter = _last[1] + 1 if ms <= _last[0] else secrets.randbits(73)  # top bit free for carries
        ms = max(ms, _last[0])
        _last = (ms, counter)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (counter >> 62) << 64 | 0x2 << 62
    value |= counter & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
