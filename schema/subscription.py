from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import progress
from resolvers.errors import UserError
from schema.errors import graphql_error
from schema.info import Info
from schema.types import ProgressEvent


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The job's current state, then every change until it ends; then the stream completes."
    )
    async def job_progress(
        self, info: Info, job_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[ProgressEvent, None]:
        try:
            async for event in progress.job_progress(info.context, str(job_id), after_seq):
                yield ProgressEvent.from_view(event)
        except UserError as err:
            raise graphql_error(err) from None

    @strawberry.subscription(description="Changes to all of your jobs (for dashboards).")
    async def job_updates(self, info: Info) -> AsyncGenerator[ProgressEvent, None]:
        try:
            async for event in progress.job_updates(info.context):
                yield ProgressEvent.from_view(event)
        except UserError as err:  # SERVICE_UNAVAILABLE: the client resubscribes later
            raise graphql_error(err) from None
