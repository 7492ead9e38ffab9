"""The records behind the scene video, on SQLite and Postgres: a scene follows the job that makes its media
in that job's own transactions (newest job wins, owner only), and a vendor task's cost is counted once per job
however often a rerun finds it finished."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db import ledger, repo, scenes
from db.engine import session_factory
from db.ids import new_id
from db.tables import Scenario, Scene
from jobs.deps import Deps


async def new_scene(engine: AsyncEngine, user: str = "local") -> str:
    scenario, scene = new_id(), new_id()
    async with session_factory(engine).begin() as s:
        s.add(Scenario(id=scenario, user_id=user, name="s"))
        await s.flush()
        s.add(Scene(id=scene, user_id=user, scenario_id=scenario, image_prompt="a", visual_prompt="b"))
    return scene


async def new_job(deps: Deps, scene_id: str, user: str = "local") -> str:
    job_id = new_id()
    await deps.lifecycle.create(
        job_id=job_id, user_id=user, kind="SCENE_VIDEO", input={"scene_id": scene_id},
        stages=[("video", 1.0)], idempotency_key=None, input_hash="x",
    )  # fmt: skip
    return job_id


async def scene_row(engine: AsyncEngine, scene_id: str, user: str = "local") -> Scene:
    async with session_factory(engine)() as s:
        row = await scenes.get_scene(s, scene_id, user_id=user)
    assert row is not None
    return row


async def test_a_scene_follows_its_newest_job_through_every_status(engine: AsyncEngine, deps: Deps) -> None:
    scene_id = await new_scene(engine)
    older = await new_job(deps, scene_id)
    assert (await scene_row(engine, scene_id)).status == "QUEUED"
    newer = await new_job(deps, scene_id)
    claimed = await deps.lifecycle.claim(newer, owner="w", lease_seconds=30, queue_id=None, attempt=1)
    assert claimed is not None
    row = await scene_row(engine, scene_id)
    assert (row.status, row.job_id) == ("PROCESSING", newer)
    await claimed[0].complete(
        video_key="video-files/local/v.mp4", thumbnail_key="public/i.png", manifest_key=None
    )
    row = await scene_row(engine, scene_id)
    assert (row.status, row.video_key, row.image_key) == (
        "COMPLETED",
        "video-files/local/v.mp4",
        "public/i.png",
    )
    # The older job ending later does not take the scene back.
    assert await deps.lifecycle.cancel(older) is not None
    row = await scene_row(engine, scene_id)
    assert (row.status, row.job_id, row.video_key) == ("COMPLETED", newer, "video-files/local/v.mp4")
    # A later job that fails keeps the media of the last one that succeeded.
    latest = await new_job(deps, scene_id)
    assert await deps.lifecycle.cancel(latest) is not None
    row = await scene_row(engine, scene_id)
    assert (row.status, row.job_id, row.video_key) == ("CANCELLED", latest, "video-files/local/v.mp4")


async def test_a_job_of_another_user_naming_the_scene_leaves_it_alone(
    engine: AsyncEngine, deps: Deps
) -> None:
    scene_id = await new_scene(engine)
    await new_job(deps, scene_id, user="other")
    row = await scene_row(engine, scene_id)
    assert (row.status, row.job_id) == ("DRAFT", None)


async def test_a_vendor_task_is_counted_once_per_job_whatever_reruns_report_it(engine: AsyncEngine) -> None:
    job_id = new_id()
    async with session_factory(engine).begin() as s:
        await repo.create_job(s, job_id=job_id, user_id="local", kind="SCENE_VIDEO", input={}, stages=[])
    cost = {"job_id": job_id, "stage": "video", "vendor": "runway", "item": "gen4_turbo:seconds",
            "quantity": 5.0, "usd_micros": 250_000}  # fmt: skip
    added = []
    for key in ("task-1", "task-1", "task-2", None, None):
        async with session_factory(engine).begin() as s:
            added.append(await ledger.add_cost(s, **cost, call_key=key))
    assert added == [True, False, True, True, True]
    async with session_factory(engine)() as s:
        assert await ledger.cost_by_stage(s, [job_id]) == {(job_id, "video"): 4 * 250_000}
