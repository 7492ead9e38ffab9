"""Run a render in a child process from async code: progress while it runs, a hard kill on timeout or
cancellation.

A render is CPU-bound for minutes; in a child it cannot block the event loop, a timeout can really stop it
(SIGKILL to its process group also takes any encoder threads), and its memory goes back to the system.

The child also runs under kernel limits (set by media.render.__main__ on itself): an address-space cap, so a
hostile input that makes a decoder allocate wildly fails with RENDER_OUT_OF_MEMORY instead of taking the
machine's memory, and a CPU-time cap, which the kernel enforces even if this process dies and the child is
left running on its own (it is in its own session) or our event loop is too blocked to fire the timeout.
"""

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.render.result import RenderResult
from media.timeline.checks import InvalidTimeline, Limits
from media.timeline.model import Timeline

# A normal 1080x1920 render peaks at ~1.0-1.3 GiB of address space here (x264's frame threads reserve ~40
# MiB each, ~1.5 per core); 4 GiB leaves room for bigger machines and frames (4096x4096: ~2.8 GiB).
DEFAULT_MEMORY_LIMIT_MB = 4096
_MIB = 1 << 20
# A render crashing on a failed allocation in C code leaves no JSON, only one of these on stderr.
_OUT_OF_MEMORY = re.compile(
    r"MemoryError|out of memory|Cannot allocate memory|bad_alloc|failed to allocate", re.IGNORECASE
)
_STDERR_TAIL_BYTES = 2000
_LINE_LIMIT_BYTES = 1 << 20
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


async def render_in_child(
    timeline: Timeline,
    video_out: Path,
    poster_out: Path,
    *,
    on_progress: Callable[[int, int], Awaitable[None]],
    timeout_seconds: float,
    limits: Limits | None = None,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
    cpu_limit_seconds: float | None = None,
    nice: int = 0,
    encoder: str = "auto",
    segment: tuple[int, int] | None = None,
) -> RenderResult:
    """Render in `python -m media.render`; raises MediaError (the child's code, RENDER_TIMEOUT,
    RENDER_OUT_OF_MEMORY, RENDER_CPU_LIMIT or RENDER_FAILED). On timeout or cancellation the child is killed
    and reaped before this returns.

    `memory_limit_mb` caps the child's address space (0: no cap); `cpu_limit_seconds` its CPU time, by
    default the wall timeout times the cores it may use, so it never ends a render the timeout would allow.
    `nice` is the child's niceness (0-19): a render that takes every core then yields to the processes that
    must answer at once (the API, the worker's event loop) on a shared machine. `encoder` and `segment` are
    media.render.engine.render_timeline's."""
    extra: dict[str, Any] = {"encoder": encoder, "segment": list(segment) if segment is not None else None}
    return await _run_child(
        timeline, extra, video_out, poster_out, on_progress, timeout_seconds, limits, memory_limit_mb,
        cpu_limit_seconds, nice,
    )  # fmt: skip


async def join_in_child(
    timeline: Timeline,
    segments: list[tuple[Path, int]],
    audio: Path,
    video_out: Path,
    *,
    encoder: str,
    on_progress: Callable[[int, int], Awaitable[None]],
    timeout_seconds: float,
    limits: Limits | None = None,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
    nice: int = 0,
) -> RenderResult:
    """media.render.join.join_segments in the child, under the same limits and errors as a render."""
    extra = {
        "join": [[str(path), frames] for path, frames in segments],
        "audio": str(audio),
        "encoder": encoder,
    }
    poster = video_out.with_name(video_out.name + ".unused.jpg")
    return await _run_child(
        timeline, extra, video_out, poster, on_progress, timeout_seconds, limits, memory_limit_mb, None, nice
    )


async def audio_in_child(
    timeline: Timeline,
    audio_out: Path,
    *,
    timeout_seconds: float,
    limits: Limits | None = None,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
    nice: int = 0,
) -> RenderResult:
    """media.render.audio.render_audio in the child: it decodes the timeline's audio, anyone's files."""

    async def silent(frames: int, total: int) -> None:
        return None

    poster = audio_out.with_name(audio_out.name + ".unused.jpg")
    return await _run_child(
        timeline, {"soundtrack": True}, audio_out, poster, silent, timeout_seconds, limits, memory_limit_mb,
        None, nice,
    )  # fmt: skip


async def _run_child(
    timeline: Timeline,
    extra: dict[str, Any],
    video_out: Path,
    poster_out: Path,
    on_progress: Callable[[int, int], Awaitable[None]],
    timeout_seconds: float,
    limits: Limits | None,
    memory_limit_mb: int,
    cpu_limit_seconds: float | None,
    nice: int,
) -> RenderResult:
    spec_path = video_out.with_name(video_out.name + ".spec.json")
    cpu_seconds = cpu_limit_seconds or timeout_seconds * _usable_cores()
    rlimits = {"memory_bytes": memory_limit_mb * _MIB or None, "cpu_seconds": cpu_seconds, "nice": nice}
    payload = json.dumps(
        {
            "timeline": timeline.model_dump(mode="json"),
            "limits": asdict(limits or Limits()),
            "rlimits": rlimits,
            **extra,
        }
    )
    await asyncio.to_thread(spec_path.write_text, payload, "utf-8")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "media.render",
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
        return await _supervise(process, on_progress, timeout_seconds, cpu_seconds)
    finally:
        await asyncio.shield(asyncio.to_thread(spec_path.unlink, missing_ok=True))


def _usable_cores() -> int:
    # x264's frame threads keep every core busy; at least 2, the CPU budget the renderer was measured with.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(2, cores)


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
    cpu_seconds: float,
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
            encoder=str(outcome.get("encoder", "libx264")),
        )
    if returncode == -signal.SIGXCPU:
        raise MediaError(
            "RENDER_CPU_LIMIT", f"the render used more than its limit of {cpu_seconds:g} CPU-seconds"
        )
    how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
    code = "RENDER_OUT_OF_MEMORY" if _OUT_OF_MEMORY.search(tail) else "RENDER_FAILED"
    raise MediaError(code, f"the render process {how} without a result: {tail.strip()}")


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
