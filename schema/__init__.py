"""The GraphQL schema with its protective extensions."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.limits import (
    ParserCacheThatReports,
    QueryLimits,
    QueryLimitsExtension,
    ValidationCacheAfterLimits,
)
from schema.masking import MaskInternalErrors, is_internal
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from schema.webhooks import WebhookMutation, WebhookQuery

log = logging.getLogger("clipforge.graphql")

__all__ = ["QueryLimits", "build_schema"]


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # strawberry logs every error at ERROR here, a client's typo included, before masking.
        # Internal errors are logged once instead, by MaskInternalErrors, under the client's request id.
        for error in errors:
            if not is_internal(error):
                log.debug("refused: %s %s", (error.extensions or {}).get("code"), error.message)


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    limits = limits or QueryLimits()
    rules = limits.rules()
    return Schema(
        # Each capability brings its own root fields (schema/webhooks.py), merged here.
        query=merge_types("Query", (Query, WebhookQuery)),
        mutation=merge_types("Mutation", (Mutation, WebhookMutation)),
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        # Factories: a fresh extension per request; the caches are module-level LRUs. The order
        # matters: the limits refuse a document before ValidationCache runs the full validation.
        extensions=[
            lambda: QueryLimitsExtension(limits, rules),
            lambda: ParserCacheThatReports(maxsize=512),
            lambda: ValidationCacheAfterLimits(maxsize=512),
            MaskInternalErrors,
        ],
    )
