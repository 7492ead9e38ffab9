"""An overlay video (film dust, grain) looped for as long as needed, read as grey frames at output size."""

from pathlib import Path
from typing import cast

import av
import cv2

from media.render.frames import U8
from media.render.video import VideoFrames


class OverlayLoop:
    """The overlay's frame at a time as full-range grey at output size, converted only when it changes."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        self._width = width
        self._height = height
        self._frames = VideoFrames(path, loop=True)
        self._gray: U8 | None = None

    def close(self) -> None:
        self._frames.close()

    def gray_at(self, seconds: float) -> U8:
        """The overlay frame showing at `seconds`, full-range grey, covering width x height."""
        frame = self._frames.at(seconds)
        if self._gray is None or self._frames.changed:
            self._gray = self._cover_gray(frame)
            self._frames.changed = False
        return self._gray

    def _cover_gray(self, frame: av.VideoFrame) -> U8:
        # Grey is full range: black dust must add nothing, so limited-range video is expanded first.
        gray = frame.reformat(format="gray", src_color_range="MPEG", dst_color_range="JPEG").to_ndarray()
        # Crop to the frame's aspect before scaling: a 16:9 overlay on a 9:16 frame uses a third of its width.
        scale = max(self._width / frame.width, self._height / frame.height)
        crop_w = min(frame.width, max(1, round(self._width / scale)))
        crop_h = min(frame.height, max(1, round(self._height / scale)))
        x0, y0 = (frame.width - crop_w) // 2, (frame.height - crop_h) // 2
        region = gray[y0 : y0 + crop_h, x0 : x0 + crop_w]
        return cast(U8, cv2.resize(region, (self._width, self._height), interpolation=cv2.INTER_LINEAR))
