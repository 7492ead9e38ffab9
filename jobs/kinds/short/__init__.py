"""The short (createShort): an idea → a vertical, voiced, captioned video with a music bed, every step
stored. Stages by the seed's names: drafting → assets → audio → rendering → ready (after queued, the job's
status while it waits); rendering and ready run the compose → render → store → finalize tail every kind
shares (jobs.kinds.short.finish)."""

from __future__ import annotations

from jobs.kind import Kind
from jobs.kinds.short.assets import AssetsOutput, make_assets
from jobs.kinds.short.audio import AudioOutput, make_audio
from jobs.kinds.short.drafting import DraftOutput, draft
from jobs.kinds.short.finish import ReadyOutput, RenderingOutput, compose, ready, rendering
from jobs.kinds.short.params import ShortParams, intake
from jobs.kinds.short.pictures import paid
from jobs.stage import StageSpec

SHORT = Kind(
    name="SHORT",
    params=ShortParams,
    intake=intake,
    # Weights in proportion to the stages' times offline (bench/short.py), so the bar and the ETA move
    # evenly: the render is ~85 % of the job.
    stages=(
        StageSpec("drafting", draft, DraftOutput, weight=0.1),
        StageSpec("assets", make_assets, AssetsOutput, weight=0.6),
        StageSpec("audio", make_audio, AudioOutput, weight=1.2),
    ),
    compose=compose,
    finish=(
        StageSpec("rendering", rendering, RenderingOutput, weight=12.0),
        StageSpec("ready", ready, ReadyOutput, weight=0.1),
    ),
    paid=paid,
)

__all__ = ["SHORT", "ShortParams"]
