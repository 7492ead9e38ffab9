"""The references clipforge is measured against, each doing the workload's Ken Burns zooms, crossfades and
faded-out soundtrack with the same x264 and AAC settings:

- the encoder alone: PyAV libx264 on raw yuv420p frames read from disk, the floor for any renderer;
- one ffmpeg CLI filtergraph (zoompan per image, chained xfade, afade);
- MoviePy 2 written as its docs show (ImageClip, resized with a lambda, CrossFadeIn, CompositeVideoClip).
"""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bench.workloads import Inputs, Workload


def encode_raw(workload: Workload, raw: Path, out: Path) -> int:
    """Read yuv420p frames from `raw` and encode them, x264 set up as clipforge's encoder is. Returns the
    number of frames encoded."""
    width, height = workload.width, workload.height
    container = av.open(str(out), mode="w", format="mp4")
    stream = container.add_stream(
        "libx264", rate=workload.fps, options={"preset": workload.preset, "crf": str(workload.crf)}
    )
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.thread_type = "FRAME"
    stream.codec_context.thread_count = 0
    buffer = np.empty((height * 3 // 2, width), np.uint8)
    frames = 0
    with raw.open("rb", buffering=0) as source:
        while source.readinto(buffer.data) == buffer.nbytes:
            frame = av.VideoFrame.from_numpy_buffer(buffer, format="yuv420p")
            frame.pts = frames
            frame.time_base = Fraction(1, workload.fps)
            container.mux(stream.encode(frame))
            frames += 1
    container.mux(stream.encode(None))
    container.close()
    return frames


def write_raw_frames(video: Path, raw: Path) -> int:
    """Decode `video` to raw yuv420p frames in `raw` (the encoder-alone input); returns the frame count."""
    frames = 0
    with av.open(str(video)) as container, raw.open("wb") as out:
        for frame in container.decode(video=0):
            out.write(frame.to_ndarray(format="yuv420p").tobytes())
            frames += 1
    return frames


def clip_frames(workload: Workload) -> list[tuple[int, int]]:
    """[start, end) output frames of each image's clip, whole frames for zoompan and xfade: clip k+1
    starts where the crossfade centred on their boundary starts, clip k ends where it ends."""
    fps, total = workload.fps, workload.frame_count
    fade = round(workload.transition_seconds * fps)
    starts = [0] + [
        round(((k + 1) * workload.seconds_per_image - workload.transition_seconds / 2) * fps)
        for k in range(workload.images - 1)
    ]
    ends = [start + fade for start in starts[1:]] + [total]
    return list(zip(starts, ends, strict=True))


def ffmpeg_command(ffmpeg: str, workload: Workload, inputs: Inputs, out: Path) -> list[str]:
    width, height, fps = workload.width, workload.height, workload.fps
    duration = workload.duration
    fade = round(workload.transition_seconds * fps) / fps
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for photo in inputs.photos:
        argv += ["-i", str(photo)]
    argv += ["-stream_loop", "-1", "-i", str(inputs.soundtrack)]  # looped for videos longer than the track
    chains = []
    clips = clip_frames(workload)
    for k, (start, end) in enumerate(clips):
        frames = end - start
        low, high = 1.0, workload.max_zoom
        step = f"({high - low:.6f}*on/{max(1, frames - 1)})"
        zoom = f"{low}+{step}" if workload.zooms_in(k) else f"{high}-{step}"
        ax, ay = workload.anchor(k)
        chains.append(
            # The photo is one frame: converting it to the limited-range BT.709 yuv420p clipforge and
            # MoviePy produce costs one conversion per image, and the rest of the graph stays in that format.
            f"[{k}:v]scale=out_range=tv:out_color_matrix=bt709,format=yuv420p,"
            f"zoompan=z='{zoom}':x='{ax}*(iw-iw/zoom)':y='{ay}*(ih-ih/zoom)'"
            f":d={frames}:s={width}x{height}:fps={fps},setsar=1[c{k}]"
        )
    last = "c0"
    for k in range(1, len(clips)):
        offset = clips[k][0] / fps
        label = "v" if k == len(clips) - 1 else f"x{k}"
        chains.append(f"[{last}][c{k}]xfade=transition=fade:duration={fade:.6f}:offset={offset:.6f}[{label}]")
        last = label
    if len(clips) == 1:
        chains.append("[c0]null[v]")
    fade_start = max(0.0, duration - workload.audio_fade_seconds)
    chains.append(
        f"[{len(clips)}:a]atrim=duration={duration:.6f},"
        f"afade=t=out:st={fade_start:.6f}:d={workload.audio_fade_seconds:.6f}[a]"
    )
    argv += ["-filter_complex", ";".join(chains), "-map", "[v]", "-map", "[a]"]
    argv += ["-c:v", "libx264", "-preset", workload.preset, "-crf", str(workload.crf), "-pix_fmt", "yuv420p"]
    argv += ["-color_range", "tv", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
    argv += ["-r", str(fps), "-c:a", "aac", "-b:a", str(workload.audio_bit_rate), "-ar", "44100", "-ac", "2"]
    argv += ["-t", f"{duration:.6f}", "-movflags", "+faststart", str(out)]
    return argv


def render_moviepy(workload: Workload, inputs: Inputs, out: Path) -> None:
    from moviepy import (  # type: ignore[import-untyped]
        AudioFileClip,
        CompositeVideoClip,
        ImageClip,
        afx,
        vfx,
    )

    width, height = workload.width, workload.height
    clips = []
    for k, photo in enumerate(inputs.photos):
        start, end = workload.on_screen(k)
        length = end - start
        ax, ay = workload.anchor(k)

        def zoom(t: float, k: int = k, length: float = length) -> float:
            return workload.zoom(k, min(1.0, t / length))

        def position(t: float, zoom: object = zoom, ax: float = ax, ay: float = ay) -> tuple[float, float]:
            z = zoom(t)  # type: ignore[operator]
            return (ax * width * (1 - z), ay * height * (1 - z))  # keeps the anchor point still

        clip = ImageClip(str(photo)).resized((width, height)).with_duration(length)
        if k > 0:
            clip = clip.with_effects([vfx.CrossFadeIn(workload.transition_seconds)])
        clip = clip.resized(zoom).with_position(position).with_start(start)
        clips.append(clip)
    video = CompositeVideoClip(clips, size=(width, height)).with_duration(workload.duration)
    audio = AudioFileClip(str(inputs.soundtrack))
    if audio.duration < workload.duration:
        audio = audio.with_effects([afx.AudioLoop(duration=workload.duration)])
    audio = audio.subclipped(0, workload.duration).with_effects(
        [afx.AudioFadeOut(workload.audio_fade_seconds)]
    )
    video = video.with_audio(audio)
    video.write_videofile(
        str(out),
        fps=workload.fps,
        codec="libx264",
        preset=workload.preset,
        ffmpeg_params=["-crf", str(workload.crf)],
        audio_codec="aac",
        audio_bitrate=f"{workload.audio_bit_rate // 1000}k",
        temp_audiofile_path=str(out.parent),
        logger=None,
    )
    video.close()
    audio.close()
