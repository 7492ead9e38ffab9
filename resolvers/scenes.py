"""Scenarios and scenes: create, update, read and list — always the caller's own (another user's id answers
exactly like a missing one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from db import scenes
from db.ids import new_id
from db.repo import aware
from db.tables import Scenario, Scene
from jobs.kinds.scene_input import check_duration, check_prompt, check_resolution
from media.errors import MediaError
from media.inputs.fetch import check_url, resolve_checked
from media.storage.base import Storage
from resolvers.availability import database_errors, storage_errors
from resolvers.context import Context
from resolvers.errors import NotFound, UserError

MAX_PAGE = 100
MAX_NAME = 200


@dataclass(frozen=True)
class ScenarioView:
    id: str
    name: str
    resolution: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SceneView:
    id: str
    scenario_id: str
    image_prompt: str
    visual_prompt: str
    product_reference_image_url: str | None
    duration: int
    image_url: str | None  # public
    video_url: str | None  # signed afresh on every read, valid 1 h
    status: str
    job_id: str | None
    created_at: datetime
    updated_at: datetime


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    end_cursor: str | None


def scenario_view(row: Scenario) -> ScenarioView:
    return ScenarioView(row.id, row.name, row.resolution, aware(row.created_at), aware(row.updated_at))


async def scene_views(rows: Sequence[Scene], storage: Storage) -> list[SceneView]:
    """The rows' URLs minted on every read, all at once (a hosted store signs a page in one request)."""
    keys = [key for row in rows for key in (row.image_key, row.video_key) if key]
    with storage_errors():
        links = await storage.urls(keys) if keys else {}
    return [scene_view(row, links) for row in rows]


