"""`clipforge credits grant --user alice 100`: an operator gives a user credits (creating the user if new)."""

from __future__ import annotations

from clipforge.settings import Settings
from clipforge.wiring import migrate
from db import ledger, repo
from db.engine import create_engine, session_factory
from resolvers.auth import USER_ID


async def grant_credits(
    settings: Settings, user_id: str, credits: int, note: str = "granted by an operator"
) -> int:
    """Returns the user's new balance."""
    if not USER_ID.fullmatch(user_id):
        raise ValueError("a user id is 1-64 letters, digits and _ . @ -, starting with a letter or digit")
    if credits <= 0:
        raise ValueError("grant a positive number of credits")
    await migrate(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_factory(engine).begin() as session:
            await repo.ensure_user(session, user_id, user_id, settings.default_credits)
            await ledger.grant(session, user_id=user_id, credits=credits, note=note)
            return await ledger.balance(session, user_id)
    finally:
        await engine.dispose()
