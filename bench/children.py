"""One measured run: `python -m bench.children TOOL JOB_JSON OUT [RAW]`, TOOL one of clipforge, encoder,
moviepy. (The ffmpeg reference runs the ffmpeg binary directly.) Each run is its own process so its CPU
time and peak memory are its own; each tool imports only what it uses, so the encoder-alone floor does not
pay for clipforge's or MoviePy's imports."""

import sys
from pathlib import Path

from bench.workloads import Inputs, Workload, load_job


def render_clipforge(workload: Workload, inputs: Inputs, out: Path) -> None:
    from pydantic import Field

    from media.kinds.slideshow import SlideshowSpec
    from media.render.engine import render_timeline

    class BenchSpec(SlideshowSpec):
        # The API takes at most 20 images per request; the renderer itself has no such limit, and W2
        # (60 photos over 240 s) is there to show how its memory behaves over a long video.
        images: list[Path] = Field(min_length=1, max_length=100)

    spec = BenchSpec(
        images=inputs.photos,
        audio=inputs.soundtrack,
        width=workload.width,
        height=workload.height,
        fps=workload.fps,
        seconds_per_image=workload.seconds_per_image,
        transition_seconds=workload.transition_seconds,
        preset=workload.preset,
        crf=workload.crf,
        audio_fade_seconds=workload.audio_fade_seconds,
    )
    render_timeline(spec.to_timeline(), out, out.with_suffix(".poster.jpg"))


def main(argv: list[str]) -> int:
    tool, job, out = argv[0], Path(argv[1]), Path(argv[2])
    workload, inputs = load_job(job)
    if tool == "clipforge":
        render_clipforge(workload, inputs, out)
    elif tool == "encoder":
        from bench.references import encode_raw

        encode_raw(workload, Path(argv[3]), out)
    elif tool == "moviepy":
        from bench.references import render_moviepy

        render_moviepy(workload, inputs, out)
    else:
        print(f"unknown tool {tool}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
