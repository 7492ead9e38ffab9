"""Every job kind's pipeline, by the kind name stored on the job row."""

from __future__ import annotations

from jobs.explainer import EXPLAINER
from jobs.slideshow import SLIDESHOW
from jobs.stage import Pipeline
from jobs.timeline import TIMELINE

PIPELINES: dict[str, Pipeline] = {p.kind: p for p in (SLIDESHOW, TIMELINE, EXPLAINER)}
