"""`me`: the caller, their credit balance and their ledger."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import me as me_resolvers
from resolvers.errors import UserError
from schema.errors import graphql_error
from schema.info import Info
from schema.types import PageInfo


@strawberry.type(description="A movement of credits: a grant, or a paid action's hold and charge.")
class LedgerEntry:
    id: strawberry.ID
    action: str = strawberry.field(description='"grant", or the paid action, e.g. "generate_scene".')
    credits: int
    change: int = strawberry.field(
        description="Its effect on the balance: negative while HELD or once CHARGED, 0 once RELEASED "
        "(given back), positive when GRANTED. The entries' changes sum to the balance."
    )
    status: str = strawberry.field(description="HELD, CHARGED, RELEASED or GRANTED.")
    job_id: strawberry.ID | None
    stage: str | None
    note: str
    created_at: datetime


@strawberry.type
class LedgerEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type
class LedgerConnection:
    edges: list[LedgerEdge]
    page_info: PageInfo


@strawberry.type
class Me:
    id: strawberry.ID
    name: str
    credits: int = strawberry.field(description="Credits you can spend now (held ones are not counted).")

    @strawberry.field(description="Your credit movements, newest first.")
    async def ledger(self, info: Info, first: int | None = 20, after: str | None = None) -> LedgerConnection:
        try:
            page = await me_resolvers.ledger_page(info.context, first=first, after=after)
        except UserError as err:
            raise graphql_error(err) from None
        return LedgerConnection(
            edges=[
                LedgerEdge(
                    cursor=str(e.id),
                    node=LedgerEntry(
                        id=strawberry.ID(str(e.id)),
                        action=e.action,
                        credits=e.credits,
                        change=e.change,
                        status=e.status,
                        job_id=strawberry.ID(e.job_id) if e.job_id else None,
                        stage=e.stage,
                        note=e.note,
                        created_at=e.created_at,
                    ),
                )
                for e in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )


async def resolve_me(info: Info) -> Me:
    try:
        user_id, name, credits = await me_resolvers.me(info.context)
    except UserError as err:
        raise graphql_error(err) from None
    return Me(id=strawberry.ID(user_id), name=name, credits=credits)
