"""What the create mutations of kinds with paid actions answer (jobs.kind.Kind.paid): the job, or a typed
problem, InsufficientCredits among them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.errors import InsufficientCredits as NotEnoughCredits
from resolvers.errors import UserError
from schema.errors import InsufficientCredits, InvalidInput, NotFound, ServiceUnavailable, problem
from schema.types import Job

PaidJobResult = Annotated[
    Job | InvalidInput | NotFound | InsufficientCredits | ServiceUnavailable,
    strawberry.union("PaidJobResult"),
]


def paid_problem(err: UserError) -> InvalidInput | NotFound | InsufficientCredits | ServiceUnavailable:
    if isinstance(err, NotEnoughCredits):
        return InsufficientCredits(
            code=err.code, message=err.message, required=err.required, balance=err.balance
        )
    return problem(err)
