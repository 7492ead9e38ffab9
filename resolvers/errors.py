"""Expected errors of the API: a refused input (UserError, shared with the job kinds' input checks) and a
missing object."""

from __future__ import annotations

from jobs.errors import UserError

__all__ = ["NotFound", "UserError"]


class NotFound(UserError):
    def __init__(self, what: str, ident: str) -> None:
        # Another user's id gets exactly this answer too: existence is not leaked.
        super().__init__("NOT_FOUND", f"{what} {ident!r} was not found")
