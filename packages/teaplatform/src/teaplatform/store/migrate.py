"""Schema migrations (Alembic), run from code: no alembic.ini is needed.

    upgrade("sqlite:////var/lib/teaplatform/teaplatform.db")   # at server start

Every module has its own branch off the empty base revision ``0000``; `upgrade` brings all
branches to their heads in one transaction, under a PostgreSQL advisory lock (SQLite: the write
lock), so concurrent starts are safe and a failed migration leaves the schema as it was.

A new migration for module M after changing ``teaplatform/M/tables.py``:

    from alembic import command
    from teaplatform.store.migrate import alembic_config
    command.revision(alembic_config(URL_AT_HEADS), "what changed", autogenerate=True,
                     head="M@head", rev_id="M_0002")
(the first one of a module: ``head="0000", branch_label="M", rev_id="M_0001"``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from teaplatform.store.db import make_engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_KEY: Final = 0x74656170  # "teap"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _engine(target: str | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(target: str | Engine, revision: str = "heads") -> None:
    """Bring the database at `target` (a URL or an engine) to `revision` (default: all heads)."""
    config = alembic_config()
    with _engine(target) as engine, engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_heads(target: str | Engine) -> set[str]:
    """The revisions the database is at (one per module branch); empty when unmigrated."""
    with _engine(target) as engine, engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
