from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, cast

import strawberry

from resolvers import jobs as job_resolvers
from resolvers import retry
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.explainer import ExplainerRequest, create_explainer
from resolvers.slideshow import SlideshowRequest, create_slideshow
from resolvers.timeline import TimelineRequest, render_timeline
from resolvers.uploads import Upload
from schema.errors import InvalidInput, NotFound, ServiceUnavailable, create_problem, problem
from schema.inputs import ExplainerInput, SlideshowInput, TimelineInput
from schema.types import Job

Info = strawberry.Info[Context, None]

CreateJobResult = Annotated[Job | InvalidInput | ServiceUnavailable, strawberry.union("CreateJobResult")]
JobResult = Annotated[Job | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("JobResult")]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Images + audio → a Ken Burns slideshow with crossfades.")
    async def create_slideshow(self, info: Info, input: SlideshowInput) -> CreateJobResult:
        request = SlideshowRequest(
            image_urls=input.image_urls or [],
            # strawberry hands over starlette UploadFiles, which satisfy our Upload protocol
            images=cast(Sequence[Upload], input.images or []),
            audio_url=input.audio_url,
            audio=cast(Upload | None, input.audio),
            overlay_url=input.overlay_url,
            overlay=cast(Upload | None, input.overlay),
            size=input.size,
            seconds_per_image=input.seconds_per_image,
            transition_seconds=input.transition_seconds,
            preview=input.preview,
            idempotency_key=input.idempotency_key,
        )
        try:
            return Job.from_view(await create_slideshow(info.context, request))
        except UserError as err:
            return create_problem(err)

    @strawberry.mutation(
        description="Render a declarative timeline (tracks of clips, transitions, text, captions, audio)."
    )
    async def render_timeline(self, info: Info, input: TimelineInput) -> CreateJobResult:
        request = TimelineRequest(
            timeline=input.timeline,
            files=cast(Sequence[Upload], input.files or []),
            preview=input.preview,
            idempotency_key=input.idempotency_key,
        )
        try:
            return Job.from_view(await render_timeline(info.context, request))
        except UserError as err:
            return create_problem(err)

    @strawberry.mutation(description="Text → a narrated, captioned video: script, voices, visuals, render.")
    async def create_explainer(self, info: Info, input: ExplainerInput) -> CreateJobResult:
        request = ExplainerRequest(
            source_text=input.source_text,
            title=input.title,
            size=input.size,
            voice=input.voice,
            language=input.language,
            visual_style=input.visual_style,
            max_scenes=input.max_scenes,
            preview=input.preview,
            idempotency_key=input.idempotency_key,
        )
        try:
            return Job.from_view(await create_explainer(info.context, request))
        except UserError as err:
            return create_problem(err)

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
