"""The web page's forms come from the schema, and with auth on it asks for an API key once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.make.kinds import local_schema
from clipforge.settings import Settings
from db.engine import session_factory
from jobs.bus import publish
from jobs.events import ProgressEvent
from resolvers.auth import issue_api_key
from tests.browser import PageErrors, chromium, open_page, screenshot_dir
from tests.schema_sample import EXPECTED_FILES, EXPECTED_INPUT, SAMPLE
from tests.service import Service

pytestmark = pytest.mark.timeout(180)

KIND_COUNT = '{ __type(name: "JobKind") { enumValues { name } } }'

FILL_SAMPLE = """async (sample) => {
  const { SchemaModel, InputForm, FormError } = await import("/ui/forms.js");
  const model = new SchemaModel(sample);
  const form = new InputForm(model, model.kinds[0].inputType, {});
  document.body.append(form.root);
  const field = (name) => form.root.querySelector(`[name="${name}"]`);
  const files = (name, count) => {
    const dt = new DataTransfer();
    for (let i = 0; i < count; i++) dt.items.add(new File(["x"], `f${i}.png`, { type: "image/png" }));
    field(name).files = dt.files;
  };
  field("productName").value = "Aurora Lamp";
  field("style").value = "BOLD";
  field("sceneId").value = "scene-1";
  field("scene.imagePrompt").value = "a lamp on a desk";
  files("scene.productReferenceImage", 1);
  field("tags").value = "warm\\n\\n desk \\n";
  files("photos", 2);
  field("storyboard").value = '{"scenes": [{"text": "hi"}]}';
  field("captions").checked = false;
  const collected = form.collect();
  field("storyboard").value = "{not json";
  let refused = null;
  try { form.collect(); } catch (err) { refused = err instanceof FormError ? err.path : String(err); }
  return {
    kinds: model.kinds,
    input: collected.input,
    files: collected.files.map((f) => f.path).sort(),
    refused,
    automatic: field("idempotencyKey") === null,
  };
}"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def test_a_form_for_every_kind_the_schema_has_and_for_shapes_still_to_come(service: Service) -> None:
    expected = [k.id for k in local_schema().kinds]
    job_kinds = (await service.gql(KIND_COUNT))["data"]["__type"]["enumValues"]
    assert len(expected) == len(job_kinds)  # every kind of job has its create mutation, and a form
    async with chromium() as browser:
        page = await browser.new_page()
        errors = PageErrors(page)
        await page.goto(service.url + "/")
        await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
        assert (await page.get_attribute("body", "data-kinds") or "").split() == expected
        schema = local_schema()
        for kind in schema.kinds:
            await page.select_option("#kind", kind.id)
            for f in schema.input_fields(kind.input_type):
                if f.name != "idempotencyKey":
                    assert await page.locator(f'#fields [data-field="{f.name}"]').count() == 1, (kind, f)

        sample: dict[str, Any] = await page.evaluate(FILL_SAMPLE, SAMPLE)
        assert [(k["id"], k["mutation"], k["argType"]) for k in sample["kinds"]] == [
            ("product-ad", "createProductAd", "ProductAdInput!")
        ]
        assert sample["input"] == EXPECTED_INPUT
        assert sample["files"] == sorted(EXPECTED_FILES)
        assert sample["refused"] == "storyboard"
        assert sample["automatic"]  # the page makes idempotency keys itself
        assert not errors.errors


class TestWithAuth:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"auth_required": True})

    async def test_with_auth_on_the_page_asks_for_a_key_once_and_says_clearly_when_it_is_refused(
        self, service: Service, engine: AsyncEngine, tmp_path: Path
    ) -> None:
        key = await issue_api_key(session_factory(engine), user_id="alice", name="Alice")
        bob = await issue_api_key(session_factory(engine), user_id="bob", name="Bob")
        create = 'mutation { createExplainer(input: {sourceText: "Hello there."}) { ... on Job { id } } }'
        mine = await service.http.post(
            f"{service.url}/graphql", json={"query": create}, headers={"Authorization": f"Bearer {key}"}
        )
        theirs = await service.http.post(
            f"{service.url}/graphql", json={"query": create}, headers={"Authorization": f"Bearer {bob}"}
        )
        my_job = mine.json()["data"]["createExplainer"]["id"]
        their_job = theirs.json()["data"]["createExplainer"]["id"]
        shots = screenshot_dir(tmp_path)
        async with chromium() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            errors = PageErrors(page)
            await page.goto(service.url + "/")
            await page.wait_for_selector("#auth:not([hidden])")
            assert "requires an API key (401 Unauthorized)" in await page.inner_text("#auth-message")

            await page.fill("#api-key", "cf_not-a-key")
            await page.click("#auth-form button[type=submit]")
            # a locator, not wait_for_function: the page's CSP (no eval) refuses Playwright's predicates
            await page.locator("#auth-message", has_text="unknown or revoked").wait_for()
            assert "401 Unauthorized" in await page.inner_text("#auth-message")
            await page.screenshot(path=shots / "page-401.png")

            await page.fill("#api-key", key)
            await page.click("#auth-form button[type=submit]")
            await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            await page.wait_for_selector(f'article.job[data-id="{my_job}"]')
            await page.wait_for_selector("#live[data-state=open]")
            assert await page.is_hidden("#auth")
            assert await page.locator(f'article.job[data-id="{their_job}"]').count() == 0
            assert await page.evaluate("localStorage.getItem('clipforge.apiKey')") == key

            await page.reload()  # kept: no second prompt
            await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            await page.wait_for_selector(f'article.job[data-id="{my_job}"]')
            await page.wait_for_selector("#live[data-state=open]")
            assert await page.is_hidden("#auth")
            assert not errors.errors


async def test_an_event_for_a_job_the_api_does_not_show_makes_no_card(service: Service, redis: Redis) -> None:
    """Redis pub/sub is one namespace per server, whatever the db number: a deployment sharing the server
    (another suite running here too) publishes events for its own "local" user. The row decides."""
    stray = str(uuid.uuid4())
    create = 'mutation { createExplainer(input: {sourceText: "Hello there."}) { ... on Job { id } } }'
    async with chromium() as browser:
        page = await browser.new_page()
        errors = PageErrors(page)
        await open_page(page, service.url)
        await page.wait_for_selector("#live[data-state=open]")
        event = ProgressEvent(
            job_id=stray, user_id="local", seq=5, status="PROCESSING", stage="render", stage_index=2,
            stage_count=5, progress=40.0, message="", eta_seconds=3.0, at=datetime.now(UTC),
        )  # fmt: skip
        await publish(redis, event)
        real = (await service.gql(create))["data"]["createExplainer"]["id"]
        await page.wait_for_selector(f'article.job[data-id="{real}"]')  # created after the stray event
        await asyncio.sleep(0.5)
        assert await page.locator(f'article.job[data-id="{stray}"]').count() == 0
        assert not errors.errors
