"""Expected errors of the API: a refused input (UserError, shared with the job kinds' input checks) and a
missing object."""

from __future__ import annotations

from jobs.errors import UserError

__all__ = ["InsufficientCredits", "NotFound", "UserError"]


class NotFound(UserError):
    def __init__(self, what: str, ident: str) -> None:
        # Another user's id gets exactly this answer too: existence is not leaked.
        super().__init__("NOT_FOUND", f"{what} {ident!r} was not found")


class InsufficientCredits(UserError):
    def __init__(self, required: int, balance: int) -> None:
        super().__init__(
            "INSUFFICIENT_CREDITS",
            f"this job's paid actions need {required} credits and the balance is {balance}",
        )
        self.required = required
        self.balance = balance
