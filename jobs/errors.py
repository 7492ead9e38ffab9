"""The two kinds of expected error: input refused before a job exists, and a problem that fails a job."""

from __future__ import annotations

from collections.abc import Sequence


class UserError(Exception):
    """Input refused before anything is queued: a code for programs, a message for people, the offending
    field when there is one (camelCase, as the client wrote it)."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.problems = list(problems)  # (path, message) for every problem, when there are several


class JobError(Exception):
    """A problem that fails the job with a code the user sees (bad input found while working)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
