"""A product ad written by Anthropic and voiced by OpenAI, both played by a local HTTP server answering in the
shapes their APIs document (with the usage they report): every stage's cost is checked against the price
table by hand; the photo reaches the model as an image block; a line the voice makes too long for its scene
lengthens that scene within the 30 s, and lines too long for any 30 s fail the job with VOICE_TOO_LONG."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from tests.conftest import free_port
from tests.media.providers.speech_fakes import mp3_bytes, speech_like
from tests.media.providers.test_writer_clients import anthropic_answer
from tests.service import Service, running_service
from tests.test_product_ad_e2e import CREATE, product_png

pytestmark = pytest.mark.slow  # real renders through a real worker

LINES = [
    "Cold hands, warm heart.",  # 23 characters
    "Steel walls keep your drink icy all day.",  # 40
    "Light enough for the longest trail.",  # 35
    "Aurora Bottle. Shop now.",  # 24
]
SLOW = "slowly"  # a line with this word is spoken (by the fake voice) for SLOW_SECONDS
SLOW_SECONDS, NORMAL_SECONDS = 11.0, 3.0
INPUT_TOKENS, OUTPUT_TOKENS = 2345, 456


def script(lines: list[str]) -> dict[str, Any]:
    return {
        "hook": "Cold hands, warm heart.",
        "scenes": [
            {"headline": f"Scene {k + 1}", "feature": "", "voiceover": line} for k, line in enumerate(lines)
        ],
        "cta": "Shop now",
    }


class Vendors:
    """Anthropic's POST /v1/messages and OpenAI's POST /v1/audio/speech on 127.0.0.1."""

    def __init__(self, lines: list[str]) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        answer = anthropic_answer(script(lines))
        answer["content"][0]["name"] = "write_ad_script"
        answer["usage"] = {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}
        message = json.dumps(answer).encode()
        audio = {s: mp3_bytes(speech_like(s)) for s in (SLOW_SECONDS, NORMAL_SECONDS)}
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                seen.append((self.path, body))
                if self.path == "/v1/messages":
                    payload, kind = message, "application/json"
                else:
                    payload = audio[SLOW_SECONDS if SLOW in body["input"] else NORMAL_SECONDS]
                    kind = "audio/mpeg"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def vendors(request: pytest.FixtureRequest) -> Iterator[Vendors]:
    fake = Vendors(getattr(request, "param", LINES))
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


QUERY = """query($id: ID!) { job(id: $id) { status costUsd creditsCharged error { code message }
  stages { name status costUsd } artifacts { kind url } } }"""


async def run_ad(service: Service, vendors: Vendors) -> tuple[dict[str, Any], str]:
    changes = {
        "llm_provider": "anthropic",
        "anthropic_api_key": SecretStr("sk-ant-test"),
        "anthropic_base_url": vendors.url,
        "tts_provider": "openai",
        "openai_api_key": SecretStr("sk-test"),
        "openai_base_url": f"{vendors.url}/v1",
        "port": free_port(),
    }
    values = {"productName": "Aurora Bottle", "style": "MINIMAL", "ctaText": "Shop now", "preview": True}
    async with running_service(service.settings.model_copy(update=changes)) as svc:
        created = await svc.gql(CREATE, {"input": {**values, "productImage": None}},
                                files={"variables.input.productImage": product_png()})  # fmt: skip
        job_id = created["data"]["createProductAd"]["id"]
        await svc.drain_queue()
        job = (await svc.gql(QUERY, {"id": job_id}))["data"]["job"]
        manifest = next((a["url"] for a in job["artifacts"] if a["kind"] == "manifest"), None)
        text = (await svc.http.get(manifest)).text if manifest else ""
    return job, text


@pytest.mark.timeout(240)
async def test_each_stage_costs_what_the_price_table_says_for_what_the_vendors_report(
    service: Service, vendors: Vendors
) -> None:
    job, _ = await run_ad(service, vendors)
    assert job["status"] == "COMPLETED", job
    # By hand, from media/providers/prices.py:
    # script: claude-sonnet-4-5, $3 per 1M tokens in and $15 per 1M out: 2345 * 3e-6 + 456 * 15e-6
    #         = 0.007035 + 0.00684 = $0.013875
    # voice:  gpt-4o-mini-tts, $15 per 1M characters: 23 + 40 + 35 + 24 = 122 characters = $0.00183
    # visuals, compose, render, store, finalize: drawn and rendered here, $0
    costs = {s["name"]: s["costUsd"] for s in job["stages"]}
    assert costs["script"] == pytest.approx(0.013875, abs=1e-9)
    assert costs["voice"] == pytest.approx(0.00183, abs=1e-9)
    assert {costs[n] for n in ("visuals", "compose", "render", "store", "finalize")} == {0}
    assert job["costUsd"] == pytest.approx(0.015705, abs=1e-9)
    assert job["creditsCharged"] == 0
    assert [len(line) for line in LINES] == [23, 40, 35, 24]
    # The model saw the photo: an image block of the uploaded product before the brief.
    (messages,) = [body for path, body in vendors.requests if path == "/v1/messages"]
    blocks = messages["messages"][0]["content"]
    assert blocks[0]["type"] == "image" and blocks[0]["source"]["media_type"] == "image/png"
    assert base64.b64decode(blocks[0]["source"]["data"]).startswith(b"\x89PNG")
    assert blocks[1]["type"] == "text" and "Aurora Bottle" in blocks[1]["text"]
    spoken = sorted(body["input"] for path, body in vendors.requests if path == "/v1/audio/speech")
    assert spoken == sorted(LINES)


@pytest.mark.parametrize("vendors", [[LINES[0], f"Say it {SLOW}, all day long.", *LINES[2:]]], indirect=True)
@pytest.mark.timeout(240)
async def test_a_line_too_long_for_its_scene_lengthens_it_within_the_30_seconds(
    service: Service, vendors: Vendors
) -> None:
    job, manifest = await run_ad(service, vendors)
    assert job["status"] == "COMPLETED", job
    timeline = json.loads(manifest)
    narration = [c for c in timeline["audio"][0]["clips"] if c["role"] == "narration"]
    starts = [c["start"] for c in narration]
    # MINIMAL plans 7.5 s a scene; the 11 s line needs 11.6 s with its pauses, taken from the other three.
    assert starts[2] - starts[1] >= SLOW_SECONDS + 0.6 - 1e-6
    assert timeline["output"]["duration"] == 30.0
    assert 30.0 - (starts[3] - 0.3) >= 3.0  # the end card still holds for at least 3 s


@pytest.mark.parametrize("vendors", [[f"{line} {SLOW}" for line in LINES]], indirect=True)
@pytest.mark.timeout(240)
async def test_lines_too_long_for_any_30_second_ad_fail_the_job_with_voice_too_long(
    service: Service, vendors: Vendors
) -> None:
    job, _ = await run_ad(service, vendors)
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "VOICE_TOO_LONG" and "30 s" in job["error"]["message"], job["error"]
    stages = {s["name"]: s["status"] for s in job["stages"]}
    assert stages["script"] == "DONE" and stages["voice"] == "FAILED" and stages["render"] == "PENDING"
