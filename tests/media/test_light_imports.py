"""The API process imports these media modules (through the job kinds' declarations) and must not load PyAV,
OpenCV or numpy: they cost it memory and start-up time, and decoding belongs in the render child. Each module
is imported in a fresh interpreter, since this one has long since loaded all three."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import media.kinds.ad
import media.storage
import media.timeline

HEAVY = ("av", "cv2", "numpy")
ROOT = Path(__file__).resolve().parents[2]

LIGHT = [
    "media.errors",
    "media.script",
    "media.render.child",
    "media.render.result",
    "media.render.subtitles",
    "media.render.layout",
    "media.kinds.slideshow",
    "media.kinds.explainer",
    "media.kinds.short",
    "media.kinds.short_look",
    "media.storyboard",
    "media.providers.story.offline",
    "media.providers.story.llm",
    "media.inputs.fetch",
    "media.providers.voice.base",
    "media.providers.voice.catalog",
    "media.providers.script.base",
    "media.providers.visual.base",
    # every module of these packages, including ones added later
    *(f"media.timeline.{m.name}" for m in pkgutil.iter_modules(media.timeline.__path__)),
    *(f"media.storage.{m.name}" for m in pkgutil.iter_modules(media.storage.__path__)),
    # the product ad's parts: the API lists its styles and measures its call to action
    *(f"media.kinds.ad.{m.name}" for m in pkgutil.iter_modules(media.kinds.ad.__path__)),
]


def heavy_modules_after_importing(module: str) -> list[str]:
    code = f"import json, sys, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", LIGHT)
def test_module_imports_without_av_cv2_or_numpy(module: str) -> None:
    assert heavy_modules_after_importing(module) == []


def test_the_check_sees_a_heavy_import() -> None:
    assert heavy_modules_after_importing("media.render.engine") == list(HEAVY)
