"""ProgressEvent: what every subscriber sees. Built from the job row alone, so a snapshot and a live event
are the same thing and `seq` orders them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from db.repo import aware
from db.tables import TERMINAL, Job


@dataclass(frozen=True)
class ProgressEvent:
    job_id: str
    user_id: str
    seq: int
    status: str
    stage: str | None
    stage_index: int
    stage_count: int
    progress: float
    message: str
    eta_seconds: float | None
    at: datetime

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ProgressEvent:
        data = json.loads(raw)
        data["at"] = datetime.fromisoformat(data["at"])
        return cls(**data)


def event_from_job(job: Job) -> ProgressEvent:
    return ProgressEvent(
        job_id=job.id,
        user_id=job.user_id,
        seq=job.seq,
        status=job.status,
        stage=job.stage,
        stage_index=job.stage_index,
        stage_count=job.stage_count,
        progress=round(job.progress, 2),
        message=job.message,
        eta_seconds=job.eta_seconds,
        at=aware(job.updated_at),
    )
