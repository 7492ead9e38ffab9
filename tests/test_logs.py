"""Log lines as a process writes them (a real child process, its real stderr): JSON objects, one a line, with
the job, stage, kind and request bound where they are known; a console format for a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

SNIPPET = """
import logging, sys
from structlog.contextvars import bound_contextvars
from clipforge.logs import configure
configure("INFO", None if sys.argv[1] == "default" else sys.argv[1])
log = logging.getLogger("jobs.pipeline")
with bound_contextvars(job_id="j-1", kind="SLIDESHOW"):
    with bound_contextvars(stage="render"):
        log.info("stage %s done in %.2f s", "render", 1.5)
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("job %s failed", "j-1")
with bound_contextvars(request_id="req-7"):
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "POST", "/graphql", "1.1", 200)
logging.getLogger("arq.worker").info("no context here")
"""


def run(fmt: str, *, stderr: int | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, fmt],
        stderr=stderr or subprocess.PIPE,
        stdout=subprocess.PIPE,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return (done.stderr or b"").decode()


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_carry_the_context_they_were_logged_in() -> None:
    for fmt in ("json", "default"):  # stderr is a pipe here, so the default is JSON too
        stage, failed, access, bare = lines_of(run(fmt))
        assert stage["message"] == "stage render done in 1.50 s"
        assert (stage["job_id"], stage["kind"], stage["stage"]) == ("j-1", "SLIDESHOW", "render")
        assert (
            stage["level"] == "info"
            and stage["logger"] == "jobs.pipeline"
            and stage["timestamp"].endswith("Z")
        )
        # A traceback is a field of its line: one error, one line.
        assert failed["level"] == "error" and "stage" not in failed and failed["job_id"] == "j-1"
        assert "ZeroDivisionError" in failed["exception"] and "Traceback" in failed["exception"]
        assert access["request_id"] == "req-7" and access["logger"] == "uvicorn.access"
        assert access["message"] == '127.0.0.1:1 - "POST /graphql HTTP/1.1" 200'
        assert not {"job_id", "kind", "stage", "request_id"} & set(bare)


def test_a_terminal_gets_the_console_format() -> None:
    primary, replica = os.openpty()
    try:
        run("default", stderr=replica)
        os.close(replica)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the writer is gone and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    text = b"".join(chunks).decode()
    assert "stage render done in 1.50 s" in text and "job_id" in text and "j-1" in text
    assert not text.lstrip().startswith("{")
    assert "ZeroDivisionError" in text
