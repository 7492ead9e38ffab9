"""Limits on what one GraphQL document may ask for, each refusal with its own code.

They run before graphql-core's full validation, because some of its rules are quadratic in the number
of fields: an abusive document must be turned away before it gets that far.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NoSchemaIntrospectionCustomRule,
    validate,
)
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from schema.cost import TooCostly, document_cost

Rules = tuple[tuple[str, type[ASTValidationRule]], ...]


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 15
    max_cost: int = 5000
    cost_list_size: int = 10
    introspection: bool = True

    def rules(self) -> Rules:
        """Built once per schema: fresh rule classes per request would defeat ValidationCache."""
        rules: list[tuple[str, type[ASTValidationRule]]] = [
            ("TOO_MANY_ALIASES", aliases_rule(self.max_aliases)),
            ("QUERY_TOO_DEEP", depth_rule(self.max_depth, None, None)),
        ]
        if not self.introspection:
            rules.insert(0, ("INTROSPECTION_DISABLED", NoSchemaIntrospectionCustomRule))
        return tuple(rules)


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


@lru_cache(maxsize=512)
def refusals(schema: GraphQLSchema, document: DocumentNode, rules: Rules) -> tuple[GraphQLError, ...]:
    """The first limit the document breaks, as coded errors. One rule at a time, so each error is
    attributed to its rule; cached like ValidationCache, since documents repeat."""
    for code, rule in rules:
        errors = validate(schema, document, [rule])
        if errors:
            return tuple(with_code(error, code) for error in errors)
    return ()


class QueryLimitsExtension(SchemaExtension):
    def __init__(self, limits: QueryLimits, rules: Rules) -> None:
        self.limits = limits
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        # what strawberry's MaxTokensLimiter does: graphql-core stops parsing past the limit
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        # graphql-core reports the token limit as a syntax error; it is the one that names the limit
        too_large = f"more than {self.limits.max_tokens} tokens"
        for error in self.execution_context.pre_execution_errors or ():
            if isinstance(error, GraphQLSyntaxError) and too_large in error.message:
                with_code(error, "QUERY_TOO_LARGE")

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None:
            schema = ctx.schema._schema
            # The cost first: it is linear in the document, while strawberry's depth and alias rules
            # expand every fragment spread and would take exponential time on a fragment bomb.
            refused = self._cost(schema, document) or list(refusals(schema, document, self.rules))
            if refused:
                ctx.pre_execution_errors = refused
        yield

    def _cost(self, schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
        """Not cached with the rules: the cost depends on the variables (`first: $n`)."""
        limit, list_size = self.limits.max_cost, self.limits.cost_list_size
        cap = 100 * limit  # a cost past this is reported as "at least"
        variables = self.execution_context.variables
        try:
            cost = document_cost(schema, document, variables, list_size=list_size, cap=cap)
        except TooCostly as refused:
            return [GraphQLError(str(refused), extensions={"code": "QUERY_TOO_COSTLY"})]
        if cost <= limit:
            return []
        message = (
            f"query costs {'at least ' if cost >= cap else ''}{cost}, more than the {limit} allowed "
            f"(fields and spreads cost 1; lists multiply by `first`, else by {list_size}): ask for less"
        )
        return [
            GraphQLError(message, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limit})
        ]


class ParserCacheThatReports(ParserCache):
    """ParserCache parses inside its hook, outside strawberry's error handling: a syntax error there
    escapes as an exception, and over WebSocket the operation dies with a logged traceback instead of
    an error message. A bad document is left unparsed here; strawberry parses it again itself and
    reports the error the usual way (the token limit bounds that second parse)."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        with contextlib.suppress(GraphQLError):
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        yield


class ValidationCacheAfterLimits(ValidationCache):
    """ValidationCache validates unconditionally, overwriting a refusal the limits already made."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()
