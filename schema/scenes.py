"""Scenarios, scenes and the AI scene video: their types, inputs, queries and mutations (mixed into Query and
Mutation)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

import strawberry

from resolvers import reference
from resolvers import scenes as scene_resolvers
from resolvers.errors import UserError
from resolvers.scene_video import create_scene_video
from resolvers.scenes import ScenarioView, SceneView
from schema.errors import InvalidInput, NotFound, ServiceUnavailable, graphql_error, problem
from schema.info import Info
from schema.inputs import IDEMPOTENCY_KEY, PREVIEW, WEBHOOK_URL
from schema.paid import PaidJobResult, paid_problem
from schema.types import Job, PageInfo

RESOLUTION = "A video ratio from sceneResolutions, e.g. 1280:720; another one (or none) makes 720:1280."
DURATION = "Seconds of video, 2 to 10."


@strawberry.type(description="A group of scenes sharing a video ratio.")
class Scenario:
    id: strawberry.ID
    name: str
    resolution: str | None = strawberry.field(description=RESOLUTION)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, v: ScenarioView) -> Scenario:
        return cls(
            id=strawberry.ID(v.id),
            name=v.name,
            resolution=v.resolution,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )


@strawberry.type(description="A shot: what its image shows, how it moves, and the media its latest job made.")
class Scene:
    id: strawberry.ID
    scenario_id: strawberry.ID
    image_prompt: str
    visual_prompt: str = strawberry.field(description="The motion prompt: how things move.")
    product_reference_image_url: str | None
    duration: int = strawberry.field(description=DURATION)
    image_url: str | None = strawberry.field(description="The generated image, at a public URL.")
    video_url: str | None = strawberry.field(
        description="The video: a signed URL, valid 1 hour from this read."
    )
    status: str = strawberry.field(description="DRAFT, then the status of the job making its media.")
    job_id: strawberry.ID | None = strawberry.field(description="The job that made (or makes) its media.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, v: SceneView) -> Scene:
        return cls(
            id=strawberry.ID(v.id),
            scenario_id=strawberry.ID(v.scenario_id),
            image_prompt=v.image_prompt,
            visual_prompt=v.visual_prompt,
            product_reference_image_url=v.product_reference_image_url,
            duration=v.duration,
            image_url=v.image_url,
            video_url=v.video_url,
            status=v.status,
            job_id=strawberry.ID(v.job_id) if v.job_id else None,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )


@strawberry.type
class ScenarioEdge:
    cursor: str
    node: Scenario


@strawberry.type
class ScenarioConnection:
    edges: list[ScenarioEdge]
    page_info: PageInfo


@strawberry.type
class SceneEdge:
    cursor: str
    node: Scene


@strawberry.type
class SceneConnection:
    edges: list[SceneEdge]
    page_info: PageInfo


@strawberry.type(description="A scene video ratio and the ratio its image is generated at.")
class SceneResolution:
    video: str
    image: str
    motion: str = strawberry.field(description="What Runway's gen4_turbo is asked for; fitted to `video`.")
    default: bool = strawberry.field(description="Used when a scenario has no resolution, or an unknown one.")


@strawberry.input
class CreateScenarioInput:
    name: str
    resolution: str | None = strawberry.field(default=None, description=RESOLUTION)


@strawberry.input(description="Fields left out stay as they are; a resolution given as null is cleared.")
class UpdateScenarioInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    resolution: str | None = strawberry.UNSET


@strawberry.input
class CreateSceneInput:
    scenario_id: strawberry.ID
    image_prompt: str
    visual_prompt: str = strawberry.field(description="The motion prompt: how things move.")
    product_reference_image_url: str | None = None
    duration: int = strawberry.field(default=5, description=DURATION)


@strawberry.input(
    description="Fields left out stay as they are; a productReferenceImageUrl of null clears it."
)
class UpdateSceneInput:
    id: strawberry.ID
    image_prompt: str | None = strawberry.UNSET
    visual_prompt: str | None = strawberry.UNSET
    product_reference_image_url: str | None = strawberry.UNSET
    duration: int | None = strawberry.UNSET


@strawberry.input(description="A scene given in full instead of by id (it is not stored as a scene).")
class InlineSceneInput:
    image_prompt: str
    visual_prompt: str = strawberry.field(description="The motion prompt: how things move.")
    product_reference_image_url: str | None = None
    duration: int = strawberry.field(default=5, description=DURATION)


@strawberry.input(
    description="Either sceneId (a stored scene, its scenario's resolution) or scene + resolution."
)
class SceneVideoInput:
    scene_id: strawberry.ID | None = None
    scene: InlineSceneInput | None = None
    resolution: str | None = strawberry.field(default=None, description=RESOLUTION)
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)


ScenarioResult = Annotated[
    Scenario | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("ScenarioResult")
]
SceneResult = Annotated[Scene | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("SceneResult")]


def given(input: object, *skip: str) -> dict[str, Any]:
    """The input's fields that were given (left-out fields are UNSET), by their Python names."""
    return {
        f.name: getattr(input, f.name)
        for f in dataclasses.fields(input)  # type: ignore[arg-type]
        if f.name not in skip and getattr(input, f.name) is not strawberry.UNSET
    }


