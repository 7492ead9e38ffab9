"""The GraphQL schema with its protective extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


def _expected(error: object) -> bool:
    """Errors we raised on purpose (with a code) reach clients; anything else is masked."""
    extensions = getattr(error, "extensions", None) or {}
    return "code" not in extensions


def build_schema(*, max_depth: int = 12) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        extensions=[  # factories: a fresh extension per request; the caches are module-level LRUs
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaskErrors(should_mask_error=_expected, error_message="Internal server error"),
        ],
    )
