from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry

from resolvers import jobs as job_resolvers
from resolvers import retry
from resolvers.create import create_job
from resolvers.errors import UserError
from resolvers.expand import RateLimited as TooManyCalls
from resolvers.expand import expand_idea
from schema.errors import InvalidInput, NotFound, RateLimited, ServiceUnavailable, create_problem, problem
from schema.info import Info
from schema.inputs import (
    ExpandIdeaInput,
    ExplainerInput,
    ProductAdInput,
    ShortInput,
    SlideshowInput,
    TimelineInput,
)
from schema.paid import PaidJobResult, paid_problem
from schema.scenes import SceneMutations
from schema.types import IdeaExpansion, Job

CreateJobResult = Annotated[Job | InvalidInput | ServiceUnavailable, strawberry.union("CreateJobResult")]
JobResult = Annotated[Job | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("JobResult")]
ExpandIdeaResult = Annotated[
    IdeaExpansion | InvalidInput | RateLimited | ServiceUnavailable, strawberry.union("ExpandIdeaResult")
]
# expandIdea's errors that are not the input's fault: the model or the limiter could not answer now.
_NOT_INPUT = ("EXPAND_TIMEOUT", "SERVICE_UNAVAILABLE", "PROVIDER_", "SCRIPT_")


async def create(info: Info, kind: str, input: Any) -> CreateJobResult:
    """Every create mutation: the input's fields, as they are, to the kind's intake (resolvers.create)."""
    fields = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
    try:
        return Job.from_view(await create_job(info.context, kind, fields))
    except UserError as err:
        return create_problem(err)


@strawberry.type
class Mutation(SceneMutations):
    @strawberry.mutation(description="Images + audio → a Ken Burns slideshow with crossfades.")
    async def create_slideshow(self, info: Info, input: SlideshowInput) -> CreateJobResult:
        return await create(info, "SLIDESHOW", input)

    @strawberry.mutation(
        description="Render a declarative timeline (tracks of clips, transitions, text, captions, audio)."
    )
    async def render_timeline(self, info: Info, input: TimelineInput) -> CreateJobResult:
        return await create(info, "TIMELINE", input)

    @strawberry.mutation(description="Text → a narrated, captioned video: script, voices, visuals, render.")
    async def create_explainer(self, info: Info, input: ExplainerInput) -> CreateJobResult:
        return await create(info, "EXPLAINER", input)

    @strawberry.mutation(
        description="An idea → a vertical, voiced, captioned video with a music bed. Stages: drafting, "
        "assets, audio, rendering, ready; every intermediate artifact is listed on the job."
    )
    async def create_short(self, info: Info, input: ShortInput) -> PaidJobResult:
        # Pictures from a cloud image provider are paid: a balance that cannot cover them is refused up front.
        fields = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        try:
            return Job.from_view(await create_job(info.context, "SHORT", fields))
        except UserError as err:
            return paid_problem(err)

    @strawberry.mutation(
        description="An idea → its plan (title, logline, tone, format, audience, hooks, outline), at once."
    )
    async def expand_idea(self, info: Info, input: ExpandIdeaInput) -> ExpandIdeaResult:
        fields = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        try:
            plan = await expand_idea(info.context, fields)
        except TooManyCalls as err:
            return RateLimited(code=err.code, message=err.message, retry_after_seconds=err.retry_after)
        except UserError as err:
            if err.code.startswith(_NOT_INPUT):
                return ServiceUnavailable(code=err.code, message=err.message)
            return create_problem(err)
        return IdeaExpansion(**plan.model_dump())

    @strawberry.mutation(
        description="A product, a style and a call to action → a 30 s ad: script, voice, visuals, render."
    )
    async def create_product_ad(self, info: Info, input: ProductAdInput) -> CreateJobResult:
        return await create(info, "PRODUCT_AD", input)

    @strawberry.mutation(description="Stop a queued or running job; it ends CANCELLED.")
    async def cancel_job(self, info: Info, id: strawberry.ID) -> JobResult:
        try:
            return Job.from_view(await job_resolvers.cancel_job(info.context, str(id)))
        except UserError as err:
            return problem(err)

    @strawberry.mutation(
        description="Run a FAILED or CANCELLED job again from its last finished stage (finished stages "
        "are not redone); it goes back to QUEUED."
    )
    async def retry_job(self, info: Info, id: strawberry.ID) -> JobResult:
        try:
            return Job.from_view(await retry.retry_job(info.context, str(id)))
        except UserError as err:
            return problem(err)