def scene_view(row: Scene, links: Mapping[str, str]) -> SceneView:
    return SceneView(
        id=row.id,
        scenario_id=row.scenario_id,
        image_prompt=row.image_prompt,
        visual_prompt=row.visual_prompt,
        product_reference_image_url=row.product_reference_image_url,
        duration=row.duration,
        image_url=links.get(row.image_key) if row.image_key else None,
        video_url=links.get(row.video_key) if row.video_key else None,
        status=row.status,
        job_id=row.job_id,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _name(value: str) -> str:
    name = value.strip()
    if not name:
        raise UserError("EMPTY_NAME", "name is empty", "name")
    if len(name) > MAX_NAME:
        raise UserError("NAME_TOO_LONG", f"name has {len(name)} characters; the limit is {MAX_NAME}", "name")
    return name


async def check_reference_url(ctx: Context, value: str, field: str) -> str:
    """An http(s) URL whose host is not on a private, local or reserved network (checked now, and again by the
    fetcher when the picture is downloaded: a name may resolve differently later)."""
    try:
        url = check_url(value)
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await resolve_checked(parsed.host, port, allow_private=ctx.services.fetch_limits.allow_private)
    except MediaError as exc:
        raise UserError(exc.code, f"{field}: {exc.message}", field) from exc
    return url


def _page_size(first: int | None) -> int:
    limit = first if first is not None else 20
    if not 0 < limit <= MAX_PAGE:
        raise UserError("INVALID_PAGE_SIZE", f"first must be between 1 and {MAX_PAGE}", "first")
    return limit


# --- scenarios ---------------------------------------------------------------------------------------


async def create_scenario(ctx: Context, *, name: str, resolution: str | None) -> ScenarioView:
    row = Scenario(
        id=new_id(), user_id=ctx.user_id, name=_name(name), resolution=check_resolution(resolution)
    )
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            session.add(row)
    return scenario_view(row)


async def update_scenario(ctx: Context, scenario_id: str, changes: Mapping[str, Any]) -> ScenarioView:
    """`changes` holds only the fields given (a resolution given as None clears it)."""
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _name(changes["name"] or "")
    if "resolution" in changes:
        values["resolution"] = check_resolution(changes["resolution"])
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            row = await scenes.get_scenario(session, scenario_id, user_id=ctx.user_id)
            if row is None:
                raise NotFound("scenario", scenario_id)
            scenes.change(row, values)
    return scenario_view(row)


async def get_scenario(ctx: Context, scenario_id: str) -> ScenarioView:
    with database_errors():
        async with ctx.services.sessions() as session:
            row = await scenes.get_scenario(session, scenario_id, user_id=ctx.user_id)
    if row is None:
        raise NotFound("scenario", scenario_id)
    return scenario_view(row)


async def list_scenarios(ctx: Context, *, first: int | None, after: str | None) -> Page[ScenarioView]:
    """Newest first."""
    limit = _page_size(first)
    with database_errors():
        async with ctx.services.sessions() as session:
            rows = await scenes.list_scenarios(session, user_id=ctx.user_id, limit=limit + 1, before_id=after)
    page = rows[:limit]
    return Page([scenario_view(r) for r in page], len(rows) > limit, page[-1].id if page else None)


# --- scenes ------------------------------------------------------------------------------------------


async def _scene_values(ctx: Context, changes: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in (("image_prompt", "imagePrompt"), ("visual_prompt", "visualPrompt")):
        if name in changes:
            values[name] = check_prompt(changes[name] or "", field)
    if "duration" in changes:
        values["duration"] = check_duration(changes["duration"] if changes["duration"] is not None else 0)
    if "product_reference_image_url" in changes:
        url = (changes["product_reference_image_url"] or "").strip()
        values["product_reference_image_url"] = (
            await check_reference_url(ctx, url, "productReferenceImageUrl") if url else None
        )
    return values


async def create_scene(ctx: Context, scenario_id: str, fields: Mapping[str, Any]) -> SceneView:
    values = await _scene_values(ctx, {"duration": 5, **fields})
    for name, field in (("image_prompt", "imagePrompt"), ("visual_prompt", "visualPrompt")):
        if name not in values:
            raise UserError("EMPTY_PROMPT", f"{field} is empty", field)
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            if await scenes.get_scenario(session, scenario_id, user_id=ctx.user_id) is None:
                raise NotFound("scenario", scenario_id)
            row = Scene(id=new_id(), user_id=ctx.user_id, scenario_id=scenario_id, **values)
            session.add(row)
    return (await scene_views([row], ctx.services.storage))[0]


async def update_scene(ctx: Context, scene_id: str, changes: Mapping[str, Any]) -> SceneView:
    """`changes` holds only the fields given (a productReferenceImageUrl given as None clears it)."""
    values = await _scene_values(ctx, changes)
    with database_errors():
        async with ctx.services.sessions.begin() as session:
            row = await scenes.get_scene(session, scene_id, user_id=ctx.user_id)
            if row is None:
                raise NotFound("scene", scene_id)
            scenes.change(row, values)
    return (await scene_views([row], ctx.services.storage))[0]


async def load_scene(ctx: Context, scene_id: str) -> tuple[Scene, Scenario]:
    with database_errors():
        async with ctx.services.sessions() as session:
            row = await scenes.get_scene(session, scene_id, user_id=ctx.user_id)
            scenario = None
            if row is not None:
                scenario = await scenes.get_scenario(session, row.scenario_id, user_id=ctx.user_id)
    if row is None or scenario is None:
        raise NotFound("scene", scene_id)
    return row, scenario


async def get_scene(ctx: Context, scene_id: str) -> SceneView:
    row, _ = await load_scene(ctx, scene_id)
    return (await scene_views([row], ctx.services.storage))[0]


async def list_scenes(
    ctx: Context, *, scenario_id: str | None, first: int | None, after: str | None
) -> Page[SceneView]:
    """In the order they were made; one scenario's, or all the caller's."""
    limit = _page_size(first)
    with database_errors():
        async with ctx.services.sessions() as session:
            if scenario_id is not None and not await scenes.get_scenario(
                session, scenario_id, user_id=ctx.user_id
            ):
                raise NotFound("scenario", scenario_id)
            rows = await scenes.list_scenes(
                session, user_id=ctx.user_id, limit=limit + 1, scenario_id=scenario_id, after_id=after
            )
    page = rows[:limit]
    storage = ctx.services.storage
    return Page(await scene_views(page, storage), len(rows) > limit, page[-1].id if page else None)
