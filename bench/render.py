"""Rendering benchmark: clipforge against the encoder alone, the ffmpeg CLI and MoviePy (issue 3).

    .venv/bin/python bench/render.py            # W1 (5 rounds, MoviePy in the first) and W2 (1 round)
    .venv/bin/python bench/render.py --quick    # W1 only, 1 run each, no MoviePy

Tools alternate run by run in rounds (each round starting with the next tool), so noise from other work on
the machine spreads over all of them. Each run is its own process (see measure.py). Prints medians, and the
issue's target ratios as the median of the ratios within each round (the ratio of medians for a tool run
fewer than 3 times); writes the same as JSON to bench/results/latest.json.
"""

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (`python bench/render.py`): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio_ffmpeg  # type: ignore[import-untyped]  # noqa: E402
import psutil  # type: ignore[import-untyped]  # noqa: E402

from bench.measure import Measurement, log_tail, run_measured  # noqa: E402
from bench.probe import Probe, probe  # noqa: E402
from bench.references import ffmpeg_command, raw_audio_path, write_raw  # noqa: E402
from bench.workloads import W1, W2, Inputs, Workload, make_photos, make_soundtrack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"

CLIPFORGE, ENCODER, FFMPEG, MOVIEPY = "clipforge", "encoder-alone", "ffmpeg CLI", "MoviePy"
TOOLS = (CLIPFORGE, ENCODER, FFMPEG, MOVIEPY)


@dataclass
class Run:
    measurement: Measurement | None
    probe: Probe | None
    error: str | None = None


@dataclass
class ToolResult:
    runs: list[Run] = field(default_factory=list)

    def ok(self) -> list[Measurement]:
        return [run.measurement for run in self.runs if run.measurement and not run.error]

    def median(self, attribute: str) -> float | None:
        values = [getattr(m, attribute) for m in self.ok()]
        return statistics.median(values) if values else None

    def maximum(self, attribute: str) -> float | None:
        values = [getattr(m, attribute) for m in self.ok()]
        return max(values) if values else None


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def clipforge_source(ref: str | None, work: Path) -> tuple[Path, str]:
    """Where the clipforge child imports `media` from: the working tree, or `ref`'s committed `media/`
    unpacked into the work directory (to measure a commit while the tree is being edited)."""
    if ref is None:
        dirty = bool(_git("status", "--porcelain", "--", "media"))
        return ROOT, f"working tree at {_git('rev-parse', '--short', 'HEAD')}" + (
            " + local changes" if dirty else ""
        )
    sha = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, "media"], cwd=ROOT, capture_output=True, check=True
    )
    dest = work / "clipforge-src"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest, f"commit {sha[:12]} ({ref})"


