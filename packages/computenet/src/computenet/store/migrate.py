"""Schema migrations (Alembic), run from code: no alembic.ini is needed.

    upgrade("sqlite:////var/lib/computenet/computenet.db")   # at service start

`upgrade` is idempotent and safe to run from several processes at once: on PostgreSQL it
holds an advisory lock, on SQLite the write lock (BEGIN IMMEDIATE), for the whole upgrade,
which runs in one transaction (a failed migration leaves the schema as it was).

To write a new migration after changing `tables.py`:

    from alembic import command
    from computenet.store.migrate import alembic_config
    command.revision(alembic_config(URL_AT_HEAD), "what changed", autogenerate=True,
                     rev_id="0002")
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from computenet.store.db import make_engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key held while migrating ("cnet" in ASCII).
ADVISORY_LOCK_KEY: Final = 0x636E6574


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for the store's migrations, built in code."""
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


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Bring the database at `target` (a URL or an engine) to `revision` (default: latest)."""
    config = alembic_config()
    with _engine(target) as engine, engine.connect() as conn, conn.begin():
        _lock(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(target: str | Engine, revision: str) -> None:
    """Take the database at `target` back to `revision` ("base": empty)."""
    config = alembic_config()
    with _engine(target) as engine, engine.connect() as conn, conn.begin():
        _lock(conn)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(target: str | Engine) -> str | None:
    """The revision the database is at; None for an empty (unmigrated) database."""
    with _engine(target) as engine, engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head
