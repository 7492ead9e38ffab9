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
from jobs.stage import StageSpec

SHORT = Kind(
    name="SHORT",
    params=ShortParams,
    intake=intake,
    stages=(
        StageSpec("drafting", draft, DraftOutput, weight=0.5),
        StageSpec("assets", make_assets, AssetsOutput, weight=1.5),
        StageSpec("audio", make_audio, AudioOutput, weight=2.0),
    ),
    compose=compose,
    finish=(
        StageSpec("rendering", rendering, RenderingOutput, weight=8.0),
        StageSpec("ready", ready, ReadyOutput, weight=0.3),
    ),
)

__all__ = ["SHORT", "ShortParams"]
