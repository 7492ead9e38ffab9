"""What a provider call used (tokens, characters, images, seconds of video), reported by the vendor modules as
they get their answers, so the job that made the call can be charged its cost.

The job's stage runner installs a recorder for the stage it runs (a context variable, so every call the stage
makes, in whatever task, reports to it); with none installed (tests, tools) usage goes nowhere. Usage is
reported in the vendor's own units and priced by the caller (media.providers.prices), so a price change is a
table change, never a code change here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    vendor: str  # "openai", "anthropic", "gemini", "elevenlabs", "runway"
    item: str  # what was used, in the price table's words: "gpt-4.1-mini:input_tokens"
    quantity: float
    # Set when the call is one the vendor charges once however often we ask about it (a task, by its id): a
    # rerun that waits for the same task again reports it again, and the key keeps it from counting twice.
    key: str | None = None


Recorder = Callable[[Usage], Awaitable[None]]
_recorder: ContextVar[Recorder | None] = ContextVar("clipforge_usage_recorder", default=None)


async def record(vendor: str, item: str, quantity: float, *, key: str | None = None) -> None:
    """Report usage of a call that succeeded (the vendor charges for it) to the current stage, if any."""
    recorder = _recorder.get()
    if recorder is not None and quantity > 0:
        await recorder(Usage(vendor, item, float(quantity), key))


@contextmanager
def metering(recorder: Recorder) -> Iterator[None]:
    """Report the usage of every provider call made inside (and in tasks started inside) to `recorder`."""
    token = _recorder.set(recorder)
    try:
        yield
    finally:
        _recorder.reset(token)
