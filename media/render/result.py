"""What a finished render reports. Apart from the engine so that the process that only starts renders (the
worker, through media.render.child) does not import PyAV, OpenCV and numpy to name it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderResult:
    duration_seconds: float
    frames: int
    width: int
    height: int
    has_audio: bool
    encoder: str = "libx264"  # the H.264 encoder that ran (media.render.encoders)
