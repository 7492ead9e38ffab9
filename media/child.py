"""Run a render in a child process from async code: progress while it runs, a hard kill on timeout or
cancellation.

A render is CPU-bound for minutes; in a child it cannot block the event loop, a timeout can really stop it
(SIGKILL to its process group also takes any encoder threads), and its memory goes back to the system.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from media.checks import InvalidTimeline, Limits
from media.engine import RenderResult
from media.errors import MediaError
from media.slideshow import SlideshowSpec
from media.timeline import Timeline

_STDERR_TAIL_BYTES = 2000
_LINE_LIMIT_BYTES = 1 << 20
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


async def render_in_child(
    spec: SlideshowSpec | Timeline,
    video_out: Path,
    poster_out: Path,
    *,
    on_progress: Callable[[int, int], Awaitable[None]],
    timeout_seconds: float,
    limits: Limits | None = None,
) -> RenderResult:
    """Render in `python -m media.render_main`; raises MediaError (the child's code, RENDER_TIMEOUT or
    RENDER_FAILED). On timeout or cancellation the child is killed and reaped before this returns."""
    spec_path = video_out.with_name(video_out.name + ".spec.json")
    kind = "timeline" if isinstance(spec, Timeline) else "slideshow"
    payload = json.dumps({kind: spec.model_dump(mode="json"), "limits": asdict(limits or Limits())})
    await asyncio.to_thread(spec_path.write_text, payload, "utf-8")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "media.render_main",
            str(spec_path),
            str(video_out),
            str(poster_out),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so one killpg stops everything it started
            env=_child_env(),
            limit=_LINE_LIMIT_BYTES,
        )
        return await _supervise(process, on_progress, timeout_seconds)
    finally:
        await asyncio.shield(asyncio.to_thread(spec_path.unlink, missing_ok=True))


def _child_env() -> dict[str, str]:
    # The child must import the same `media` as we did, even when it is not installed.
    env = dict(os.environ)
    paths = [str(_PACKAGE_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


async def _supervise(
    process: asyncio.subprocess.Process,
    on_progress: Callable[[int, int], Awaitable[None]],
    timeout_seconds: float,
) -> RenderResult:
    assert process.stdout is not None and process.stderr is not None
    stderr_tail = asyncio.create_task(_read_tail(process.stderr))
    try:
        async with asyncio.timeout(timeout_seconds):
            outcome = await _read_events(process.stdout, on_progress)
            returncode = await process.wait()
    except TimeoutError:
        stderr_tail.cancel()
        await _kill(process)
        raise MediaError(
            "RENDER_TIMEOUT", f"the render did not finish within {timeout_seconds:g} s"
        ) from None
    except BaseException:  # cancelled, or on_progress failed: the render is no longer wanted
        stderr_tail.cancel()
        await _kill(process)
        raise
    tail = await stderr_tail
    if outcome is not None and outcome.get("type") == "error":
        if outcome.get("code") == "INVALID_TIMELINE" and isinstance(outcome.get("problems"), list):
            raise InvalidTimeline([(str(path), str(message)) for path, message in outcome["problems"]])
        raise MediaError(str(outcome.get("code", "RENDER_FAILED")), str(outcome.get("message", "")))
    if outcome is not None and outcome.get("type") == "done" and returncode == 0:
        return RenderResult(
            duration_seconds=float(outcome["duration_seconds"]),
            frames=int(outcome["frames"]),
            width=int(outcome["width"]),
            height=int(outcome["height"]),
            has_audio=bool(outcome["has_audio"]),
        )
    how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
    raise MediaError("RENDER_FAILED", f"the render process {how} without a result: {tail.strip()}")


async def _read_events(
    stdout: asyncio.StreamReader, on_progress: Callable[[int, int], Awaitable[None]]
) -> dict[str, Any] | None:
    outcome: dict[str, Any] | None = None
    while line := await stdout.readline():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # not ours: a library printing to stdout must not break the protocol
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "progress":
            await on_progress(int(event["frames"]), int(event["total"]))
        elif kind in ("done", "error"):
            outcome = event
    return outcome


async def _read_tail(stream: asyncio.StreamReader) -> str:
    # Always drained: a child blocked on a full stderr pipe would look like a hang.
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-_STDERR_TAIL_BYTES:]
    return tail.decode("utf-8", errors="replace")


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
