"""The unit of work: one transaction, the repositories on it.

    with UnitOfWork(engine) as uow:
        uow.jobs.add(spec)
        uow.events.append(JobEvent(now, spec.id, EventKind.SUBMITTED))
    # committed here; an exception inside the block rolls everything back

Every state change the service makes is one unit of work, so a crash (kill -9 included) at
any moment leaves either all of it or none of it. On SQLite a unit of work takes the write
lock when it begins (``BEGIN IMMEDIATE``; waits up to the busy timeout for another writer);
pass ``read_only=True`` for reads, which then run concurrently with a writer (and cannot
write: SQLite ``query_only``, a PostgreSQL READ ONLY transaction).
"""

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from computenet.store.db import READ_ONLY_OPTION
from computenet.store.repository import (
    EventsRepository,
    JobsRepository,
    SitesRepository,
    TenantsRepository,
    TokensRepository,
)


class UnitOfWork:
    """A context manager: commit on success, roll back on an exception. Not reentrant."""

    tenants: TenantsRepository
    tokens: TokensRepository
    sites: SitesRepository
    jobs: JobsRepository
    events: EventsRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The connection of this unit of work (for statements the repositories lack)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open (use it in a with block)")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        conn = self._engine.connect()
        try:
            if self._read_only:
                conn.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
            conn.begin()
        except BaseException:
            conn.close()
            raise
        self._connection = conn
        self.tenants = TenantsRepository(conn)
        self.tokens = TokensRepository(conn)
        self.sites = SitesRepository(conn)
        self.jobs = JobsRepository(conn)
        self.events = EventsRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._connection
        if conn is None:
            return
        self._connection = None
        try:
            if conn.in_transaction():
                if exc_type is None:
                    conn.commit()
                else:
                    conn.rollback()
        finally:
            conn.close()

    def commit(self) -> None:
        """Commit now; the next statement begins a new transaction."""
        self.connection.commit()

    def rollback(self) -> None:
        """Roll back now; the next statement begins a new transaction."""
        self.connection.rollback()
