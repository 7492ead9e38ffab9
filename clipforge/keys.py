"""`clipforge create-key`: a user and an API key for them, for when auth is on."""

from __future__ import annotations

from clipforge.settings import Settings
from clipforge.wiring import migrate
from db.engine import create_engine, session_factory
from resolvers.auth import issue_api_key


async def create_key(settings: Settings, user_id: str, name: str | None = None) -> str:
    await migrate(settings)
    engine = create_engine(
        settings.resolved_database_url, transaction_pooler=settings.database_transaction_pooler
    )
    try:
        return await issue_api_key(
            session_factory(engine), user_id=user_id, name=name or user_id, credits=settings.default_credits
        )
    finally:
        await engine.dispose()
