"""Scenarios and scenes: repository functions (each takes an open session; the caller owns the transaction),
always scoped to their owner, and how a scene follows the job that makes its media."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import Job, JobStatus, Scenario, Scene, utcnow


async def get_scenario(session: AsyncSession, scenario_id: str, *, user_id: str) -> Scenario | None:
    query = select(Scenario).where(col(Scenario.id) == scenario_id, col(Scenario.user_id) == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_scenarios(
    session: AsyncSession, *, user_id: str, limit: int, before_id: str | None = None
) -> list[Scenario]:
    """Newest first (ids are time-ordered, so the last id of a page is the cursor of the next)."""
    query = select(Scenario).where(col(Scenario.user_id) == user_id)
    if before_id:
        query = query.where(col(Scenario.id) < before_id)
    return list((await session.execute(query.order_by(col(Scenario.id).desc()).limit(limit))).scalars())


async def get_scene(session: AsyncSession, scene_id: str, *, user_id: str) -> Scene | None:
    query = select(Scene).where(col(Scene.id) == scene_id, col(Scene.user_id) == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_scenes(
    session: AsyncSession,
    *,
    user_id: str,
    limit: int,
    scenario_id: str | None = None,
    after_id: str | None = None,
) -> list[Scene]:
    """In the order they were made, like the shots of a storyboard."""
    query = select(Scene).where(col(Scene.user_id) == user_id)
    if scenario_id is not None:
        query = query.where(col(Scene.scenario_id) == scenario_id)
    if after_id:
        query = query.where(col(Scene.id) > after_id)
    return list((await session.execute(query.order_by(col(Scene.id)).limit(limit))).scalars())


def change(row: Scenario | Scene, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()


async def follow_job(session: AsyncSession, job: Job) -> None:
    """A job whose input names a `scene_id` makes that scene's media: the scene takes the job's status (and,
    once it is COMPLETED, its image and video), in the transaction that changed the job. Ids are
    time-ordered, so the newest job of a scene wins over an older one still finishing."""
    scene_id = job.input.get("scene_id")
    if not isinstance(scene_id, str):
        return
    values: dict[str, Any] = {"status": job.status, "job_id": job.id, "updated_at": utcnow()}
    if job.status == JobStatus.COMPLETED:
        values.update(image_key=job.thumbnail_key, video_key=job.video_key)
    await session.execute(
        update(Scene)
        .where(col(Scene.id) == scene_id, col(Scene.user_id) == job.user_id)
        .where(or_(col(Scene.job_id).is_(None), col(Scene.job_id) <= job.id))
        # Most changes of a running job (progress) are not the scene's business: leave its row alone.
        .where(or_(col(Scene.status) != job.status, col(Scene.job_id).is_(None), col(Scene.job_id) != job.id))
        .values(**values)
    )
