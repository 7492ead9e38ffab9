"""Runway's HTTP API (docs.dev.runwayml.com, version 2024-11-06), the part both Runway providers use: start a
task, read it, wait for it, download what it made.

The waiting loop is ours, not the SDK's: the caller keeps the task id the moment `start` returns it, so a
worker that dies while waiting is followed by one that waits for the same task (the SDK's waiter would only
know a task it started itself, and its synchronous one loops for ever on CANCELLED). Requests go through
media.providers.http.send, so 429 and 5xx are retried with backoff like every other vendor's. Runway's output
URLs expire in a day or two: they are downloaded at once, through the safe fetcher like any URL from outside.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from media.errors import MediaError
from media.inputs.fetch import FetchLimits, MediaKind, fetch_to_file
from media.providers.http import TRIES, ProviderError, Sleep, send
from media.providers.task import Progress, TaskFailed
from media.render.images import ALLOWED_FORMATS, probe_image

API_URL = "https://api.dev.runwayml.com"
VERSION = "2024-11-06"
PROVIDER = "Runway"
POLL_SECONDS = 5.0  # Runway: "don't expect updates faster than every 5 seconds"
MAX_WAIT_SECONDS = 900.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_DATA_URI_CHARS = 5 * 1024 * 1024  # what Runway takes inline
_DATA_URI_SIDE = 2048  # images sent inline are scaled to fit this first: plenty for a reference
_TASK_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
# What a task's status says while it is not finished, as the job shows it.
_WAITING = {"PENDING": "waiting at provider", "THROTTLED": "queued at provider"}


@dataclass(frozen=True)
class Task:
    id: str
    status: str  # PENDING, THROTTLED, RUNNING, SUCCEEDED, FAILED, CANCELLED
    progress: float | None = None  # 0..1 while RUNNING
    output: tuple[str, ...] = ()  # URLs, when SUCCEEDED
    failure: str = ""
    failure_code: str = ""


def parse_task(body: Any) -> Task:
    """A task as GET /v1/tasks/{id} documents it; PROVIDER_BAD_RESPONSE for anything else."""
    if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered a task without a status")
    progress = body.get("progress")
    output = body.get("output") or []
    if not isinstance(output, list) or not all(isinstance(url, str) for url in output):
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered a task whose output is not URLs")
    return Task(
        id=str(body.get("id", "")),
        status=body["status"],
        progress=float(progress) if isinstance(progress, int | float) else None,
        output=tuple(output),
        failure=str(body.get("failure") or ""),
        failure_code=str(body.get("failureCode") or ""),
    )


def task_failure(task: Task) -> TaskFailed:
    """Why a FAILED task failed, as a code the job shows. Refused content is never retried (the same input is
    refused again, and the user must change it); Runway's own faults are worth a new task."""
    code, detail = task.failure_code or "no failure code", task.failure or "no reason given"
    if "SAFETY" in code:
        return TaskFailed(
            "CONTENT_REJECTED",
            f"{PROVIDER} refused the content ({code}): {detail}. Change the prompt or the image, then retry",
        )
    if code.startswith("INTERNAL") or code.endswith(".INTERNAL"):
        return TaskFailed("PROVIDER_TASK_FAILED", f"{PROVIDER} failed ({code}): {detail}", retryable=True)
    if code.startswith("ASSET"):
        return TaskFailed("PROVIDER_REJECTED", f"{PROVIDER} could not use the input ({code}): {detail}")
    return TaskFailed("PROVIDER_TASK_FAILED", f"{PROVIDER} failed ({code}): {detail}")