class Bench:
    def __init__(self, work: Path, ffmpeg: str, clipforge_src: Path) -> None:
        self.work = work
        self.ffmpeg = ffmpeg
        paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        # The clipforge child finds `media` in clipforge_src first (PYTHONPATH beats the editable install).
        self.clipforge_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(clipforge_src), *paths]))

    def _env(self, tool: str) -> dict[str, str]:
        return self.clipforge_env if tool == CLIPFORGE else self.env

    def _argv(self, tool: str, workload: Workload, inputs: Inputs, out: Path, raw: Path | None) -> list[str]:
        if tool == FFMPEG:
            return ffmpeg_command(self.ffmpeg, workload, inputs, out)
        job = self.work / f"{workload.name}.job.json"
        job.write_text(inputs.to_json(workload), encoding="utf-8")
        child = {CLIPFORGE: "clipforge", ENCODER: "encoder", MOVIEPY: "moviepy"}[tool]
        argv = [sys.executable, "-m", "bench.children", child, str(job), str(out)]
        return [*argv, str(raw)] if raw else argv

    def run(
        self, tool: str, workload: Workload, inputs: Inputs, index: int, raw: Path | None, keep: bool
    ) -> Run:
        slug = tool.split()[0].lower()
        out = self.work / f"{workload.name}-{slug}-{index}.mp4"
        log = self.work / f"{workload.name}-{slug}-{index}.log"
        argv = self._argv(tool, workload, inputs, out, raw)
        measurement = run_measured(argv, cwd=self.work, log=log, env=self._env(tool))
        if measurement.returncode != 0:
            print(f"  !! {workload.name} {tool} run {index + 1} exited with {measurement.returncode}:")
            print("     " + log_tail(log).replace("\n", "\n     "))
            return Run(measurement, None, f"exit code {measurement.returncode}")
        checked = probe(
            out,
            duration=workload.duration,
            width=workload.width,
            height=workload.height,
        )
        flag = "ok" if not checked.problems else "WARNING: " + "; ".join(checked.problems)
        print(
            f"  {workload.name} {tool:<13} run {index + 1}: wall {measurement.wall_s:7.1f} s  "
            f"CPU {measurement.cpu_s:7.1f} s  peak RSS {measurement.peak_rss_mib:6.0f} MiB  "
            f"(load {measurement.load_before:.1f})  output {flag}",
            flush=True,
        )
        if not keep:
            out.unlink(missing_ok=True)
            out.with_suffix(".poster.jpg").unlink(missing_ok=True)
        return Run(measurement, checked)

    def prepare_raw(self, workload: Workload, inputs: Inputs) -> Path:
        """Raw yuv420p frames and float samples for the encoder-alone reference: clipforge's own output (an
        untimed render, decoded), so the encoders see the same pictures and sound. Also warms caches before
        anything is timed."""
        out = self.work / f"{workload.name}-prepare.mp4"
        log = self.work / f"{workload.name}-prepare.log"
        argv = self._argv(CLIPFORGE, workload, inputs, out, None)
        result = run_measured(argv, cwd=self.work, log=log, env=self._env(CLIPFORGE))
        if result.returncode != 0:
            raise SystemExit(f"preparing raw frames failed:\n{log_tail(log)}")
        raw = self.work / f"{workload.name}.yuv"
        frames = write_raw(out, raw)
        out.unlink()
        out.with_suffix(".poster.jpg").unlink(missing_ok=True)
        os.sync()  # so writing back 2.6 GiB of page cache does not land in the first timed runs
        size = raw.stat().st_size / 1024**3
        print(
            f"  prepared {frames} raw yuv420p frames ({size:.1f} GiB) and the soundtrack's samples "
            "for the encoder alone"
        )
        return raw


def run_workload(
    bench: Bench, workload: Workload, inputs: Inputs, counts: dict[str, int], keep: bool
) -> dict[str, ToolResult]:
    print(
        f"\n{workload.name}: {workload.images} photos -> {workload.duration:g} s "
        f"{workload.width}x{workload.height} {workload.fps} fps; runs: "
        + ", ".join(f"{tool} x{n}" for tool, n in counts.items() if n),
        flush=True,
    )
    results = {tool: ToolResult() for tool, n in counts.items() if n}
    raw = bench.prepare_raw(workload, inputs) if counts.get(ENCODER) else None
    try:
        for index in range(max(counts.values())):
            # Each round starts with the next tool, so no tool always runs first (or right after MoviePy).
            for tool in TOOLS[index % len(TOOLS) :] + TOOLS[: index % len(TOOLS)]:
                if counts.get(tool, 0) > index:
                    results[tool].runs.append(
                        bench.run(tool, workload, inputs, index, raw if tool == ENCODER else None, keep)
                    )
    finally:
        if raw is not None:
            raw.unlink(missing_ok=True)
            raw_audio_path(raw).unlink(missing_ok=True)
    return results


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


@dataclass(frozen=True)
class Target:
    label: str
    value: float | None  # a ratio: the median of `rounds`
    rounds: list[float]  # a ratio's value in each round
    unit: str
    op: str  # "<=" or ">=" or "" (no target, for information)
    limit: float | None = None

    @property
    def met(self) -> bool | None:
        if self.value is None or self.limit is None or not self.op:
            return None
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit


_PAIRED_ROUNDS = 3  # fewer rounds than this: a ratio of medians instead


