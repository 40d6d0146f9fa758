"""Engines: SQLite (WAL, the default) and PostgreSQL (psycopg 3).

SQLite notes. Each connection gets ``journal_mode=WAL``, ``synchronous=NORMAL`` (a committed
transaction survives a crash of the process, kill -9 included; only a power loss or OS crash
can lose the last commits — pass ``sqlite_synchronous="FULL"`` where that matters),
``foreign_keys=ON`` and a busy timeout. The driver's own transaction handling is switched
off and the store emits ``BEGIN IMMEDIATE`` itself, so a write transaction takes SQLite's
write lock up front and waits (busy timeout) for another writer instead of failing half-way
with "database is locked". Read-only units of work use a plain (deferred) ``BEGIN`` with
``PRAGMA query_only`` on, so they run beside a writer and cannot write.
"""

import sqlite3
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

DB_FILE = "computenet.db"
BUSY_TIMEOUT_S = 30.0
#: Connection execution option: begin with a deferred (read) transaction on SQLite.
READ_ONLY_OPTION = "computenet_read_only"

SqliteSynchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


def default_url(data_dir: Path) -> str:
    """The default store: ``sqlite:///<data_dir>/computenet.db`` (absolute path)."""
    return f"sqlite:///{(data_dir / DB_FILE).absolute()}"


def normalize_url(url: str | URL) -> URL:
    """Parse `url`; a bare ``postgresql://`` (or ``postgres://``) gets the psycopg 3 driver."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str | URL,
    *,
    echo: bool = False,
    sqlite_synchronous: SqliteSynchronous = "NORMAL",
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`: SQLite tuned for a single-host service, or PostgreSQL.

    For a file-based SQLite URL the parent directory is created. Extra keyword arguments go to
    `sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo, sqlite_synchronous, busy_timeout_s, kwargs)
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, echo=echo, **kwargs)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _sqlite_engine(
    url: URL,
    echo: bool,
    synchronous: SqliteSynchronous,
    busy_timeout_s: float,
    kwargs: dict[str, Any],
) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).absolute().parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", busy_timeout_s)
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_connection, sqlite3.Connection)
        # The store emits BEGIN itself (see `_on_begin`); no implicit transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY_OPTION))
        info = connection.connection.info  # lives as long as the DBAPI connection
        if info.get(READ_ONLY_OPTION, False) != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            info[READ_ONLY_OPTION] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
