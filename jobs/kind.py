"""A job kind is one declaration: its name, its params, how a create mutation's input becomes those params
(with the checks that refuse bad input before anything is queued), the stages that make its media and the
`compose` that turns them into a timeline. The shared render → store → finalize tail follows
(jobs.tail), so the pipeline a worker runs is derived from the declaration.

A kind whose media is made whole by its own stages (the AI scene video: the provider's clip, rendered once
at its exact size) leaves out `compose` and names its `result` instead; its stages are the whole pipeline.
A kind with paid actions lists them in `paid`, so the API can refuse a job the balance cannot cover before
anything is queued (INSUFFICIENT_CREDITS with what it needs), instead of failing it half-way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic

from pydantic import BaseModel

from jobs.params import JobParams
from jobs.stage import JobResult, Pipeline, StageCall, StageSpec
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
class PaidAction:
    """A paid action a job of the kind will take (through `call.paid`), for the up-front credit check."""

    action: str  # as priced in CLIPFORGE_CREDIT_PRICES: "generate_image"
    capability: str  # the provider capability doing it ("image_gen"); its configured provider sets the price


@dataclass(frozen=True)
class Kind(Generic[K]):
    name: str  # as stored on the job row and named by JobKind
    params: type[K]
    intake: Callable[[Values, InputLimits], K]  # raises jobs.errors.UserError
    stages: tuple[StageSpec[K], ...]  # the kind's own, before compose
    compose: Callable[[StageCall[K]], Awaitable[Timeline]] | None  # None: the stages are the whole pipeline
    render_weight: float = 8.0
    # Only without compose: what the job made, from its stages' outputs.
    result: Callable[[Mapping[str, BaseModel]], JobResult] | None = None
    paid: Callable[[K], Sequence[PaidAction]] | None = None  # the paid actions a job with these params takes
    # For a kind whose stage names are part of its public contract (the short's drafting → assets → audio
    # → rendering → ready): its own last stages, which run compose and the shared tail's functions inside
    # them (jobs.tail), in place of the compose, render, store and finalize stages.
    finish: tuple[StageSpec[K], ...] | None = None

    @cached_property
    def pipeline(self) -> Pipeline[K]:
        if self.compose is None:
            if self.result is None:
                raise TypeError(f"kind {self.name} has neither compose nor result")
            return Pipeline(params=self.params, stages=self.stages, result=self.result)
        last: tuple[StageSpec[K], ...] = (compose_stage(self.compose), *tail(self.render_weight))
        if self.finish is not None:
            last = self.finish
        return Pipeline(params=self.params, stages=(*self.stages, *last), result=result)

    @property
    def stage_weights(self) -> list[tuple[str, float]]:
        return [(s.name, s.weight) for s in self.pipeline.stages]


__all__ = ["InputLimits", "JobParams", "Kind", "PaidAction", "Values"]
