"""drafting: the idea → its expansion (unless `expand` is off) → the storyboard, stored as the `storyboard`
artifact. On the language model when one is configured (its answers checked, corrected once, then
SCRIPT_INVALID), else by the offline rules. A storyboard the user gave is stored as given: nothing is
written or asked."""

from __future__ import annotations

from pydantic import BaseModel

from jobs.kinds.short.params import ShortParams
from jobs.stage import StageCall
from media.providers.llm.base import answer
from media.providers.story import offline
from media.providers.story.llm import expansion_ask, storyboard_ask
from media.storage.placement import artifact_key
from media.storyboard import Expansion, Storyboard


class DraftOutput(BaseModel):
    storyboard: Storyboard
    key: str
    tone: str
    expansion: Expansion | None = None
    written_by: str  # "user", "offline", or the language model's provider


async def draft(call: StageCall[ShortParams]) -> DraftOutput:
    params = call.params
    storage = call.tools.storage
    if params.storyboard is not None:
        board, plan, by = params.storyboard, None, "user"
        said = " ".join([board.title, *(s.narration for s in board.scenes)])
        tone = params.tone or offline.guess_tone(said)
    else:
        plan = await call.once("expansion", lambda: expand(call), Expansion) if params.expand else None
        board = await call.once("storyboard", lambda: write(call, plan), Storyboard)
        llm = call.providers.llm
        by = llm.provider if llm is not None else "offline"
        tone = params.tone or (plan.tone if plan else offline.guess_tone(params.idea or ""))
    if plan is not None:
        key = artifact_key(call.job_id, "expansion", "expansion.json")
        body = plan.model_dump_json(by_alias=True, indent=2).encode()
        await call.add_artifact(
            "expansion", key, "application/json", await storage.put_bytes(key, body, "application/json")
        )
    key = artifact_key(call.job_id, "storyboard", "storyboard.json")
    body = board.model_dump_json(by_alias=True, indent=2).encode()
    await call.add_artifact(
        "storyboard", key, "application/json", await storage.put_bytes(key, body, "application/json")
    )
    await call.report(1.0, f"{len(board.scenes)} scenes, {board.seconds:g} s")
    return DraftOutput(storyboard=board, key=key, tone=tone, expansion=plan, written_by=by)


async def expand(call: StageCall[ShortParams]) -> Expansion:
    p = call.params
    idea = p.idea or ""
    if call.providers.llm is None:
        return offline.expand(idea, tone=p.tone, format=p.format, audience=p.audience, language=p.language)
    ask = expansion_ask(idea, tone=p.tone, format=p.format, audience=p.audience, language=p.language)
    return await answer(call.providers.llm, ask)


async def write(call: StageCall[ShortParams], plan: Expansion | None) -> Storyboard:
    p = call.params
    idea, scenes = p.idea or "", len(p.images)
    if call.providers.llm is not None:
        ask = storyboard_ask(idea, plan, seconds=p.duration_seconds, language=p.language, min_scenes=scenes)
        return await answer(call.providers.llm, ask)
    # Offline, without an expansion asked for, the writer still needs a plan: the rules' own, from the
    # idea and what the user chose (no hooks or outline of anyone else's).
    plan = plan or offline.expand(
        idea, tone=p.tone, format=p.format, audience=p.audience, language=p.language
    )
    return offline.write_storyboard(
        idea, plan, seconds=p.duration_seconds, language=p.language, min_scenes=scenes
    )
