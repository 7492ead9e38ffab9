"""What a stage is: an async function from a StageCall to a pydantic output, plus a progress weight; and a
pipeline, the stages of a job in order.

A stage gets its inputs (the job's params, earlier stages' outputs), its tools and providers through the
call; it never touches settings, Redis or the database itself. Stages are generic over the params of their
job kind, so a stage reads `call.params` with its own type.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from jobs.money import StageMoney
from jobs.tools import Tools

if TYPE_CHECKING:
    from media.providers.registry import Providers

Out = TypeVar("Out", bound=BaseModel)
T = TypeVar("T")
P = TypeVar("P", bound=BaseModel)
P_co = TypeVar("P_co", bound=BaseModel, covariant=True)
P_contra = TypeVar("P_contra", bound=BaseModel, contravariant=True)


@dataclass(frozen=True)
class StageCall(Generic[P_co]):
    job_id: str
    user_id: str
    params: P_co
    outputs: Mapping[str, BaseModel]
    tools: Tools
    work_dir: Path
    report: Callable[[float, str], Awaitable[None]]  # (fraction of this stage done, message)
    add_artifact: Callable[[str, str, str, int], Awaitable[None]]  # kind, key, content type, bytes
    # Keyed checkpoints of this stage, as saved so far, and how to save them (the stage row).
    checkpoints: dict[str, Any] = field(default_factory=dict)
    save_checkpoints: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    money: StageMoney | None = None  # None outside a job run (tests of a stage alone): nothing is charged
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def providers(self) -> Providers:
        return self.tools.providers

    def paid(
        self, action: str, *, provider: str, item: str | None = None
    ) -> AbstractAsyncContextManager[int]:
        """Credits for one paid action (jobs.money): `async with call.paid("generate_image", provider=...)`
        around the action holds its price, charges it when the block succeeds and gives it back if not."""
        if self.money is None:
            return _free()
        return self.money.paid(action, provider=provider, item=item)

    def output(self, stage: str, kind: type[Out]) -> Out:
        value = self.outputs[stage]
        if not isinstance(value, kind):
            raise TypeError(f"stage {stage!r} produced {type(value).__name__}, not {kind.__name__}")
        return value

    def checkpointed(self, key: str, kind: type[T]) -> T | None:
        """What an earlier run of this stage saved under `key`, or None."""
        raw = self.checkpoints.get(key)
        return None if raw is None else TypeAdapter(kind).validate_python(raw)

    async def checkpoint(self, key: str, value: Any) -> None:
        """Save `value` (JSON-able, or pydantic) under `key` before going on: a rerun of this stage, on this
        worker or another, after a crash or a retryJob, finds it with `checkpointed`."""
        async with self._lock:  # stages that gather several calls save one merged dict at a time
            self.checkpoints[key] = TypeAdapter(type(value)).dump_python(value, mode="json")
            if self.save_checkpoints is not None:
                await self.save_checkpoints(dict(self.checkpoints))

    async def once(self, key: str, make: Callable[[], Awaitable[T]], kind: type[T]) -> T:
        """The value saved under `key`, else make it and save it. For paid work: `make` submits the task and
        returns its id, so a rerun polls the task it already paid for instead of paying again."""
        found = self.checkpointed(key, kind)
        if found is not None:
            return found
        made = await make()
        await self.checkpoint(key, made)
        return made


class Waiting(Exception):  # noqa: N818  (not an error: the stage goes on elsewhere)
    """Raised by a stage whose work runs as other arq jobs (a long render's segments, on `token`'s board):
    the pipeline parks the job, freeing this worker's slot, and jobs.parking wakes it to check on them and
    to run the stage again once they are done."""

    def __init__(self, token: str, parts: int) -> None:
        super().__init__(f"waiting for {parts} parts ({token})")
        self.token = token
        self.parts = parts


@asynccontextmanager
async def _free() -> AsyncIterator[int]:
    yield 0


@dataclass(frozen=True)
class StageSpec(Generic[P_contra]):
    name: str
    run: Callable[[StageCall[P_contra]], Awaitable[BaseModel]]
    output: type[BaseModel]
    weight: float


@dataclass(frozen=True)
class JobResult:
    video_key: str | None = None
    thumbnail_key: str | None = None
    manifest_key: str | None = None


@dataclass(frozen=True)
class Pipeline(Generic[P]):
    params: type[P]
    stages: tuple[StageSpec[P], ...]
    result: Callable[[Mapping[str, BaseModel]], JobResult]

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)