def paired_ratios(
    results: dict[str, dict[str, ToolResult]], workload: str, a: str, b: str, attribute: str
) -> list[float]:
    """a's figure over b's, round by round. The runs of one round are minutes apart at most, so a machine
    whose speed drifts during the benchmark (this virtual one's does, by up to 20 %) does not tilt the ratio
    the way a ratio of two medians taken over different stretches of time can."""
    found_a, found_b = results.get(workload, {}).get(a), results.get(workload, {}).get(b)
    if found_a is None or found_b is None:
        return []
    return [
        getattr(x.measurement, attribute) / getattr(y.measurement, attribute)
        for x, y in zip(found_a.runs, found_b.runs, strict=False)
        if x.measurement and y.measurement and not x.error and not y.error
    ]


def targets(results: dict[str, dict[str, ToolResult]]) -> list[Target]:
    def ratio(workload: str, a: str, b: str, attribute: str) -> tuple[float | None, list[float]]:
        rounds = paired_ratios(results, workload, a, b, attribute)
        if len(rounds) >= _PAIRED_ROUNDS:
            return statistics.median(rounds), rounds
        # A tool run once or twice (MoviePy, for minutes): the other's median over all its runs is the better
        # estimate of its speed over that time than its one run in the same round.
        found_a, found_b = results.get(workload, {}).get(a), results.get(workload, {}).get(b)
        if found_a is None or found_b is None:
            return None, []
        return _ratio(found_a.median(attribute), found_b.median(attribute)), []

    def peak(workload: str, tool: str) -> float | None:
        found = results.get(workload, {}).get(tool)
        return found.maximum("peak_rss_mib") if found else None

    rows = [
        Target(
            "W1 clipforge CPU / encoder-alone CPU", *ratio("W1", CLIPFORGE, ENCODER, "cpu_s"), "x", "<=", 1.10
        ),
        Target(
            "W1 clipforge wall / ffmpeg CLI wall", *ratio("W1", CLIPFORGE, FFMPEG, "wall_s"), "x", "<=", 0.77
        ),
        Target(
            "W1 MoviePy wall / clipforge wall", *ratio("W1", MOVIEPY, CLIPFORGE, "wall_s"), "x", ">=", 15.0
        ),
        Target("W1 clipforge peak RSS (max of runs)", peak("W1", CLIPFORGE), [], " MiB", "<=", 400.0),
        Target("W2 clipforge peak RSS (max of runs)", peak("W2", CLIPFORGE), [], " MiB", "<=", 400.0),
        Target("W1 encoder-alone wall / ffmpeg CLI wall", *ratio("W1", ENCODER, FFMPEG, "wall_s"), "x", ""),
        Target("W2 clipforge wall / ffmpeg CLI wall", *ratio("W2", CLIPFORGE, FFMPEG, "wall_s"), "x", ""),
        Target("W2 clipforge CPU / ffmpeg CLI CPU", *ratio("W2", CLIPFORGE, FFMPEG, "cpu_s"), "x", ""),
        Target("W2 ffmpeg CLI peak RSS (max of runs)", peak("W2", FFMPEG), [], " MiB", ""),
    ]
    return [row for row in rows if row.value is not None]


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(results: dict[str, dict[str, ToolResult]], rows: list[Target]) -> None:
    for name, tools in results.items():
        print(f"\n{name} medians        runs   wall s    CPU s   peak RSS MiB")
        for tool, result in tools.items():
            print(
                f"  {tool:<18} {len(result.ok()):>4} {_fmt(result.median('wall_s')):>8} "
                f"{_fmt(result.median('cpu_s')):>8} {_fmt(result.median('peak_rss_mib'), 0):>14}"
            )
    print("\nratio / figure (ratios: median of the rounds)  value      target          rounds")
    for row in rows:
        value = f"{row.value:.2f}{row.unit}" if row.unit == "x" else f"{row.value:.0f}{row.unit}"
        if row.op:
            target = f"{row.op} {row.limit:g}{row.unit}"
            verdict = "met" if row.met else "MISSED"
        else:
            target, verdict = "(information)", ""
        rounds = " ".join(f"{r:.2f}" for r in row.rounds)
        print(f"  {row.label:<43} {value:>9}   {target:<12} {verdict:<7} {rounds}")
    problems = [
        (name, tool, index, run)
        for name, tools in results.items()
        for tool, result in tools.items()
        for index, run in enumerate(result.runs)
        if run.error or (run.probe and run.probe.problems)
    ]
    for name, tool, index, run in problems:
        what = run.error or "; ".join(run.probe.problems if run.probe else [])
        print(f"WARNING: {name} {tool} run {index + 1}: {what}")


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


