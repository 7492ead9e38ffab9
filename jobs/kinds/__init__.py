"""Every job kind, by the name stored on its job rows (and named by the API's JobKind)."""

from __future__ import annotations

from typing import Any

from jobs.kind import Kind
from jobs.kinds.explainer import EXPLAINER
from jobs.kinds.product_ad import PRODUCT_AD
from jobs.kinds.scene_video import SCENE_VIDEO
from jobs.kinds.short import SHORT
from jobs.kinds.slideshow import SLIDESHOW
from jobs.kinds.timeline import TIMELINE

KINDS: dict[str, Kind[Any]] = {
    k.name: k for k in (SLIDESHOW, EXPLAINER, TIMELINE, SCENE_VIDEO, SHORT, PRODUCT_AD)
}
