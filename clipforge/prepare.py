"""What every command needs before it starts: its folders, and (for the API and the worker) a database that
has been migrated. A new CLIPFORGE_DATA_DIR just works; a database nobody migrated is one clear line."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from clipforge.failures import CommandFailed, reaching
from clipforge.settings import Settings
from db.engine import async_url, create_engine
from db.migrate import current_revision, head_revision, known_revisions

log = logging.getLogger(__name__)


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(async_url(url))
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def prepare_folders(settings: Settings) -> None:
    """The data folder (signing key, local storage, render work files) and the SQLite file's folder."""
    folders = [settings.data_dir, settings.storage_root, settings.work_root]
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:
        folders.append(database.parent)
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandFailed(f"cannot create the folder {folder}: {exc.strerror or exc}") from exc


async def require_migrated(settings: Settings) -> None:
    """Refuse to serve from a database older than this code; `clipforge migrate` brings it up to date."""
    engine = create_engine(
        settings.resolved_database_url, transaction_pooler=settings.database_transaction_pooler
    )
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # its "Context impl SQLiteImpl" is noise for a check
    try:
        with reaching("the database"):
            current = await current_revision(engine)
    finally:
        quiet.setLevel(level)
        await engine.dispose()
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise CommandFailed("the database has no tables yet: run `clipforge migrate` first")
    if current not in known_revisions():
        # A newer release migrated it (a rolling deploy): its additions are not ours to refuse.
        log.warning("the database is at revision %s, which this release does not know", current)
        return
    raise CommandFailed(
        f"the database is at revision {current}, this release needs {head}: run `clipforge migrate`"
    )
