"""The database layer on SQLite and Postgres alike (every test runs on both)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from db import repo
from db.engine import session_factory
from db.ids import new_id
from db.tables import SQLModel


async def _new_job(engine: AsyncEngine, user: str = "local", kind: str = "SLIDESHOW") -> str:
    job_id = new_id()
    async with session_factory(engine).begin() as s:
        await repo.create_job(
            s, job_id=job_id, user_id=user, kind=kind, input={"x": 1}, stages=[("a", 1.0), ("b", 2.0)]
        )
    return job_id


async def test_migrations_create_exactly_the_tables_the_models_describe(engine: AsyncEngine) -> None:
    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_every_update_bumps_seq_and_a_status_guard_refuses_stale_writes(engine: AsyncEngine) -> None:
    job_id = await _new_job(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        first = await repo.update_job(s, job_id, only_if_status=["QUEUED"], status="PROCESSING")
        assert first is not None and first.seq == 2
        second = await repo.update_job(s, job_id, progress=10.0)
        assert second is not None and second.seq == 3
        assert await repo.update_job(s, job_id, only_if_status=["QUEUED"], status="FAILED") is None
    async with sessions() as s:
        job = await repo.get_job(s, job_id)
        assert job is not None and job.status == "PROCESSING" and job.progress == 10.0


async def test_jobs_list_newest_first_with_cursor_and_only_the_owners(engine: AsyncEngine) -> None:
    mine = [await _new_job(engine) for _ in range(5)]
    await _new_job(engine, user="other")
    sessions = session_factory(engine)
    async with sessions() as s:
        page1 = await repo.list_jobs(s, user_id="local", limit=3)
        page2 = await repo.list_jobs(s, user_id="local", limit=3, before_id=page1[-1].id)
        assert [j.id for j in page1 + page2] == list(reversed(mine))
        assert await repo.get_job(s, mine[0], user_id="other") is None
        assert await repo.list_jobs(s, user_id="local", limit=10, kind="TIMELINE") == []


async def test_an_artifact_stored_twice_is_listed_once(engine: AsyncEngine) -> None:
    job_id = await _new_job(engine)
    sessions = session_factory(engine)
    for size in (10, 20):
        async with sessions.begin() as s:
            await repo.put_artifact(
                s, job_id=job_id, kind="video", key=f"jobs/{job_id}/video.mp4", content_type="video/mp4",
                size=size, stage="render",
            )  # fmt: skip
    async with sessions() as s:
        artifacts = await repo.get_artifacts(s, [job_id])
    assert [(a.kind, a.bytes) for a in artifacts] == [("video", 20)]


async def test_stage_rows_keep_order_and_can_be_reset_from_a_position(engine: AsyncEngine) -> None:
    job_id = await _new_job(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        await repo.update_stage(s, job_id, "a", status="DONE", output={"k": 1})
        await repo.update_stage(s, job_id, "b", status="DONE", output={"k": 2})
        await repo.reset_stages(s, job_id, from_position=1)
    async with sessions() as s:
        stages = await repo.get_stages(s, [job_id])
    assert [(st.name, st.status, st.output) for st in stages] == [
        ("a", "DONE", {"k": 1}),
        ("b", "PENDING", None),
    ]


def test_ids_sort_by_creation_time() -> None:
    ids = [new_id() for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
