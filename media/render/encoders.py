"""Which H.264 encoder a render uses, and its options.

`auto` takes NVENC when it opens here and libx264 otherwise. The PyAV wheel always ships h264_nvenc, but it
needs an NVIDIA GPU and driver, so "available" means: a tiny encoder context really opened on this machine
(asked once per process). An encoder asked for by name that does not open fails the render with
ENCODER_UNAVAILABLE rather than silently becoming another.

Only encoders that take the renderer's yuv420p frames from system memory are offered: h264_vaapi is not in
the bundled FFmpeg, and QSV and AMF want their own pixel formats or surfaces and have no hardware here to be
tested on.
"""

from fractions import Fraction
from functools import cache
from typing import Literal

import av

from media.errors import MediaError

Encoder = Literal["libx264", "h264_nvenc"]
ENCODERS: tuple[Encoder, ...] = ("libx264", "h264_nvenc")
CHOICES = ("auto", *ENCODERS)

# x264 preset -> the NVENC preset of about the same speed/quality trade (p1 fastest .. p7 best).
NVENC_PRESETS = {
    "ultrafast": "p1",
    "superfast": "p1",
    "veryfast": "p2",
    "faster": "p3",
    "fast": "p4",
    "medium": "p5",
    "slow": "p6",
    "slower": "p7",
    "veryslow": "p7",
}


@cache
def opens(name: str) -> bool:
    """Whether the encoder opens here (~100 ms with a GPU; fails fast without one)."""
    if name not in av.codecs_available:
        return False
    try:
        context = av.CodecContext.create(name, "w")
        if not isinstance(context, av.VideoCodecContext):
            return False
        context.width, context.height, context.pix_fmt = 256, 256, "yuv420p"
        context.time_base = Fraction(1, 30)
        context.open()
    except (av.FFmpegError, ValueError, OSError):
        return False
    return True


def choose(requested: str) -> Encoder:
    """The encoder for `requested` (auto or a name); MediaError ENCODER_UNAVAILABLE when it cannot run."""
    if requested == "auto":
        return "h264_nvenc" if opens("h264_nvenc") else "libx264"
    encoder = next((e for e in ENCODERS if e == requested), None)
    if encoder is None:
        raise MediaError(
            "ENCODER_UNAVAILABLE", f"unknown video encoder {requested!r}; use one of {', '.join(CHOICES)}"
        )
    if encoder != "libx264" and not opens(encoder):
        raise MediaError(
            "ENCODER_UNAVAILABLE",
            f"the video encoder {requested} does not open on this machine (it needs its GPU and driver); "
            "use auto or libx264",
        )
    return encoder


def options(encoder: Encoder, preset: str, crf: int) -> dict[str, str]:
    """The encoder's options for the timeline's x264-style preset and CRF.

    NVENC has no CRF: variable bit rate with a constant-quality target (`-rc vbr -cq N`) is its closest rate
    control, and its CQ scale is about x264's CRF scale (both are a quantiser target on 0-51)."""
    if encoder == "h264_nvenc":
        return {"preset": NVENC_PRESETS.get(preset, "p5"), "rc": "vbr", "cq": str(crf), "b": "0"}
    return {"preset": preset, "crf": str(crf)}
