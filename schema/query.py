from __future__ import annotations

import strawberry

from resolvers import jobs as job_resolvers
from resolvers import reference
from resolvers.errors import UserError
from schema.errors import graphql_error
from schema.info import Info
from schema.me import Me, resolve_me
from schema.scenes import SceneQueries
from schema.types import Job, JobConnection, JobEdge, JobKind, JobStatus, PageInfo, fetch_job


@strawberry.type
class Voice:
    name: str = strawberry.field(description="What createExplainer's `voice` takes.")
    label: str
    languages: list[str] = strawberry.field(description="Language tags it speaks, best first.")


@strawberry.type
class VisualStyle:
    name: str
    background: str
    foreground: str
    accent: str
    label: str | None = None
    description: str | None = None
    palette: list[str] = strawberry.field(description="The style's colours, background first.")
    mood: str | None = strawberry.field(default=None, description="The music mood of its backing track.")
    typefaces: list[str] = strawberry.field(description="The fonts it sets its type in.")
    transition: str | None = strawberry.field(default=None, description="How its scenes join (or cut).")


@strawberry.type
class Query(SceneQueries):
    @strawberry.field(description="Output sizes the create mutations take (sceneResolutions: scene videos').")
    def resolutions(self) -> list[str]:
        return reference.resolutions()

    @strawberry.field(
        description="The styles a kind takes: createExplainer's visualStyle by default, createProductAd's "
        "style with kind: PRODUCT_AD (palette, music mood, typefaces, transition)."
    )
    def styles(self, kind: JobKind | None = None) -> list[VisualStyle]:
        return [VisualStyle(**vars(s)) for s in reference.styles(kind.value if kind else None)]

    @strawberry.field(description="Voices of the configured text-to-speech, optionally for one language.")
    def voices(self, info: Info, language: str | None = None) -> list[Voice]:
        return [Voice(**vars(v)) for v in reference.voices(info.context, language)]

    @strawberry.field(description="Who you are, your credits and your ledger.")
    async def me(self, info: Info) -> Me:
        return await resolve_me(info)

    @strawberry.field(description="One of your jobs. An unknown id (or another user's) is NOT_FOUND.")
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        return await fetch_job(info, str(id))

    @strawberry.field(description="Your jobs, newest first, with cursor pagination.")
    async def jobs(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
    ) -> JobConnection:
        try:
            page = await job_resolvers.list_jobs(
                info.context,
                first=first,
                after=after,
                status=status.value if status else None,
                kind=kind.value if kind else None,
            )
        except UserError as err:
            raise graphql_error(err) from None
        return JobConnection(
            edges=[JobEdge(cursor=v.id, node=Job.from_view(v)) for v in page.items],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )
