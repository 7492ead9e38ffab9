"""OpenAI images for `image` scenes: POST /v1/images/generations with a GPT image model.

GPT image models answer with base64 PNG data (`data[0].b64_json`; they take no `response_format`) in one of
three sizes, 1024x1024, 1536x1024 and 1024x1536: we ask for the one closest to the frame's aspect and fit
the picture to the frame (cover, or contain on a blurred fill when far off). The bytes are untrusted input:
size-capped before decoding and opened through media.render.images' allow-listed decoder.
"""

import asyncio
import base64
import binascii
import math
from pathlib import Path

import httpx
from PIL import Image

from media.errors import MediaError
from media.providers.http import TRIES, ProviderError, Sleep, send
from media.providers.meter import record
from media.providers.visual.base import Theme
from media.providers.visual.canvas import check_frame, save_png
from media.render.images import load_fitted
from media.script import Scene

API_URL = "https://api.openai.com/v1"
MODEL = "gpt-image-1"
SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
MAX_IMAGE_BYTES = 32 * 1024 * 1024
# Generation takes tens of seconds at high quality; connecting should not.
TIMEOUT = httpx.Timeout(180.0, connect=10.0)
PROVIDER = "OpenAI images"


def closest_size(width: int, height: int) -> str:
    """The documented size whose aspect is closest to width:height (compared on a log scale, so 2:1 and
    1:2 are equally far from square)."""
    aspect = math.log(width / height)
    best = min(SIZES, key=lambda s: abs(math.log(s[0] / s[1]) - aspect))
    return f"{best[0]}x{best[1]}"


def prompt_of(scene: Scene) -> str:
    prompt = scene.content.strip() or scene.title.strip()
    if not prompt:
        raise MediaError("IMAGE_PROMPT_EMPTY", "an image scene needs a prompt (its content) or a title")
    return prompt


def decode_image(body: object) -> bytes:
    """The PNG bytes from a generations response, or PROVIDER_BAD_RESPONSE."""
    try:
        encoded = body["data"][0]["b64_json"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered without data[0].b64_json") from exc
    if not isinstance(encoded, str) or len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} sent no image or one over the size limit")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError(
            "PROVIDER_BAD_RESPONSE", f"{PROVIDER} sent image data that is not base64"
        ) from exc


def _save_fitted(data: bytes, path: Path, width: int, height: int) -> None:
    raw = path.with_name(f".{path.stem}.download")
    try:
        raw.write_bytes(data)
        pixels = load_fitted(raw, width, height)  # allow-listed formats, pixel count checked first
    finally:
        raw.unlink(missing_ok=True)
    save_png(Image.fromarray(pixels), path)


class OpenAIPainter:
    """A Painter for `image` scenes. `quality` is the model's low|medium|high|auto (cost grows with it)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        key: str,
        model: str = MODEL,
        quality: str = "medium",
        base_url: str = API_URL,
        tries: int = TRIES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http, self._key, self._model, self._quality = http, key, model, quality
        self._url = f"{base_url.rstrip('/')}/images/generations"
        self._tries, self._sleep = tries, sleep

    def request(self, scene: Scene, width: int, height: int) -> httpx.Request:
        body = {
            "model": self._model,
            "prompt": prompt_of(scene),
            "n": 1,
            "size": closest_size(width, height),
            "quality": self._quality,
        }
        headers = {"Authorization": f"Bearer {self._key}"}
        return self._http.build_request("POST", self._url, json=body, headers=headers, timeout=TIMEOUT)

    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        request = self.request(scene, width, height)
        response = await send(self._http, request, provider=PROVIDER, tries=self._tries, sleep=self._sleep)
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered with no JSON") from exc
        data = decode_image(body)
        await record("openai", f"{self._model}:image:{self._quality}", 1)
        path = dest.with_suffix(".png")
        await asyncio.to_thread(_save_fitted, data, path, width, height)
        return path
