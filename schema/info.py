"""The typed resolver info every field of the schema receives."""

import strawberry

from resolvers.context import Context

Info = strawberry.Info[Context, None]
