"""Idempotency keys: a client that is unsure whether its create went through sends it again with the same
key and gets the job the first request made, never a second one. The same key with a different input is
a client bug and gets IDEMPOTENCY_KEY_REUSED."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from resolvers.errors import UserError

FIELD = "idempotencyKey"
_KEY = re.compile(r"[\x21-\x7e]{1,128}")  # fits the column; printable, so it can be logged and shown


def check_key(key: str | None) -> str | None:
    if key is not None and not _KEY.fullmatch(key):
        raise UserError(
            "INVALID_IDEMPOTENCY_KEY",
            f"{FIELD} must be 1 to 128 printable ASCII characters without spaces (a UUID is a good choice)",
            FIELD,
        )
    return key


def input_hash(kind: str, params: Mapping[str, Any], uploads: Mapping[str, str]) -> str:
    """sha256 of the job's canonical input: its params as JSON with sorted keys. Each upload's storage key
    holds this request's fresh job id, so it is replaced by the digest of the upload's content: a replay
    with the same files hashes the same, one with different files does not."""
    canonical = _replace_strings(
        params, lambda value: f"sha256:{uploads[value]}" if value in uploads else value
    )
    body = json.dumps({"kind": kind, "input": canonical}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def reused(key: str, job_id: str) -> UserError:
    return UserError(
        "IDEMPOTENCY_KEY_REUSED",
        f"{FIELD} {key!r} was already used for a different request (job {job_id}); "
        "send a new key with a new request",
        FIELD,
    )


def _replace_strings(value: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, Mapping):
        return {k: _replace_strings(v, replace) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_strings(v, replace) for v in value]
    return value
