"""The references clipforge is measured against, each doing the workload's Ken Burns zooms, crossfades and
faded-out soundtrack with the same x264 and AAC settings:

- the encoder alone: PyAV libx264 and AAC on raw yuv420p frames and float samples read from disk (the
  physical limit for any renderer of the workload);
- one ffmpeg CLI filtergraph (zoompan per image, chained xfade, afade);
- MoviePy 2 written as its docs show (ImageClip, resized with a lambda, CrossFadeIn, CompositeVideoClip).
"""

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bench.workloads import Inputs, Workload

AUDIO_RATE = 44100  # clipforge's default output rate, and the ffmpeg reference's -ar
AAC_FRAME = 1024


def raw_audio_path(raw: Path) -> Path:
    """Where `write_raw` puts the soundtrack beside the frames: interleaved float32 stereo samples."""
    return raw.with_suffix(".f32")


def encode_raw(workload: Workload, raw: Path, out: Path) -> int:
    """Encode pre-rendered W1 from disk: yuv420p frames from `raw` through libx264, set up as clipforge's
    encoder is, and the soundtrack's samples (beside it, see `raw_audio_path`) through AAC at the same bit
    rate, interleaved frame by frame as clipforge muxes them. Returns the number of video frames encoded."""
    width, height, fps = workload.width, workload.height, workload.fps
    container = av.open(str(out), mode="w", format="mp4")
    stream = container.add_stream(
        "libx264", rate=fps, options={"preset": workload.preset, "crf": str(workload.crf)}
    )
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.thread_type = "FRAME"
    stream.codec_context.thread_count = 0
    audio = container.add_stream("aac", rate=AUDIO_RATE)
    audio.layout = "stereo"
    audio.format = "fltp"
    audio.bit_rate = workload.audio_bit_rate
    buffer = np.empty((height * 3 // 2, width), np.uint8)
    samples = np.fromfile(raw_audio_path(raw), dtype=np.float32).reshape(-1, 2).T  # planar, as AAC takes it
    samples = samples[:, : round(workload.duration * AUDIO_RATE)]
    sent = 0
    frames = 0

    def encode_audio(until: int) -> None:
        nonlocal sent
        while sent < min(until, samples.shape[1]):
            chunk = np.ascontiguousarray(samples[:, sent : sent + AAC_FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = sent
            container.mux(audio.encode(frame))
            sent += chunk.shape[1]

    with raw.open("rb", buffering=0) as source:
        while source.readinto(buffer.data) == buffer.nbytes:
            frame = av.VideoFrame.from_numpy_buffer(buffer, format="yuv420p")
            frame.pts = frames
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            frames += 1
            encode_audio(frames * AUDIO_RATE // fps)
    encode_audio(samples.shape[1])
    container.mux(stream.encode(None))
    container.mux(audio.encode(None))
    container.close()
    return frames


def write_raw(video: Path, raw: Path) -> int:
    """Decode `video` to the encoder-alone input: raw yuv420p frames in `raw` and its soundtrack as
    interleaved float32 stereo at `raw_audio_path(raw)`. Returns the frame count."""
    frames = 0
    with av.open(str(video)) as container, raw.open("wb") as out:
        for picture in container.decode(video=0):
            out.write(picture.to_ndarray(format="yuv420p").tobytes())
            frames += 1
    resampler = av.AudioResampler(format="flt", layout="stereo", rate=AUDIO_RATE)
    with av.open(str(video)) as container, raw_audio_path(raw).open("wb") as out:
        for decoded in itertools.chain(container.decode(audio=0), [None]):  # None: the resampler's rest
            for sound in resampler.resample(decoded):
                out.write(sound.to_ndarray().tobytes())
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