@strawberry.type
class SceneQueries:
    @strawberry.field(description="The AI scene video's ratios: each video ratio and its image ratio.")
    def scene_resolutions(self) -> list[SceneResolution]:
        return [SceneResolution(**vars(r)) for r in reference.scene_resolutions()]

    @strawberry.field(description="One of your scenarios. An unknown id (or another user's) is NOT_FOUND.")
    async def scenario(self, info: Info, id: strawberry.ID) -> Scenario:
        try:
            return Scenario.from_view(await scene_resolvers.get_scenario(info.context, str(id)))
        except UserError as err:
            raise graphql_error(err) from None

    @strawberry.field(description="Your scenarios, newest first, with cursor pagination.")
    async def scenarios(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> ScenarioConnection:
        try:
            page = await scene_resolvers.list_scenarios(info.context, first=first, after=after)
        except UserError as err:
            raise graphql_error(err) from None
        return ScenarioConnection(
            edges=[ScenarioEdge(cursor=v.id, node=Scenario.from_view(v)) for v in page.items],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )

    @strawberry.field(description="One of your scenes. An unknown id (or another user's) is NOT_FOUND.")
    async def scene(self, info: Info, id: strawberry.ID) -> Scene:
        try:
            return Scene.from_view(await scene_resolvers.get_scene(info.context, str(id)))
        except UserError as err:
            raise graphql_error(err) from None

    @strawberry.field(description="Your scenes (one scenario's, when given) in the order they were made.")
    async def scenes(
        self,
        info: Info,
        scenario_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> SceneConnection:
        try:
            page = await scene_resolvers.list_scenes(
                info.context,
                scenario_id=str(scenario_id) if scenario_id is not None else None,
                first=first,
                after=after,
            )
        except UserError as err:
            raise graphql_error(err) from None
        return SceneConnection(
            edges=[SceneEdge(cursor=v.id, node=Scene.from_view(v)) for v in page.items],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )


@strawberry.type
class SceneMutations:
    @strawberry.mutation(description="A new scenario: a name and a video ratio for its scenes.")
    async def create_scenario(self, info: Info, input: CreateScenarioInput) -> ScenarioResult:
        try:
            view = await scene_resolvers.create_scenario(
                info.context, name=input.name, resolution=input.resolution
            )
        except UserError as err:
            return problem(err)
        return Scenario.from_view(view)

    @strawberry.mutation(description="Change a scenario's name or resolution.")
    async def update_scenario(self, info: Info, input: UpdateScenarioInput) -> ScenarioResult:
        try:
            view = await scene_resolvers.update_scenario(info.context, str(input.id), given(input, "id"))
        except UserError as err:
            return problem(err)
        return Scenario.from_view(view)

    @strawberry.mutation(description="A new scene in one of your scenarios.")
    async def create_scene(self, info: Info, input: CreateSceneInput) -> SceneResult:
        try:
            fields = given(input, "scenario_id")
            view = await scene_resolvers.create_scene(info.context, str(input.scenario_id), fields)
        except UserError as err:
            return problem(err)
        return Scene.from_view(view)

    @strawberry.mutation(description="Change a scene's prompts, reference image or duration.")
    async def update_scene(self, info: Info, input: UpdateSceneInput) -> SceneResult:
        try:
            view = await scene_resolvers.update_scene(info.context, str(input.id), given(input, "id"))
        except UserError as err:
            return problem(err)
        return Scene.from_view(view)

    @strawberry.mutation(
        description="A scene → an AI image → an AI video made from it. The image is stored at a public URL, "
        "the video privately (signed URLs). Refused with InsufficientCredits when the balance cannot cover "
        "its paid actions."
    )
    async def create_scene_video(self, info: Info, input: SceneVideoInput) -> PaidJobResult:
        fields = given(input)
        if input.scene is not None:
            fields["scene"] = given(input.scene)
        try:
            return Job.from_view(await create_scene_video(info.context, fields))
        except UserError as err:
            return paid_problem(err)
