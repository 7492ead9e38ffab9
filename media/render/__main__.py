"""Child-process entry point: `python -m media.render SPEC_JSON VIDEO_OUT POSTER_OUT`.

SPEC_JSON holds `{"timeline": {...}}`, optionally `"limits": {...}` (media.timeline.checks.Limits) and
`"rlimits": {"memory_bytes": N, "cpu_seconds": N, "nice": N}`, applied to this process before it renders,
`"encoder"` (auto or an encoder's name) and `"segment": [first, end]` (media.render.engine.render_timeline);
or `"join": [[path, frames], ...]` with `"audio"` (an M4A) and the segments' `"encoder"`, to join segments
instead (media.render.join), or `"soundtrack": true` to write the timeline's soundtrack alone as an M4A at
VIDEO_OUT (media.render.audio); POSTER_OUT is then not written.

Runs one render and reports on stdout as JSON lines: `progress` (at most ~8 per second), then exactly one of
`done` (exit 0) or `error` (exit 1). Rendering runs in its own process so the caller can kill it on a timeout
without leaving a stuck thread, and so its memory is returned to the system when it ends.

The limits are set here, by the child on itself, rather than by the parent in a `preexec_fn`: the worker that
starts renders has threads, and Python code run between fork and exec in a threaded process can deadlock
(subprocess documents preexec_fn as unsafe there). Setting them after the imports also means that a limit too
small for the render fails inside the try below, with a typed error, instead of crashing an import.
"""

import contextlib
import json
import math
import os
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.render.audio import render_audio
from media.render.engine import render_timeline
from media.render.join import join_segments
from media.render.result import RenderResult
from media.timeline.checks import InvalidTimeline, Limits, parse_timeline

PROGRESS_INTERVAL_SECONDS = 0.125
# At the soft CPU limit the kernel sends SIGXCPU, which ends the process; the hard limit (SIGKILL) only
# matters if that signal is ever blocked.
CPU_GRACE_SECONDS = 5
# A failure this close to the address-space limit is taken to be the limit: C libraries (x264 opening its
# encoder, for one) report a failed allocation as a generic error, and the request that failed is not
# known. 256 MiB is more than any single buffer a render asks for (a 4096x4096 frame is 24 MiB).
_NEAR_LIMIT_BYTES = 256 << 20


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class _Progress:
    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, frames: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_SECONDS or frames == total:
            self._last = now
            _emit({"type": "progress", "frames": frames, "total": total})


def _render(data: Any, video_out: Path, poster_out: Path) -> RenderResult:
    if not isinstance(data, dict) or not isinstance(data.get("timeline"), dict):
        raise ValueError('SPEC_JSON must hold {"timeline": {...}}')
    limits = Limits(**data.get("limits", {}))
    timeline = parse_timeline(data["timeline"], limits)
    if isinstance(data.get("join"), list):
        pieces = [(Path(str(path)), int(frames)) for path, frames in data["join"]]
        audio, encoder = Path(str(data["audio"])), str(data["encoder"])
        return join_segments(
            timeline, pieces, audio, video_out, limits=limits, on_progress=_Progress(), encoder=encoder
        )
    if data.get("soundtrack"):
        return render_audio(timeline, video_out, limits=limits)
    segment = data.get("segment")
    return render_timeline(
        timeline,
        video_out,
        poster_out,
        on_progress=_Progress(),
        limits=limits,
        encoder=str(data.get("encoder", "auto")),
        segment=(int(segment[0]), int(segment[1])) if segment else None,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        _emit({"type": "error", "code": "RENDER_FAILED", "message": "usage: SPEC_JSON VIDEO_OUT POSTER_OUT"})
        return 1
    spec_path, video_out, poster_out = (Path(arg) for arg in args)
    try:
        data = json.loads(spec_path.read_text(encoding="utf-8"))
        _limit_resources(data.get("rlimits") if isinstance(data, dict) else None)
        result = _render(data, video_out, poster_out)
    except Exception as exc:  # the parent must always get a reason, whatever went wrong
        _emit(_failure(exc))
        return 1
    _emit({"type": "done", **asdict(result)})
    return 0


def _limit_resources(rlimits: Any) -> None:
    # Renders are disposable: a core dump of one killed by SIGXCPU or an abort would be gigabytes of disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not isinstance(rlimits, dict):
        return
    if memory := rlimits.get("memory_bytes"):
        _lower(resource.RLIMIT_AS, int(memory), int(memory))
    if cpu := rlimits.get("cpu_seconds"):
        seconds = math.ceil(float(cpu))
        _lower(resource.RLIMIT_CPU, seconds, seconds + CPU_GRACE_SECONDS)
    if nice := rlimits.get("nice"):
        _lower_priority(int(nice))


def _lower_priority(nice: int) -> None:
    """At least this niceness for every thread. Linux keeps niceness per thread and a new thread inherits its
    creator's, and the imports above have started threads already (OpenBLAS's pool): each is lowered here,
    and the encoder's and the soundtrack's threads, started later from the main thread, inherit it."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: the process as a whole (one thread on the systems that lack it)
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, max(current, nice)))  # never raised


def _lower(which: int, soft: int, hard: int) -> None:
    # Never above what we inherited: raising a hard limit is not allowed, and an operator's is tighter.
    _, inherited = resource.getrlimit(which)
    if inherited != resource.RLIM_INFINITY:
        hard = min(hard, inherited)
    resource.setrlimit(which, (min(soft, hard), hard))


def _failure(exc: Exception) -> dict[str, Any]:
    if _out_of_memory(exc):
        limit = resource.getrlimit(resource.RLIMIT_AS)[0] >> 20
        return {
            "type": "error",
            "code": "RENDER_OUT_OF_MEMORY",
            "message": f"the render needed more than its memory limit of {limit} MiB "
            f"({type(exc).__name__}: {exc})",
        }
    if isinstance(exc, InvalidTimeline):
        return {"type": "error", "code": exc.code, "message": exc.message, "problems": exc.problems}
    if isinstance(exc, MediaError):
        return {"type": "error", "code": exc.code, "message": exc.message}
    return {"type": "error", "code": "RENDER_FAILED", "message": f"{type(exc).__name__}: {exc}"}


def _out_of_memory(exc: BaseException) -> bool:
    """Whether the render failed for want of memory under our address-space limit: a MemoryError anywhere
    in the chain (PyAV's ENOMEM and numpy's are MemoryErrors; media code may have wrapped it in a
    MediaError), or any failure at the limit's edge."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return False
    seen: BaseException | None = exc
    for _ in range(16):  # chains are short; the bound only guards against a cycle
        if seen is None:
            break
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return _peak_address_space() >= limit - _NEAR_LIMIT_BYTES


def _peak_address_space() -> int:
    """VmPeak: the most address space this process has held, in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
