"""Cloud providers failing for real: the worker's OpenAI clients pointed (CLIPFORGE_OPENAI_BASE_URL) at a
local server that answers 500 or 429. Each call is tried three times, then the job fails with a code; nothing
hangs and no silent video is made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from tests.conftest import free_port
from tests.service import Service, running_service
from tests.test_explainer_e2e import CREATE, DONE

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

TEXT = "Caches keep answers close. They make slow work happen once."


class BrokenOpenAI:
    """Answers every POST with `status` and OpenAI's documented error body; counts requests per path."""

    def __init__(self, status: int) -> None:
        self.calls: dict[str, int] = {}
        calls, lock = self.calls, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    calls[self.path] = calls.get(self.path, 0) + 1
                body = json.dumps({"error": {"message": "The server had an error", "type": "server_error"}})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def broken_openai(request: pytest.FixtureRequest) -> Iterator[BrokenOpenAI]:
    fake = BrokenOpenAI(request.param)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.mark.parametrize("broken_openai", [500], indirect=True)
async def test_a_voice_provider_failing_three_times_fails_the_job_instead_of_making_a_silent_video(
    service: Service, broken_openai: BrokenOpenAI
) -> None:
    changes = {
        "tts_provider": "openai",
        "openai_api_key": SecretStr("sk-test"),
        "openai_base_url": broken_openai.url,
        "port": free_port(),
    }
    async with running_service(service.settings.model_copy(update=changes)) as svc:
        created = (await svc.gql(CREATE, {"input": {"sourceText": TEXT, "maxScenes": 1}}))["data"]
        job_id = created["createExplainer"]["id"]
        await svc.drain_queue()
        job = (await svc.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "FAILED" and job["videoUrl"] is None, job
    assert job["error"]["code"] == "PROVIDER_UNAVAILABLE" and "narration" in job["error"]["message"]
    assert [s["status"] for s in job["stages"][:2]] == ["DONE", "FAILED"]  # the script was written
    assert broken_openai.calls == {"/v1/audio/speech": 3}


@pytest.mark.parametrize("broken_openai", [429], indirect=True)
async def test_a_script_writer_rate_limited_three_times_fails_the_job_at_the_script_stage(
    service: Service, broken_openai: BrokenOpenAI
) -> None:
    changes = {
        "llm_provider": "openai",
        "openai_api_key": SecretStr("sk-test"),
        "openai_base_url": broken_openai.url,
        "port": free_port(),
    }
    async with running_service(service.settings.model_copy(update=changes)) as svc:
        created = (await svc.gql(CREATE, {"input": {"sourceText": TEXT}}))["data"]
        job_id = created["createExplainer"]["id"]
        await svc.drain_queue()
        job = (await svc.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "PROVIDER_RATE_LIMITED"
    assert job["stages"][0]["status"] == "FAILED"
    assert broken_openai.calls == {"/v1/chat/completions": 3}
