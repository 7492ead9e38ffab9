"""The render child runs below the processes that must answer at once: every one of its threads at the
niceness it was given, read from /proc while it renders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from media.render.child import render_in_child
from tests.media.media_factory import child_pids
from tests.media.timeline_factory import solid, timeline


def thread_niceness(pid: int) -> dict[int, int]:
    found = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    for tid in tids:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(tid)] = int(fields[16])  # field 19 of proc(5): nice
    return found


@pytest.mark.parametrize("nice", [0, 7])
async def test_every_thread_of_the_render_child_runs_at_the_niceness_asked_for(
    tmp_path: Path, nice: int
) -> None:
    seen: dict[int, int] = {}

    async def on_progress(done: int, total: int) -> None:
        for pid in child_pids():
            seen.update(thread_niceness(pid))

    own = os.getpriority(os.PRIO_PROCESS, 0)
    tl = timeline([solid("#c82828", 4.0)], width=640, height=360, fps=30)
    result = await render_in_child(
        tl, tmp_path / "c.mp4", tmp_path / "c.jpg", on_progress=on_progress, timeout_seconds=60, nice=nice
    )
    assert result.frames == 120
    assert len(seen) > 1, f"only {len(seen)} render thread(s) seen while it rendered"  # x264 has threads
    assert set(seen.values()) == {max(own, nice)}, seen
