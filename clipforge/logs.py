"""Logging for every process: JSON lines for machines, or a readable console format for people.

Everything logs through the standard library (ours, uvicorn's, arq's); structlog only formats the records.
Its context variables carry `job_id`, `kind`, `stage`, `request_id` and `webhook_id` (bound where they
become known: jobs.pipeline, jobs.delivery, clipforge.request_id), so every line logged while they are
bound has them, whichever library logged it.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from structlog.typing import Processor

Format = Literal["json", "console"]


def default_format() -> Format:
    # A terminal is read by a person; anything else (a file, a pipe, a container's log driver) by a program.
    return "console" if sys.stderr.isatty() else "json"


def configure(level: str = "INFO", fmt: Format | None = None) -> None:
    fmt = fmt or default_format()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        # A traceback is one field of the line, so one error stays one line.
        shared.append(structlog.processors.format_exc_info)
        shared.append(structlog.processors.EventRenamer("message"))
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers keep their own handlers when it configures them; we pass log_config=None, and
    # these make sure a library that did configure them still ends up here, once.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
