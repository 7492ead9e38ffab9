"""Expected errors as GraphQL types: programs switch on `code`, people read `message`."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from resolvers.availability import Unavailable
from resolvers.errors import UserError


@strawberry.interface
class Problem:
    code: str
    message: str


@strawberry.type
class FieldProblem:
    path: str = strawberry.field(description='Where, e.g. "tracks[1].clips[3].duration".')
    message: str


@strawberry.type
class InvalidInput(Problem):
    field: str | None = None
    problems: list[FieldProblem] = strawberry.field(
        default_factory=list, description="Every problem found, when there are several (e.g. a timeline)."
    )


@strawberry.type
class NotFound(Problem):
    pass


@strawberry.type(
    description="The balance cannot cover the job's paid actions; nothing was queued or charged."
)
class InsufficientCredits(Problem):
    required: int = strawberry.field(description="Credits the job's paid actions cost.")
    balance: int = strawberry.field(description="Your balance now.")


@strawberry.type(description="Something the API depends on (its database) is unreachable; try again shortly.")
class ServiceUnavailable(Problem):
    pass


@strawberry.type(description="Too many calls; wait before the next.")
class RateLimited(Problem):
    retry_after_seconds: int


def invalid(err: UserError) -> InvalidInput:
    problems = [FieldProblem(path=path, message=message) for path, message in err.problems]
    return InvalidInput(code=err.code, message=err.message, field=err.field, problems=problems)


def create_problem(err: UserError) -> InvalidInput | ServiceUnavailable:
    """For create mutations: the client's input was refused, or the service could not take it now."""
    if isinstance(err, Unavailable):
        return ServiceUnavailable(code=err.code, message=err.message)
    return invalid(err)


def problem(err: UserError) -> InvalidInput | NotFound | ServiceUnavailable:
    if err.code == "NOT_FOUND":
        return NotFound(code=err.code, message=err.message)
    return create_problem(err)


def graphql_error(err: UserError) -> GraphQLError:
    """For fields that return a plain object (queries, subscriptions): the code rides in extensions."""
    extensions: dict[str, object] = {"code": err.code}
    if err.field:
        extensions["field"] = err.field
    return GraphQLError(err.message, extensions=extensions)
