from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry

from resolvers import jobs as job_resolvers
from resolvers import retry
from resolvers.create import create_job
from resolvers.errors import UserError
from schema.errors import InvalidInput, NotFound, ServiceUnavailable, create_problem, problem
from schema.info import Info
from schema.inputs import ExplainerInput, ProductAdInput, SlideshowInput, TimelineInput
from schema.types import Job

CreateJobResult = Annotated[Job | InvalidInput | ServiceUnavailable, strawberry.union("CreateJobResult")]
JobResult = Annotated[Job | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("JobResult")]


async def create(info: Info, kind: str, input: Any) -> CreateJobResult:
    """Every create mutation: the input's fields, as they are, to the kind's intake (resolvers.create)."""
    fields = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
    try:
        return Job.from_view(await create_job(info.context, kind, fields))
    except UserError as err:
        return create_problem(err)


@strawberry.type
class Mutation:
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
