"""Alembic environment for the computenet store.

Run migrations through `computenet.store.migrate` (no alembic.ini): `upgrade` hands this
script an open connection, inside a transaction, in ``config.attributes["connection"]``.
Without one (say ``alembic revision --autogenerate`` with a Config from
`computenet.store.migrate.alembic_config(url)`), an engine is made from ``sqlalchemy.url``.
"""

from alembic import context
from sqlalchemy import Connection

from computenet.store.db import make_engine
from computenet.store.tables import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use computenet.store.migrate")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
