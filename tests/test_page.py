"""The web page at / in a real headless Chromium, against a real API and a real worker process."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from clipforge.settings import Settings
from tests.browser import PageErrors, chromium, open_page, screenshot_dir
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service
from tests.workers import worker_processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

JOB = "query($id: ID!) { job(id: $id) { status error { code message } artifacts { kind } } }"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The page is a client of the API: which database the API uses is covered by the API's own tests.
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # 25 fps: a render long enough for the bar to be seen between 1 and 99 % several times
    return settings.model_copy(update={"render_fps": 25})


def image_files(count: int) -> list[dict[str, Any]]:
    return [
        {"name": f"photo-{i}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(COLOURS[i % len(COLOURS)])}
        for i in range(count)
    ]


async def create_slideshow(page: Page, images: int, seconds_per_image: float, audio_seconds: float) -> str:
    await page.select_option("#kind", "slideshow")
    await page.set_input_files('input[name="images"]', image_files(images))
    await page.set_input_files(
        'input[name="audio"]', {"name": "song.wav", "mimeType": "audio/wav", "buffer": wav(audio_seconds)}
    )
    await page.fill('input[name="size"]', "1080x1920")
    await page.fill('input[name="secondsPerImage"]', str(seconds_per_image))
    await page.click("#submit")
    await page.wait_for_selector("#form-result.created", timeout=30_000)
    await page.evaluate("window.scrollTo(0, 0)")
    job_id = await page.get_attribute("#form-result", "data-job-id")
    assert job_id
    return job_id


async def wait_for_status(page: Page, job_id: str, statuses: set[str], within: float = 60) -> str:
    card = page.locator(f'article.job[data-id="{job_id}"]')
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await card.get_attribute("data-status")
        if status in statuses:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {statuses} in {within} s (it is {status})")


async def test_the_page_makes_a_slideshow_from_uploads_shows_its_progress_live_and_plays_it(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    async with worker_processes(settings, 1, tmp_path), chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        errors = PageErrors(page)
        await open_page(page, service.url)
        job_id = await create_slideshow(page, images=3, seconds_per_image=6, audio_seconds=20)
        card = page.locator(f'article.job[data-id="{job_id}"]')
        bar = card.locator(".bar")
        samples: list[tuple[float, str]] = []
        shot_taken = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # ~10 samples a second, at most 2 minutes
            value = float(await bar.get_attribute("aria-valuenow") or 0)
            text = await card.locator(".progress-text").inner_text()
            samples.append((value, text))
            if 30 <= value <= 70 and not shot_taken:
                await page.screenshot(path=shots / "page-progress.png", full_page=True)
                shot_taken = True
            if await card.get_attribute("data-status") in ("COMPLETED", "FAILED"):
                break
            await asyncio.sleep(0.1)
        status = await card.get_attribute("data-status")
        assert status == "COMPLETED", (status, await card.inner_text())
        between = sorted({v for v, _ in samples if 1 <= v <= 99})
        assert len(between) >= 3, samples  # the bar moved while the job ran, not just at its end
        assert float(await bar.get_attribute("aria-valuenow") or 0) == 100
        moving = [t for v, t in samples if 1 <= v <= 99]
        assert any(re.search(r"render \d+/\d+ · \d+ % · ETA \d+:\d\d", t) for t in moving), moving

        video = card.locator("video")
        await video.wait_for(timeout=20_000)
        await video.evaluate("v => { v.muted = true; return v.play(); }")
        state: dict[str, float] = {}
        for _ in range(100):  # 10 s at most
            state = await video.evaluate(
                "v => ({readyState: v.readyState, duration: v.duration, currentTime: v.currentTime})"
            )
            if state["readyState"] >= 2 and state["currentTime"] > 0.3:
                break
            await asyncio.sleep(0.1)
        assert state["readyState"] >= 2 and state["duration"] > 0, state
        assert abs(state["duration"] - 18.0) < 0.2, state  # 3 images x 6 s
        assert state["currentTime"] > 0.3, state  # it plays

        await card.locator("details.artifacts summary").click()
        links = card.locator("details.artifacts a")
        kinds = sorted(await links.all_inner_texts())
        answer = await service.gql(JOB, {"id": job_id})
        assert kinds == sorted(a["kind"] for a in answer["data"]["job"]["artifacts"])
        assert "manifest" in kinds
        async with httpx.AsyncClient() as http:  # the links open (signed URLs)
            for href in [await links.nth(i).get_attribute("href") for i in range(await links.count())]:
                assert href and (await http.get(href)).status_code == 200
        await page.screenshot(path=shots / "page-completed.png", full_page=True)
        assert not errors.errors


async def test_cancel_and_retry_from_the_page_and_errors_shown_with_their_codes(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    with MediaServer({}) as media:
        async with worker_processes(settings, 1, tmp_path), chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors = PageErrors(page)
            await open_page(page, service.url)

            # refused before anything is queued: the code and message, as the API gives them
            await page.select_option("#kind", "slideshow")
            await page.click("#submit")
            await page.wait_for_selector("#form-result.refused")
            refused = await page.inner_text("#form-result")
            assert refused.startswith("INVALID_IMAGE_COUNT: a slideshow needs 1 to"), refused

            # a job that fails: its error code and message on its card
            await page.fill('textarea[name="imageUrls"]', f"{media.url}/missing.jpg")
            await page.click("#submit")
            await page.wait_for_selector("#form-result.created")
            failed_id = await page.get_attribute("#form-result", "data-job-id")
            assert failed_id
            await wait_for_status(page, failed_id, {"FAILED"})
            shown = page.locator(f'article.job[data-id="{failed_id}"] .error')
            await shown.wait_for()
            failure = (await service.gql(JOB, {"id": failed_id}))["data"]["job"]["error"]
            assert await shown.locator("code").inner_text() == failure["code"] == "FETCH_FAILED"
            assert failure["message"] in await shown.inner_text()
            await page.fill('textarea[name="imageUrls"]', "")

            # a long job, cancelled while it renders, then retried, then cancelled again
            job_id = await create_slideshow(page, images=4, seconds_per_image=30, audio_seconds=5)
            card = page.locator(f'article.job[data-id="{job_id}"]')
            await wait_for_status(page, job_id, {"PROCESSING"})
            for _ in range(300):  # until the render has begun, 30 s at most
                if float(await card.locator(".bar").get_attribute("aria-valuenow") or 0) > 1:
                    break
                await asyncio.sleep(0.1)
            await card.locator("button.cancel").click()
            await wait_for_status(page, job_id, {"CANCELLED"}, within=20)
            assert (await service.gql(JOB, {"id": job_id}))["data"]["job"]["status"] == "CANCELLED"
            assert await card.locator("button.cancel").is_hidden()
            await page.screenshot(path=shots / "page-cancelled.png", full_page=True)

            await card.locator("button.retry").click()
            await wait_for_status(page, job_id, {"QUEUED", "PROCESSING"}, within=20)
            assert (await service.gql(JOB, {"id": job_id}))["data"]["job"]["status"] in (
                "QUEUED",
                "PROCESSING",
            )
            await card.locator("button.cancel").click()
            await wait_for_status(page, job_id, {"CANCELLED"}, within=20)
            assert not errors.errors