def versions(ffmpeg: str) -> dict[str, str]:
    import av
    import cv2
    import numpy

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    cli = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False).stdout
    return {
        "av": av.__version__,
        "av_ffmpeg_libraries": str(getattr(av, "ffmpeg_version_info", "?")),
        "ffmpeg_cli": cli.splitlines()[0] if cli else "?",
        "imageio-ffmpeg": dist("imageio-ffmpeg"),
        "moviepy": dist("moviepy"),
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "pillow": dist("pillow"),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="W1 runs per tool (default 5)")
    parser.add_argument("--moviepy-runs", type=int, default=1, help="W1 MoviePy runs (default 1, it is slow)")
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument(
        "--w2", action=argparse.BooleanOptionalAction, default=True, help="also run W2: 60 photos, 240 s"
    )
    parser.add_argument("--w2-runs", type=int, default=1, help="W2 runs of clipforge and ffmpeg (default 1)")
    parser.add_argument("--quick", action="store_true", help="W1 only, 1 run each, no MoviePy")
    parser.add_argument(
        "--clipforge-ref",
        metavar="REV",
        help="measure the renderer as committed at REV (e.g. HEAD) instead of the working tree",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory with every output")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.skip_moviepy, args.w2 = 1, True, False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    info = {"machine": machine(), "versions": versions(ffmpeg)}
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info["machine"].items()))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    work = Path(tempfile.mkdtemp(prefix="clipforge-bench-"))
    print(f"work directory: {work}")
    clipforge_src, clipforge_desc = clipforge_source(args.clipforge_ref, work)
    info["versions"]["clipforge"] = clipforge_desc
    print(f"clipforge: {clipforge_desc}")
    results: dict[str, dict[str, ToolResult]] = {}
    plan: list[tuple[Workload, dict[str, int]]] = [
        (
            W1,
            {
                CLIPFORGE: args.runs,
                ENCODER: args.runs,
                FFMPEG: args.runs,
                MOVIEPY: 0 if args.skip_moviepy else args.moviepy_runs,
            },
        )
    ]
    if args.w2:
        plan.append((W2, {CLIPFORGE: args.w2_runs, FFMPEG: args.w2_runs}))
    try:
        soundtrack = make_soundtrack(work / "soundtrack.wav")
        bench = Bench(work, ffmpeg, clipforge_src)
        for workload, counts in plan:
            photos = make_photos(work / workload.name, workload.images, workload.name.lower())
            results[workload.name] = run_workload(
                bench, workload, Inputs(photos, soundtrack), counts, args.keep
            )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = targets(results)
    print_summary(results, rows)
    write_json(args.json, info, vars(args), results, rows)
    print(f"\nresults: {args.json}")
    return 0


def write_json(
    path: Path,
    info: dict[str, Any],
    args: dict[str, Any],
    results: dict[str, dict[str, ToolResult]],
    rows: list[Target],
) -> None:
    workloads = {w.name: asdict(w) | {"duration_s": w.duration, "frames": w.frame_count} for w in (W1, W2)}
    document = {
        **info,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in args.items()},
        "workloads": {name: workloads[name] for name in results},
        "results": {
            name: {
                tool: {
                    "median": {key: result.median(key) for key in ("wall_s", "cpu_s", "peak_rss_mib")},
                    "max_peak_rss_mib": result.maximum("peak_rss_mib"),
                    "runs": [asdict(run) for run in result.runs],
                }
                for tool, result in tools.items()
            }
            for name, tools in results.items()
        },
        "targets": [asdict(row) | {"met": row.met} for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
