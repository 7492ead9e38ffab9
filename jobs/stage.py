"""What a stage is: an async function from a StageCall to a pydantic output, plus a progress weight.

A stage gets its inputs (the job's params, earlier stages' outputs) and its tools through the call;
it never touches settings, Redis or the database itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
from pydantic import BaseModel

from media.inputs.fetch import FetchLimits
from media.providers.script.base import ScriptWriter
from media.providers.visual.base import Painter
from media.providers.voice.base import Voice
from media.storage.base import Storage
from media.timeline.checks import Limits

Out = TypeVar("Out", bound=BaseModel)


class Tools(Protocol):
    """Long-lived things a stage may use, built once per worker."""

    @property
    def storage(self) -> Storage: ...
    @property
    def http(self) -> httpx.AsyncClient: ...
    @property
    def fetch_limits(self) -> FetchLimits: ...
    @property
    def render_timeout_seconds(self) -> float: ...
    @property
    def work_root(self) -> Path: ...
    @property
    def timeline_limits(self) -> Limits: ...
    @property
    def writer(self) -> ScriptWriter: ...
    @property
    def voice(self) -> Voice: ...
    @property
    def painter(self) -> Painter: ...
    @property
    def placeholder(self) -> Painter: ...
    @property
    def caption_font(self) -> Path | None: ...
    @property
    def render_memory_limit_mb(self) -> int: ...
    @property
    def render_cpu_limit_seconds(self) -> float | None: ...


class JobError(Exception):
    """A problem that fails the job with a code the user sees (bad input found while working)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StageCall:
    job_id: str
    params: BaseModel
    outputs: Mapping[str, BaseModel]
    tools: Tools
    work_dir: Path
    report: Callable[[float, str], Awaitable[None]]  # (fraction of this stage done, message)
    add_artifact: Callable[[str, str, str, int], Awaitable[None]]  # kind, key, content type, bytes

    def output(self, stage: str, kind: type[Out]) -> Out:
        value = self.outputs[stage]
        if not isinstance(value, kind):
            raise TypeError(f"stage {stage!r} produced {type(value).__name__}, not {kind.__name__}")
        return value


@dataclass(frozen=True)
class StageSpec:
    name: str
    run: Callable[[StageCall], Awaitable[BaseModel]]
    output: type[BaseModel]
    weight: float


@dataclass(frozen=True)
class Pipeline:
    kind: str
    params: type[BaseModel]
    stages: tuple[StageSpec, ...]
    result: Callable[[Mapping[str, BaseModel]], JobResult]

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)


@dataclass(frozen=True)
class JobResult:
    video_key: str | None = None
    thumbnail_key: str | None = None
    manifest_key: str | None = None
