"""Video clips and blended overlays: decoded forward one frame at a time (looped or held on their last frame),
fitted to their box only when the source frame changes, so a long clip never costs memory.
"""

import cv2
import numpy as np
import numpy.typing as npt

from media.render.compose import Patch
from media.render.fit import fit_frame
from media.render.frames import U8, ScreenBlend, planes, rgb_to_yuv420, yuv420_to_rgb
from media.render.layers import patch_from_rgb
from media.render.overlay import OverlayLoop
from media.render.video import VideoFrames
from media.timeline.model import OverlayClip, VideoClip

F32 = npt.NDArray[np.float32]


class VideoLayer:
    def __init__(self, box: tuple[int, int, int, int], clip: VideoClip) -> None:
        self.box = box
        self._clip = clip
        self._frames = VideoFrames(clip.source, clip.loop)
        self._patch: Patch | None = None

    def patch(self, local: float, progress: float) -> Patch:
        frame = self._frames.at(self._clip.trim_start + local)
        if self._patch is None or self._frames.changed:
            rgb = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
            fitted, alpha = fit_frame(rgb, self.box[2], self.box[3], self._clip.fit)
            self._patch = patch_from_rgb(fitted, alpha)
            self._frames.changed = False
        return self._patch

    def close(self) -> None:
        self._frames.close()


class OverlayLayer:
    """A full-frame video blended onto everything below it.

    Grey overlays screen or multiply on the YUV planes directly (exact for grey: both act on luma and pull
    chroma towards neutral); coloured ones and the overlay mode, which is not linear per channel, go through
    RGB for this layer only."""

    def __init__(self, clip: OverlayClip, width: int, height: int) -> None:
        self._clip = clip
        self._width, self._height = width, height
        self._gray = clip.grayscale and clip.blend in ("screen", "multiply")
        self._loop: OverlayLoop | None = OverlayLoop(clip.source, width, height) if self._gray else None
        self._frames = None if self._gray else VideoFrames(clip.source, clip.loop)
        self._screen = ScreenBlend(width, height, 1.0)
        self._rgb: F32 | None = None

    def apply(self, frame: U8, local: float, opacity: float) -> None:
        if opacity <= 0.0:
            return
        if self._loop is not None:
            gray = self._loop.gray_at(local)
            if self._clip.blend == "screen":
                self._screen.opacity = opacity
                self._screen.apply(frame, gray)
            else:
                _multiply_gray(frame, gray, opacity, self._width, self._height)
            return
        assert self._frames is not None
        source = self._frames.at(local)
        if self._rgb is None or self._frames.changed:
            rgb = np.asarray(source.to_ndarray(format="rgb24"), np.uint8)
            self._rgb = fit_frame(rgb, self._width, self._height, "cover")[0].astype(np.float32) / 255.0
            self._frames.changed = False
        base = yuv420_to_rgb(frame, self._width, self._height).astype(np.float32) / 255.0
        mixed = blend(base, self._rgb, self._clip.blend)
        out = base + opacity * (mixed - base)
        np.copyto(frame, rgb_to_yuv420(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
        if self._frames is not None:
            self._frames.close()


def blend(base: F32, top: F32, mode: str) -> F32:
    """The blend modes' formulas on normalised RGB."""
    if mode == "screen":
        return np.asarray(1.0 - (1.0 - base) * (1.0 - top), np.float32)
    if mode == "multiply":
        return np.asarray(base * top, np.float32)
    if mode == "overlay":
        return np.where(base < 0.5, 2.0 * base * top, 1.0 - 2.0 * (1.0 - base) * (1.0 - top)).astype(
            np.float32
        )
    return top


def _multiply_gray(frame: U8, gray: U8, opacity: float, width: int, height: int) -> None:
    # c * g' with g' = 1 - opacity * (1 - g): luma scales above black, chroma scales around neutral.
    gain = 1.0 - opacity * (1.0 - gray.astype(np.float32) / 255.0)
    half = cv2.resize(gain, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    for k, plane in enumerate(planes(frame, width, height)):
        zero = 16.0 if k == 0 else 128.0
        g = gain if k == 0 else half
        plane[:] = np.clip((plane.astype(np.float32) - zero) * g + zero + 0.5, 0, 255).astype(np.uint8)
