"""Debian's chromium (apt-get install chromium), driven by Playwright for Python: Playwright cannot download
its own browser here, so it is pointed at the system one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("CLIPFORGE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",  # tests run as root, where chromium's sandbox refuses to start
    "--disable-dev-shm-usage",  # a small /dev/shm must not crash the renderer
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",  # the test presses play without a user gesture
]


def installed() -> bool:
    return Path(CHROMIUM).exists()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not installed():
        reason = f"no browser at {CHROMIUM}: apt-get install chromium (or set CLIPFORGE_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # .ci/run installs it: missing there is a broken CI, not a skip
        pytest.skip(reason)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """CLIPFORGE_SCREENSHOTS keeps them where a person can look at them; else the test's tmp dir."""
    folder = Path(os.environ.get("CLIPFORGE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class PageErrors:
    """Uncaught errors in the page's scripts: a test fails on any."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))


async def open_page(page: Page, base_url: str) -> None:
    """The page, once it has read the schema, built its forms and subscribed to updates."""
    await page.goto(base_url + "/")
    await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