def data_uri(path: Path) -> str:
    """The picture as an inline JPEG data URI under Runway's 5 MB limit (scaled to fit 2048 px first). The
    file is checked like any untrusted image (allow-listed formats, pixel count) before it is decoded."""
    probe_image(path)
    with Image.open(path, formats=ALLOWED_FORMATS) as image:
        image.thumbnail((_DATA_URI_SIDE, _DATA_URI_SIDE))
        rgb = image.convert("RGB")
    for quality in (90, 80, 70, 60, 50):
        out = io.BytesIO()
        rgb.save(out, format="JPEG", quality=quality)
        uri = "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
        if len(uri) <= MAX_DATA_URI_CHARS:
            return uri
    raise MediaError("IMAGE_TOO_LARGE", f"{path.name} does not fit in {MAX_DATA_URI_CHARS} bytes as a JPEG")


class Runway:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        key: str,
        base_url: str = API_URL,
        fetch_limits: FetchLimits | None = None,
        tries: int = TRIES,
        sleep: Sleep = asyncio.sleep,
        poll_seconds: float = POLL_SECONDS,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.http, self._key, self.base_url = http, key, base_url.rstrip("/")
        self.fetch_limits, self._tries, self._sleep = fetch_limits or FetchLimits(), tries, sleep
        self.poll_seconds, self.max_wait_seconds = poll_seconds, max_wait_seconds

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self._key}", "X-Runway-Version": VERSION}
        return self.http.build_request(
            method, f"{self.base_url}{path}", json=body, headers=headers, timeout=TIMEOUT
        )

    async def _json(self, request: httpx.Request) -> Any:
        response = await send(self.http, request, provider=PROVIDER, tries=self._tries, sleep=self._sleep)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered with no JSON") from exc

    async def start(self, endpoint: str, body: dict[str, Any]) -> str:
        """POST /v1/<endpoint>; the new task's id."""
        answer = await self._json(self.request("POST", f"/v1/{endpoint}", body))
        task_id = answer.get("id") if isinstance(answer, Mapping) else None
        if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id):
            raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} started a task without a usable id")
        return task_id

    async def task(self, task_id: str) -> Task:
        if not _TASK_ID.fullmatch(task_id):  # it goes into the URL's path
            raise ValueError(f"{task_id!r} is not a Runway task id")
        return parse_task(await self._json(self.request("GET", f"/v1/tasks/{task_id}")))

    async def wait(self, task_id: str, progress: Progress) -> tuple[str, ...]:
        """The output URLs once the task has SUCCEEDED; TaskFailed when it FAILED or was CANCELLED,
        PROVIDER_TIMEOUT when it is still not done after `max_wait_seconds`."""
        deadline = time.monotonic() + self.max_wait_seconds
        # Bounded in count as well as time, so a sleep that returns at once (tests) cannot spin for ever.
        for poll in range(int(self.max_wait_seconds / max(self.poll_seconds, 1e-3)) + 1):
            if poll:
                await self._sleep(self.poll_seconds)
            task = await self.task(task_id)
            if task.status == "SUCCEEDED":
                if not task.output:
                    raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} finished a task with no output")
                return task.output
            if task.status == "FAILED":
                raise task_failure(task)
            if task.status == "CANCELLED":
                raise TaskFailed("PROVIDER_TASK_CANCELLED", f"{PROVIDER} task {task_id} was cancelled")
            if task.status == "RUNNING":
                share = min(max(task.progress or 0.0, 0.0), 1.0)
                await progress(share, f"generating at provider ({share:.0%})")
            else:
                await progress(0.0, _WAITING.get(task.status, f"{task.status.lower()} at provider"))
            if time.monotonic() >= deadline:
                break
        raise ProviderError(
            "PROVIDER_TIMEOUT", f"{PROVIDER} task {task_id} was not done after {self.max_wait_seconds:g} s"
        )

    async def download(self, url: str, dest: Path, accept: frozenset[MediaKind]) -> Path:
        """An output URL's file at `dest` with the extension its bytes call for."""
        try:
            fetched = await fetch_to_file(self.http, url, dest, accept, self.fetch_limits)
        except MediaError as exc:
            raise MediaError(exc.code, f"{PROVIDER}'s output: {exc.message}") from exc
        final = dest.with_suffix(fetched.extension)
        await asyncio.to_thread(fetched.path.replace, final)
        return final
