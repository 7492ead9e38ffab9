"""What a client may learn from an error, and what the log keeps.

Errors we raise on purpose carry a `code` and reach clients as they are, and so do graphql-core's
complaints about the document itself (syntax, validation, variables), which only describe what the
client sent. Anything else is a bug or an outage: the client gets a generic message and a request id,
the log gets the whole error with its traceback under that same id, so an operator can find it.
"""

from __future__ import annotations

import logging
import secrets

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from structlog.contextvars import get_contextvars

log = logging.getLogger("clipforge.graphql")

INTERNAL_ERROR = "INTERNAL_ERROR"


def is_internal(error: GraphQLError) -> bool:
    if "code" in (error.extensions or {}):
        return False
    if error.path is not None:  # a resolver failed without telling the client why
        return True
    original = error.original_error
    # Without a path: graphql-core's findings about the document point at its nodes; an exception
    # from an extension hook points at nothing.
    return original is not None and not isinstance(original, GraphQLError) and not error.nodes


def client_code(error: GraphQLError) -> str:
    return "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_internal, error_message="Internal server error")
        self.request_id: str | None = None  # one per operation, made when the first error is masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = []
        for error in errors:
            if self.should_mask_error(error):
                processed.append(self.anonymise_error(error))
            else:
                if "code" not in (error.extensions or {}):
                    # in place: a cached validation error is the same object on every request
                    error.extensions = {**(error.extensions or {}), "code": client_code(error)}
                processed.append(error)
        return processed

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if self.request_id is None:
            # The HTTP request's own id (clipforge.request_id) when there is one, so this line, the other
            # lines of the request and the client's X-Request-ID header all agree.
            self.request_id = str(get_contextvars().get("request_id") or secrets.token_hex(8))
        context = self.execution_context.context
        log.error(
            "internal error, request id %s: %s (operation %s, path %s, user %s)",
            self.request_id,
            error.message,
            self.execution_context.operation_name or "anonymous",
            ".".join(str(key) for key in error.path or ()) or "-",
            getattr(context, "user_id", None),
            exc_info=error.original_error or error,
        )
        return GraphQLError(
            message=f"{self.error_message} (request id {self.request_id})",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_ERROR, "requestId": self.request_id},
        )
