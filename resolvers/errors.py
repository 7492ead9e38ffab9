"""Expected errors: a code for programs, a message for people, the offending field when there is one."""

from __future__ import annotations

from collections.abc import Sequence


class UserError(Exception):
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


class NotFound(UserError):
    def __init__(self, what: str, ident: str) -> None:
        # Another user's id gets exactly this answer too: existence is not leaked.
        super().__init__("NOT_FOUND", f"{what} {ident!r} was not found")
