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


async def test_resetting_stages_keeps_finished_checkpoints(engine: AsyncEngine) -> None:
    job_id = await _new_job(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        await repo.update_stage(s, job_id, "a", status="DONE", output={"k": 1})
        await repo.update_stage(s, job_id, "b", status="FAILED", output={"k": 2}, error="boom")
        await repo.reset_unfinished_stages(s, job_id)
    async with sessions() as s:
        stages = await repo.get_stages(s, [job_id])
    assert [(st.name, st.status, st.output, st.error) for st in stages] == [
        ("a", "DONE", {"k": 1}, None),
        ("b", "PENDING", None, None),
    ]


async def test_a_lease_is_exclusive_until_it_expires(engine: AsyncEngine) -> None:
    job_id = await _new_job(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        assert await repo.claim_job(s, job_id, owner="w1", lease_seconds=60) is not None
        assert await repo.claim_job(s, job_id, owner="w2", lease_seconds=60) is None
        assert await repo.renew_lease(s, job_id, owner="w1", lease_seconds=-1)  # now expired
        assert not await repo.renew_lease(s, job_id, owner="w2", lease_seconds=60)
    async with sessions() as s:
        assert [j.id for j in await repo.expired_leases(s)] == [job_id]
    async with sessions.begin() as s:
        taken = await repo.claim_job(s, job_id, owner="w2", lease_seconds=60)
        assert taken is not None and taken.lease_owner == "w2"
        assert not await repo.renew_lease(s, job_id, owner="w1", lease_seconds=60)


async def test_migrations_go_down_and_up_again(engine: AsyncEngine) -> None:
    from db.migrate import downgrade, upgrade

    await downgrade(engine, "base")
    await upgrade(engine)
    await test_migrations_create_exactly_the_tables_the_models_describe(engine)


def test_ids_sort_by_creation_time() -> None:
    ids = [new_id() for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
