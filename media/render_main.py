"""Child-process entry point: `python -m media.render_main SPEC_JSON VIDEO_OUT POSTER_OUT`.

SPEC_JSON holds `{"timeline": {...}}` or `{"slideshow": {...}}` (a bare slideshow spec is accepted too).

Runs one render and reports on stdout as JSON lines: `progress` (at most ~8 per second), then exactly one of
`done` (exit 0) or `error` (exit 1). Rendering runs in its own process so the caller can kill it on a timeout
without leaving a stuck thread, and so its memory is returned to the system when it ends.
"""

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from media.checks import InvalidTimeline, Limits, parse_timeline
from media.engine import RenderResult, render_timeline
from media.errors import MediaError
from media.slideshow import SlideshowSpec, render_slideshow

PROGRESS_INTERVAL_SECONDS = 0.125


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
    if isinstance(data, dict) and "timeline" in data:
        limits = Limits(**data.get("limits", {}))
        timeline = parse_timeline(data["timeline"], limits)
        return render_timeline(timeline, video_out, poster_out, on_progress=_Progress(), limits=limits)
    spec = SlideshowSpec.model_validate(data.get("slideshow", data) if isinstance(data, dict) else data)
    return render_slideshow(spec, video_out, poster_out, on_progress=_Progress())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        _emit({"type": "error", "code": "RENDER_FAILED", "message": "usage: SPEC_JSON VIDEO_OUT POSTER_OUT"})
        return 1
    spec_path, video_out, poster_out = (Path(arg) for arg in args)
    try:
        result = _render(json.loads(spec_path.read_text(encoding="utf-8")), video_out, poster_out)
    except InvalidTimeline as exc:
        _emit({"type": "error", "code": exc.code, "message": exc.message, "problems": exc.problems})
        return 1
    except MediaError as exc:
        _emit({"type": "error", "code": exc.code, "message": exc.message})
        return 1
    except Exception as exc:  # the parent must always get a reason, whatever went wrong
        _emit({"type": "error", "code": "RENDER_FAILED", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    _emit({"type": "done", **asdict(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
