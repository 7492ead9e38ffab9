"""Scenarios and scenes through the GraphQL API, on SQLite and Postgres: create, update, read and list with
typed results; owner-only (another user's id answers like a missing one); bad input refused with a code and
the field; and createSceneVideo's up-front refusals (bad scene, bad reference, not enough credits), which
leave no job and charge nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db import ledger
from db.engine import session_factory
from resolvers.auth import issue_api_key
from tests.factory import jpeg
from tests.service import MediaServer, Service

SCENARIO = """mutation($i: CreateScenarioInput!) { createScenario(input: $i) {
  __typename ... on Scenario { id name resolution } ... on InvalidInput { code message field } } }"""
UPDATE_SCENARIO = """mutation($i: UpdateScenarioInput!) { updateScenario(input: $i) {
  __typename ... on Scenario { id name resolution } ... on Problem { code message } } }"""
SCENE = """mutation($i: CreateSceneInput!) { createScene(input: $i) {
  __typename ... on Scene { id scenarioId imagePrompt visualPrompt productReferenceImageUrl duration status
    imageUrl videoUrl jobId }
  ... on InvalidInput { code message field } ... on NotFound { code message } } }"""
UPDATE_SCENE = """mutation($i: UpdateSceneInput!) { updateScene(input: $i) {
  __typename ... on Scene { id imagePrompt visualPrompt productReferenceImageUrl duration }
  ... on InvalidInput { code message field } ... on NotFound { code message } } }"""
VIDEO = """mutation($i: SceneVideoInput!) { createSceneVideo(input: $i) {
  __typename ... on Job { id kind status stages { name } }
  ... on InsufficientCredits { code message required balance }
  ... on InvalidInput { code message field } ... on NotFound { code message } } }"""
READ = """query($scenario: ID!, $scene: ID!) {
  scenario(id: $scenario) { id name resolution }
  scene(id: $scene) { id scenarioId imagePrompt duration status } }"""
LIST = """query($first: Int, $after: String) { scenarios(first: $first, after: $after) {
  edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }"""
SCENES = """query($s: ID, $first: Int, $after: String) {
  scenes(scenarioId: $s, first: $first, after: $after) {
  edges { node { id imagePrompt } } pageInfo { hasNextPage endCursor } } }"""


async def scenario(service: Service, **fields: Any) -> dict[str, Any]:
    body = await service.gql(SCENARIO, {"i": {"name": "Kettle ad", "resolution": "1280:720", **fields}})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createScenario"]
    return result


async def scene(service: Service, scenario_id: str, **fields: Any) -> dict[str, Any]:
    values = {
        "scenarioId": scenario_id,
        "imagePrompt": "A red kettle on an oak table, morning light",
        "visualPrompt": "steam rising, slow push in",
        **fields,
    }
    body = await service.gql(SCENE, {"i": values})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createScene"]
    return result


async def test_scenarios_and_scenes_are_created_updated_read_and_listed(service: Service) -> None:
    made = await scenario(service)
    assert made == {"__typename": "Scenario", "id": made["id"], "name": "Kettle ad", "resolution": "1280:720"}
    shot = await scene(service, made["id"], duration=7)
    assert shot["__typename"] == "Scene" and (shot["status"], shot["duration"], shot["jobId"]) == (
        "DRAFT",
        7,
        None,
    )
    assert shot["imageUrl"] is None and shot["videoUrl"] is None

    renamed = await service.gql(UPDATE_SCENARIO, {"i": {"id": made["id"], "name": "  Kettle ad v2 "}})
    assert renamed["data"]["updateScenario"]["name"] == "Kettle ad v2"
    assert renamed["data"]["updateScenario"]["resolution"] == "1280:720"  # left out: unchanged
    cleared = await service.gql(UPDATE_SCENARIO, {"i": {"id": made["id"], "resolution": None}})
    assert cleared["data"]["updateScenario"]["resolution"] is None

    changed = await service.gql(
        UPDATE_SCENE, {"i": {"id": shot["id"], "visualPrompt": "pan left", "duration": 4}}
    )
    assert changed["data"]["updateScene"] == {
        "__typename": "Scene",
        "id": shot["id"],
        "imagePrompt": "A red kettle on an oak table, morning light",
        "visualPrompt": "pan left",
        "productReferenceImageUrl": None,
        "duration": 4,
    }
    read = (await service.gql(READ, {"scenario": made["id"], "scene": shot["id"]}))["data"]
    assert read["scenario"]["name"] == "Kettle ad v2" and read["scene"]["duration"] == 4
    assert read["scene"]["scenarioId"] == made["id"]


async def test_lists_are_paged_with_cursors(service: Service) -> None:
    ids = [(await scenario(service, name=f"S{i}"))["id"] for i in range(3)]
    first = (await service.gql(LIST, {"first": 2}))["data"]["scenarios"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]  # newest first
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await service.gql(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["data"][
        "scenarios"
    ]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids[0]] and rest["pageInfo"]["hasNextPage"] is False
    shots = [(await scene(service, ids[0], imagePrompt=f"shot {i}"))["id"] for i in range(3)]
    await scene(service, ids[1])
    page = (await service.gql(SCENES, {"s": ids[0], "first": 2}))["data"]["scenes"]
    assert [e["node"]["id"] for e in page["edges"]] == shots[:2]  # in the order they were made
    after = page["pageInfo"]["endCursor"]
    page = (await service.gql(SCENES, {"s": ids[0], "first": 2, "after": after}))["data"]["scenes"]
    assert [e["node"]["id"] for e in page["edges"]] == shots[2:]
    everything = (await service.gql(SCENES, {"first": 10}))["data"]["scenes"]
    assert len(everything["edges"]) == 4


async def test_bad_scenarios_and_scenes_get_typed_errors_naming_the_field(service: Service) -> None:
    for fields, code, field in [
        ({"name": "  "}, "EMPTY_NAME", "name"),
        ({"name": "x" * 201}, "NAME_TOO_LONG", "name"),
        ({"resolution": "16x9"}, "INVALID_RESOLUTION", "resolution"),
    ]:
        body = await service.gql(SCENARIO, {"i": {"name": "ok", **fields}})
        assert body["data"]["createScenario"] == {
            "__typename": "InvalidInput", "code": code, "field": field,
            "message": body["data"]["createScenario"]["message"],
        }  # fmt: skip
    made = await scenario(service)
    for fields, code, field in [
        ({"imagePrompt": " "}, "EMPTY_PROMPT", "imagePrompt"),
        ({"visualPrompt": ""}, "EMPTY_PROMPT", "visualPrompt"),
        ({"imagePrompt": "x" * 1001}, "PROMPT_TOO_LONG", "imagePrompt"),
        ({"duration": 1}, "INVALID_DURATION", "duration"),
        ({"duration": 11}, "INVALID_DURATION", "duration"),
        ({"productReferenceImageUrl": "ftp://example.com/a.jpg"}, "INVALID_URL", "productReferenceImageUrl"),
        ({"productReferenceImageUrl": "http://169.254.169.254/latest/meta-data"}, "URL_NOT_ALLOWED",
         "productReferenceImageUrl"),
    ]:  # fmt: skip
        result = await scene(service, made["id"], **fields)
        assert (result["__typename"], result["code"], result["field"]) == ("InvalidInput", code, field), (
            result
        )
    missing = await scene(service, "01a00000-0000-7000-8000-000000000000")
    assert (missing["__typename"], missing["code"]) == ("NotFound", "NOT_FOUND")
    assert (await service.gql(SCENES, {"first": 10}))["data"]["scenes"]["edges"] == []


async def test_scene_resolutions_expose_the_ratio_table_and_resolutions_keep_the_size_presets(
    service: Service,
) -> None:
    data = (await service.gql("{ resolutions sceneResolutions { video image motion default } }"))["data"]
    assert data["resolutions"] == ["1080x1920", "1920x1080", "1080x1080"]
    table = {r["video"]: r["image"] for r in data["sceneResolutions"]}
    assert table == {
        "1280:720": "1920:1080", "720:1280": "1080:1920", "1104:832": "1168:880", "832:1104": "1080:1440",
        "960:960": "1024:1024", "1584:672": "1920:1080", "1280:768": "1920:1080", "768:1280": "1080:1920",
    }  # fmt: skip
    assert [r["video"] for r in data["sceneResolutions"] if r["default"]] == ["720:1280"]
    assert {r["video"]: r["motion"] for r in data["sceneResolutions"]}["768:1280"] == "720:1280"


async def no_job_and_nothing_charged(service: Service, engine: AsyncEngine, balance: int) -> None:
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []
    async with session_factory(engine)() as s:
        assert await ledger.balance(s, "local") == balance
        entries = await ledger.entries(s, user_id="local", limit=10)
    assert all(e.status == "GRANTED" for e in entries)


async def test_create_scene_video_refuses_bad_input_up_front_with_no_job_and_nothing_charged(
    service: Service, engine: AsyncEngine
) -> None:
    async with session_factory(engine).begin() as s:
        await ledger.grant(s, user_id="local", credits=10)
    made = await scenario(service)
    shot = await scene(service, made["id"])
    inline = {"imagePrompt": "A kettle", "visualPrompt": "steam"}
    html = (b"<!doctype html><html><body>Sign in</body></html>", "text/html")
    with MediaServer({"/login.jpg": html, "/kettle.jpg": (jpeg((200, 40, 40)), "image/jpeg")}) as media:
        cases: list[tuple[dict[str, Any], str, str | None]] = [
            ({"sceneId": "01a00000-0000-7000-8000-000000000000"}, "NOT_FOUND", None),
            ({}, "CONFLICTING_INPUTS", "sceneId"),
            ({"sceneId": shot["id"], "scene": inline}, "CONFLICTING_INPUTS", "sceneId"),
            ({"sceneId": shot["id"], "resolution": "1280:720"}, "CONFLICTING_INPUTS", "resolution"),
            ({"scene": {**inline, "imagePrompt": "  "}}, "EMPTY_PROMPT", "scene.imagePrompt"),
            ({"scene": {**inline, "visualPrompt": ""}}, "EMPTY_PROMPT", "scene.visualPrompt"),
            ({"scene": {**inline, "duration": 0}}, "INVALID_DURATION", "scene.duration"),
            ({"scene": {**inline, "duration": 30}}, "INVALID_DURATION", "scene.duration"),
            ({"scene": inline, "resolution": "wide"}, "INVALID_RESOLUTION", "resolution"),
            ({"scene": {**inline, "productReferenceImageUrl": f"{media.url}/login.jpg"}}, "UNSUPPORTED_MEDIA",
             "scene.productReferenceImageUrl"),
            ({"scene": {**inline, "productReferenceImageUrl": f"{media.url}/gone.jpg"}}, "FETCH_FAILED",
             "scene.productReferenceImageUrl"),
            ({"scene": {**inline, "productReferenceImageUrl": "http://169.254.169.254/kettle.jpg"}},
             "URL_NOT_ALLOWED", "scene.productReferenceImageUrl"),
        ]  # fmt: skip
        for fields, code, field in cases:
            result = (await service.gql(VIDEO, {"i": fields}))["data"]["createSceneVideo"]
            assert result["code"] == code, (fields, result)
            if field is not None:
                assert result["field"] == field, (fields, result)
    await no_job_and_nothing_charged(service, engine, 10)


@pytest.fixture
def priced(settings: Settings) -> Settings:
    """Offline providers priced like cloud ones, so the credit checks have something to check."""
    prices = {"generate_image@offline": 2, "generate_scene@offline": 3}
    return settings.model_copy(update={"credit_prices": prices})


async def test_a_balance_that_cannot_cover_the_paid_actions_is_refused_up_front(
    priced: Settings, engine: AsyncEngine
) -> None:
    from tests.service import running_service

    async with session_factory(engine).begin() as s:
        await ledger.grant(s, user_id="local", credits=4)
    async with running_service(priced) as service:
        made = await scenario(service)
        shot = await scene(service, made["id"])
        result = (await service.gql(VIDEO, {"i": {"sceneId": shot["id"]}}))["data"]["createSceneVideo"]
        assert result == {
            "__typename": "InsufficientCredits",
            "code": "INSUFFICIENT_CREDITS",
            "message": "this job's paid actions need 5 credits and the balance is 4",
            "required": 5,
            "balance": 4,
        }
        await no_job_and_nothing_charged(service, engine, 4)
        async with session_factory(engine).begin() as s:
            await ledger.grant(s, user_id="local", credits=1)
        created = (await service.gql(VIDEO, {"i": {"sceneId": shot["id"]}}))["data"]["createSceneVideo"]
        assert created["__typename"] == "Job" and created["kind"] == "SCENE_VIDEO"
        assert [s["name"] for s in created["stages"]] == ["initialize", "scene", "image", "video", "finalize"]


# --- owner-only, with auth on ----------------------------------------------------------------------------


@pytest.fixture
async def users(settings: Settings, engine: AsyncEngine) -> AsyncIterator[dict[str, Service]]:
    """The service with auth on, as alice and as bob see it."""
    from tests.service import running_service

    sessions = session_factory(engine)
    keys = {
        user: await issue_api_key(sessions, user_id=user, name=user, credits=10) for user in ("alice", "bob")
    }
    async with running_service(settings.model_copy(update={"auth_required": True})) as service:
        clients = {
            u: httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {k}"})
            for u, k in keys.items()
        }
        yield {u: dataclasses.replace(service, http=c) for u, c in clients.items()}
        for client in clients.values():
            await client.aclose()


async def test_another_users_scenarios_and_scenes_answer_like_missing_ones(users: dict[str, Service]) -> None:
    alice, bob = users["alice"], users["bob"]
    made = await scenario(alice)
    shot = await scene(alice, made["id"])
    read = await bob.gql(READ, {"scenario": made["id"], "scene": shot["id"]})
    assert {e["extensions"]["code"] for e in read["errors"]} == {"NOT_FOUND"}
    for query, variables, field in [
        (UPDATE_SCENARIO, {"i": {"id": made["id"], "name": "mine now"}}, "updateScenario"),
        (UPDATE_SCENE, {"i": {"id": shot["id"], "duration": 3}}, "updateScene"),
        (SCENE, {"i": {"scenarioId": made["id"], "imagePrompt": "a", "visualPrompt": "b"}}, "createScene"),
        (VIDEO, {"i": {"sceneId": shot["id"]}}, "createSceneVideo"),
    ]:
        result = (await bob.gql(query, variables))["data"][field]
        assert (result["__typename"], result["code"]) == ("NotFound", "NOT_FOUND"), (field, result)
        assert "bob" not in result["message"] and made["name"] not in result["message"]
    listed = await bob.gql(SCENES, {"s": made["id"]})
    assert listed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await bob.gql(LIST, {}))["data"]["scenarios"]["edges"] == []
    assert (await bob.gql(SCENES, {}))["data"]["scenes"]["edges"] == []
    mine = await alice.gql(READ, {"scenario": made["id"], "scene": shot["id"]})
    assert mine["data"]["scenario"]["name"] == "Kettle ad" and mine["data"]["scene"]["duration"] == 5
