"""Transitions between consecutive clips: rendered, decoded, and checked where the geometry says."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media.timeline.schedule import look, place
from tests.media.timeline_factory import H, W, mean, render, solid, timeline

RED, BLUE = (255, 0, 0), (0, 0, 255)
MID = 15  # frames 10..20 are the 1 s overlap; frame 15 is halfway


def _close(actual: object, expected: object, atol: float = 10) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), atol=atol)


def _pair(kind: str, side: str = "right", incoming: dict[str, Any] | None = None) -> Any:
    second = incoming or solid("#0000ff", 2.0)
    return timeline(
        [solid("#ff0000", 2.0), {**second, "transition": {"kind": kind, "duration": 1.0, "side": side}}]
    )


def test_clips_joined_by_a_transition_overlap_by_its_duration(tmp_path: Path) -> None:
    out = render(tmp_path, _pair("crossfade"))
    assert out.result.frames == 30  # 2 + 2 - 1 s
    frames = out.frames(9, MID, 20)
    _close(mean(frames[9]), RED)
    _close(mean(frames[MID]), (128, 0, 128))
    _close(mean(frames[20]), BLUE)


def test_fade_through_black_is_black_halfway_and_dims_before(tmp_path: Path) -> None:
    frames = render(tmp_path, _pair("fade_black")).frames(12, MID, 18)
    _close(mean(frames[12]), (255 * 0.6, 0, 0), atol=12)  # 0.2 of the way: dimmed by 0.4
    _close(mean(frames[MID]), (0, 0, 0), atol=6)
    _close(mean(frames[18]), (0, 0, 255 * 0.6), atol=12)


@pytest.mark.parametrize(
    ("side", "blue_cols", "red_cols"), [("left", (0, 76), (84, W)), ("right", (84, W), (0, 76))]
)
def test_wipe_edge_is_at_the_middle_column_halfway(
    tmp_path: Path, side: str, blue_cols: tuple[int, int], red_cols: tuple[int, int]
) -> None:
    frame = render(tmp_path, _pair("wipe", side)).frame(MID)
    _close(mean(frame, blue_cols[0], 0, blue_cols[1]), BLUE)
    _close(mean(frame, red_cols[0], 0, red_cols[1]), RED)


def test_wipe_from_the_top_moves_a_row_edge(tmp_path: Path) -> None:
    frame = render(tmp_path, _pair("wipe", "top")).frame(MID)
    _close(mean(frame, 0, 0, None, H // 2 - 6), BLUE)
    _close(mean(frame, 0, H // 2 + 6), RED)


def test_slide_brings_the_incoming_clip_in_offset_and_pushes_the_outgoing_out(tmp_path: Path) -> None:
    ramp = {"type": "gradient", "colours": ["#000000", "#ffffff"], "angle": 0, "duration": 2.0}
    frame = render(tmp_path, _pair("slide", "right", ramp)).frame(MID)
    # Halfway (smoothstep 0.5) the incoming ramp starts at column 80: its dark left edge sits mid-frame.
    _close(mean(frame, 0, 0, 76), RED)
    assert mean(frame, 80, 0, 84).max() < 20
    _close(mean(frame, W - 4, 0), np.full(3, 255 * 78 / W), atol=14)


def test_zoom_scales_the_outgoing_clip_while_the_incoming_fades_in(tmp_path: Path) -> None:
    frame = render(tmp_path, _pair("zoom")).frame(MID)
    _close(mean(frame), (128, 0, 128), atol=12)


@pytest.mark.parametrize("kind", ["crossfade", "fade_black", "slide", "wipe", "zoom"])
def test_transition_looks_start_and_end_at_rest(kind: str) -> None:
    tl = _pair(kind)
    outgoing, incoming = [p for p in place(tl) if p.track == 0]
    box = (0, 0, W, H)
    assert not look(outgoing, 0.99, W, H, box).moved and look(outgoing, 0.99, W, H, box).opacity == 1.0
    end = look(incoming, 2.0, W, H, box)
    assert (end.opacity, end.dx, end.dy, end.scale, end.darken) == (1.0, 0.0, 0.0, 1.0, 0.0)
    assert end.reveal is None or end.reveal == (0.0, 0.0, float(W), float(H))
