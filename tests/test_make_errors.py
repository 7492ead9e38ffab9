"""`clipforge make` when it cannot go ahead: each case a real command against a real server (no worker
needed: nothing here gets as far as running a job)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db.engine import session_factory
from resolvers.auth import issue_api_key
from tests.conftest import free_port
from tests.make_runner import media_files, run_make
from tests.service import Service

OWNED = "query($id: ID!) { job(id: $id) { id status } }"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def test_refused_input_exits_3_with_the_servers_code(service: Service, tmp_path: Path) -> None:
    images = media_files(tmp_path, images=1)
    result = await run_make(service.url, "slideshow", *images, "--size", "7x7", "--json", cwd=tmp_path)
    assert result.code == 3, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "UNKNOWN_SIZE" and "7x7" in error["message"] and error["field"] == "size"
    plain = await run_make(service.url, "slideshow", *images, "--seconds-per-image", "0.1", cwd=tmp_path)
    assert plain.code == 3 and "INVALID_DURATION" in plain.stderr


async def test_usage_errors_exit_2(service: Service, tmp_path: Path) -> None:
    unknown = await run_make(service.url, "poster", "x", cwd=tmp_path)
    assert unknown.code == 2 and "no kind 'poster'" in unknown.stderr and "slideshow" in unknown.stderr
    missing = await run_make(service.url, "slideshow", "nope.jpg", cwd=tmp_path)
    assert missing.code == 2 and "no such file: nope.jpg" in missing.stderr
    listed = await run_make(service.url, "--help", cwd=tmp_path)
    assert listed.code == 0 and "slideshow" in listed.stdout and "explainer" in listed.stdout
    helped = await run_make(service.url, "slideshow", "--help", cwd=tmp_path)
    assert helped.code == 0 and "--seconds-per-image" in helped.stdout and "--audio FILE" in helped.stdout


async def test_a_server_that_is_not_there_exits_6(tmp_path: Path) -> None:
    result = await run_make(f"http://127.0.0.1:{free_port()}", "slideshow", "a.jpg", "--json", cwd=tmp_path)
    assert result.code == 6
    assert json.loads(result.stdout)["error"]["code"] == "SERVER_UNREACHABLE"


class TestWithAuth:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"auth_required": True})

    async def test_the_key_comes_from_clipforge_api_key_and_a_missing_or_wrong_one_exits_5(
        self, service: Service, engine: AsyncEngine, tmp_path: Path
    ) -> None:
        key = await issue_api_key(session_factory(engine), user_id="alice", name="Alice")
        images = media_files(tmp_path, images=1)
        none = await run_make(service.url, "slideshow", *images, cwd=tmp_path)
        assert none.code == 5 and "CLIPFORGE_API_KEY" in none.stderr
        wrong = await run_make(service.url, "slideshow", *images, cwd=tmp_path, api_key="cf_wrong")
        assert wrong.code == 5 and "refused the key" in wrong.stderr
        made = await run_make(service.url, "slideshow", *images, "--no-wait", cwd=tmp_path, api_key=key)
        assert made.code == 0, made.stderr
        job_id = made.stdout.strip()
        answer = await service.http.post(
            f"{service.url}/graphql",
            json={"query": OWNED, "variables": {"id": job_id}},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.json()["data"]["job"] == {"id": job_id, "status": "QUEUED"}  # alice's job


class TestWithoutIntrospection:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"graphql_introspection": False})

    async def test_make_falls_back_to_its_own_copy_of_the_schema(
        self, service: Service, tmp_path: Path
    ) -> None:
        images = media_files(tmp_path, images=1)
        made = await run_make(service.url, "slideshow", *images, "--no-wait", "--json", cwd=tmp_path)
        assert made.code == 0, made.stderr
        assert "hides its schema" in made.stderr
        assert json.loads(made.stdout)["job"]["status"] == "QUEUED"
