"""Contact sheets of every transition and text animation, rendered through the real engine.

Each test writes a grid of frames sampled evenly across the animated interval to
tests/_artifacts/contact_sheets/<name>.png (gitignored) for a human to look at, and checks the pixels itself.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.media.media_factory import write_scene
from tests.media.timeline_factory import FPS, U8, H, W, render, solid, timeline

SHEETS = Path(__file__).resolve().parents[1] / "_artifacts" / "contact_sheets"
SAMPLES, COLUMNS = 8, 4
CUT, MID, END = 10, 15, 20  # the 1 s overlap of two 2 s clips runs over frames 10..20; 15 is halfway
BACKDROP = "#101828"


def _sampled(first: int, last: int) -> list[int]:
    return sorted({round(float(v)) for v in np.linspace(first, last, SAMPLES)})


def _sheet(name: str, frames: dict[int, U8]) -> Path:
    """A grid of the frames in index order, each labelled with its time."""
    label, pad = 12, 4
    cells = [(index, frames[index]) for index in sorted(frames)]
    rows = -(-len(cells) // COLUMNS)
    sheet = Image.new("RGB", (pad + COLUMNS * (W + pad), pad + rows * (H + label + pad)), (64, 64, 64))
    draw = ImageDraw.Draw(sheet)
    for k, (index, rgb) in enumerate(cells):
        x, y = pad + (k % COLUMNS) * (W + pad), pad + (k // COLUMNS) * (H + label + pad)
        sheet.paste(Image.fromarray(rgb), (x, y + label))
        draw.text((x + 2, y), f"#{index} t={index / FPS:.1f}s", fill=(230, 230, 230))
    SHEETS.mkdir(parents=True, exist_ok=True)
    path = SHEETS / f"{name}.png"
    sheet.save(path)
    return path


def _diff(a: U8, b: U8 | np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b).mean())


def _peak(a: U8, b: U8) -> float:
    """The largest mean difference along any one row or column: codec noise stays low, an edge stands out."""
    d = np.abs(a.astype(np.float64) - b).mean(axis=2)
    return float(max(d.mean(axis=0).max(), d.mean(axis=1).max()))


def _transition(tmp_path: Path, kind: str) -> tuple[dict[int, U8], U8, U8]:
    """The sampled overlap of scene A -> scene B, and each scene at rest (before and after the overlap)."""
    a, b = (write_scene(tmp_path / f"{n}.jpg", (W, H), seed) for n, seed in (("a", 1), ("b", 2)))
    joined = {"kind": kind, "duration": 1.0, "side": "right"}
    tl = timeline(
        [
            {"type": "image", "source": str(a), "duration": 2.0},
            {"type": "image", "source": str(b), "duration": 2.0, "transition": joined},
        ]
    )
    frames = render(tmp_path, tl).frames(CUT - 3, END + 3, MID, *_sampled(CUT, END))
    rest_a, rest_b = frames.pop(CUT - 3), frames.pop(END + 3)
    sampled = {i: frames[i] for i in _sampled(CUT, END)}
    _sheet(f"transition_{kind}", sampled)
    # Every transition starts on A at rest, ends on B at rest, and shows neither in between.
    assert _peak(sampled[CUT], rest_a) < 4.0 and _peak(sampled[END], rest_b) < 4.0
    for index in sorted(sampled)[1:-1]:
        assert min(_peak(sampled[index], rest_a), _peak(sampled[index], rest_b)) > 5.0, index
    return frames, rest_a, rest_b


def test_crossfade_sheet_dissolves_pixel_by_pixel_through_the_average(tmp_path: Path) -> None:
    frames, a, b = _transition(tmp_path, "crossfade")
    assert _diff(frames[MID], (a.astype(np.float64) + b) / 2) < 3.0
    towards_b = [_diff(frames[i], b) for i in _sampled(CUT, END)]
    assert towards_b == sorted(towards_b, reverse=True)  # every step is closer to B


def test_fade_black_sheet_darkens_to_black_then_brightens(tmp_path: Path) -> None:
    frames, _, _ = _transition(tmp_path, "fade_black")
    light = {i: float(frames[i].mean()) for i in _sampled(CUT, END)}
    before, after = [v for i, v in light.items() if i <= MID], [v for i, v in light.items() if i >= MID]
    assert before == sorted(before, reverse=True) and after == sorted(after)
    assert float(frames[MID].max()) < 24  # black everywhere, not just on average


def test_slide_sheet_pushes_a_out_left_as_b_comes_in_from_the_right(tmp_path: Path) -> None:
    frames, a, b = _transition(tmp_path, "slide")
    half = W // 2
    assert _diff(frames[MID][:, :half], a[:, half:]) < 6.0  # A's right half now on the left
    assert _diff(frames[MID][:, half:], b[:, :half]) < 6.0  # B's left half now on the right


def test_wipe_sheet_reveals_b_from_the_right_over_a_that_stays_put(tmp_path: Path) -> None:
    frames, a, b = _transition(tmp_path, "wipe")
    half, edge = W // 2, 4  # keep clear of the moving edge
    assert _diff(frames[MID][:, : half - edge], a[:, : half - edge]) < 3.0
    assert _diff(frames[MID][:, half + edge :], b[:, half + edge :]) < 3.0
    assert _diff(frames[MID][:, :half], frames[MID][:, half:]) > 20.0


def test_zoom_sheet_scales_a_up_while_b_fades_in(tmp_path: Path) -> None:
    frames, a, b = _transition(tmp_path, "zoom")
    # Halfway A is scaled by 1 + 0.3 * smoothstep(0.5) about the centre, under B at half opacity.
    big = Image.fromarray(a).resize((round(W * 1.15), round(H * 1.15)), Image.Resampling.BILINEAR)
    left, top = (big.width - W) // 2, (big.height - H) // 2
    zoomed = np.asarray(big.crop((left, top, left + W, top + H)), np.float64)
    plain = (a.astype(np.float64) + b) / 2
    assert _diff(frames[MID], (zoomed + b) / 2) < _diff(frames[MID], plain) - 3.0


def _text_frames(tmp_path: Path, kind: str, phase: str) -> tuple[dict[int, U8], U8]:
    """White text on a dark backdrop: on screen 0-3 s, entering over 0-1 s, leaving over 2-3 s."""
    text: dict[str, Any] = {
        "type": "text",
        "text": kind.upper(),
        "duration": 3.0,
        "y": "40%",
        "style": {"size": 36, "colour": "#ffffff"},
        "enter": {"kind": kind, "duration": 1.0, "side": "left"},
        "exit": {"kind": kind, "duration": 1.0, "side": "right"},
    }
    indices = _sampled(0, 10) if phase == "enter" else _sampled(20, 30)
    frames = render(tmp_path, timeline([solid(BACKDROP, 3.5)], [text])).frames(15, *indices)
    rest = frames.pop(15)
    _sheet(f"text_{kind}_{phase}", frames)
    return frames, rest


def _ink(rgb: U8) -> tuple[float, tuple[int, int, int, int] | None]:
    """How much text light is on screen, and the bounding box (x0, y0, x1, y1) of its bright pixels."""
    light = rgb.astype(np.float64).mean(axis=2) - 30.0
    total = float(np.clip(light, 0, None).sum())
    ys, xs = np.nonzero(light > 25)
    if xs.size == 0:
        return total, None
    return total, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _in_order(frames: dict[int, U8], phase: str) -> list[U8]:
    """Frames from hidden to at rest: as sampled for an enter, reversed for an exit."""
    ordered = [frames[i] for i in sorted(frames)]
    return ordered if phase == "enter" else ordered[::-1]


PHASES = pytest.mark.parametrize("phase", ["enter", "exit"])


@PHASES
def test_text_fade_sheet_brightens_in_place_from_nothing_to_full(tmp_path: Path, phase: str) -> None:
    frames, rest = _text_frames(tmp_path, "fade", phase)
    ordered = _in_order(frames, phase)
    light = [_ink(f)[0] for f in ordered]
    full, box = _ink(rest)
    assert light[0] < 0.01 * full and abs(light[-1] - full) < 0.02 * full
    assert all(a < b for a, b in zip(light, light[1:], strict=False))
    assert box is not None
    for rgb in ordered[len(ordered) // 2 :]:  # once visible, the box does not move
        seen = _ink(rgb)[1]
        assert seen is not None and np.abs(np.subtract(seen, box)).max() <= 2


@PHASES
def test_text_slide_sheet_moves_left_to_right_across_the_frame(tmp_path: Path, phase: str) -> None:
    frames, rest = _text_frames(tmp_path, "slide", phase)
    boxes = [_ink(frames[i])[1] for i in sorted(frames)]
    hidden = boxes[0] if phase == "enter" else boxes[-1]
    assert hidden is None  # starts (or ends) outside the frame
    seen = [b for b in boxes if b is not None]
    centres = [(b[0] + b[2]) / 2 for b in seen]
    assert len(seen) >= 4 and all(a <= b for a, b in zip(centres, centres[1:], strict=False))
    assert seen[0][0] == 0 if phase == "enter" else seen[-1][2] == W  # in at the left edge, out at the right
    rest_box = _ink(rest)[1]
    assert rest_box is not None and all(abs(b[1] - rest_box[1]) <= 1 for b in seen)  # no vertical drift
    at_rest = seen[-1] if phase == "enter" else seen[0]
    assert np.abs(np.subtract(at_rest, rest_box)).max() <= 2


@PHASES
def test_text_pop_sheet_grows_about_its_centre(tmp_path: Path, phase: str) -> None:
    frames, rest = _text_frames(tmp_path, "pop", phase)
    rest_box = _ink(rest)[1]
    assert rest_box is not None
    boxes = [b for b in (_ink(f)[1] for f in _in_order(frames, phase)) if b is not None]
    widths = [b[2] - b[0] for b in boxes]
    assert widths[0] < 0.8 * (rest_box[2] - rest_box[0]) and widths[0] < widths[1]
    centre = ((rest_box[0] + rest_box[2]) / 2, (rest_box[1] + rest_box[3]) / 2)
    for b in boxes:
        assert abs((b[0] + b[2]) / 2 - centre[0]) <= 3 and abs((b[1] + b[3]) / 2 - centre[1]) <= 3
