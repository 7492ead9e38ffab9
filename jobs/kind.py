"""A job kind is one declaration: its name, its params, how a create mutation's input becomes those params
(with the checks that refuse bad input before anything is queued), the stages that make its media and the
`compose` that turns them into a timeline. The shared render → store → finalize tail follows
(jobs.tail), so the pipeline a worker runs is derived from the declaration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic

from jobs.params import JobParams
from jobs.stage import Pipeline, StageCall, StageSpec
from jobs.tail import K, compose_stage, result, tail
from media.timeline.checks import Limits as TimelineLimits
from media.timeline.model import Timeline

# A create mutation's input as the API hands it to `intake`: the input's fields by their Python names, with
# uploads already stored and URLs already checked (each a jobs.inputs.InputRef), a `<name>Url`/`<name>`
# (upload) pair merged into `<name>`, and `size` resolved to `width`, `height` and the render settings.
Values = Mapping[str, Any]


@dataclass(frozen=True)
class InputLimits:
    """What the API checks a create mutation's input against (from settings)."""

    max_images: int = 20
    max_upload_bytes: int = 50 * 1024 * 1024
    max_seconds_per_image: float = 60.0
    render_fps: int = 30
    render_preset: str = "veryfast"
    render_crf: int = 23
    timeline: TimelineLimits = TimelineLimits()
    max_source_chars: int = 20_000  # an explainer's source text
    max_idea_chars: int = 1000  # a short's idea
    # Raises MediaError for a voice/language the configured voice cannot speak; None: it decides when it runs.
    check_voice: Callable[[str | None, str], None] | None = None


@dataclass(frozen=True)
class Kind(Generic[K]):
    name: str  # as stored on the job row and named by JobKind
    params: type[K]
    intake: Callable[[Values, InputLimits], K]  # raises jobs.errors.UserError
    stages: tuple[StageSpec[K], ...]  # the kind's own, before compose
    compose: Callable[[StageCall[K]], Awaitable[Timeline]]
    render_weight: float = 8.0
    # For a kind whose stage names are part of its public contract (the short's drafting → assets → audio
    # → rendering → ready): its own last stages, which run compose and the shared tail's functions inside
    # them (jobs.tail), in place of the compose, render, store and finalize stages.
    finish: tuple[StageSpec[K], ...] | None = None

    @cached_property
    def pipeline(self) -> Pipeline[K]:
        last: tuple[StageSpec[K], ...] = (compose_stage(self.compose), *tail(self.render_weight))
        if self.finish is not None:
            last = self.finish
        return Pipeline(params=self.params, stages=(*self.stages, *last), result=result)

    @property
    def stage_weights(self) -> list[tuple[str, float]]:
        return [(s.name, s.weight) for s in self.pipeline.stages]


__all__ = ["InputLimits", "JobParams", "Kind", "Values"]
