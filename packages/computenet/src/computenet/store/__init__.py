"""The durable store of the network service: SQLAlchemy 2 + Alembic.

SQLite (WAL) by default, PostgreSQL (psycopg 3) in production.

    engine = make_engine(default_url(data_dir))
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.tenants.add(Tenant("lab"))
        token = uow.tokens.create("lab").token
"""

from computenet.store.db import default_url, make_engine
from computenet.store.errors import DuplicateError, DuplicateJobError, NotFoundError, StoreError
from computenet.store.migrate import current_revision, head_revision, upgrade
from computenet.store.repository import (
    MAX_PAGE,
    UNSET,
    EventRecord,
    IssuedToken,
    JobPage,
    JobRecord,
    Principal,
    TenantUsage,
    TokenInfo,
)
from computenet.store.uow import UnitOfWork

__all__ = [
    "MAX_PAGE",
    "UNSET",
    "DuplicateError",
    "DuplicateJobError",
    "EventRecord",
    "IssuedToken",
    "JobPage",
    "JobRecord",
    "NotFoundError",
    "Principal",
    "StoreError",
    "TenantUsage",
    "TokenInfo",
    "UnitOfWork",
    "current_revision",
    "default_url",
    "head_revision",
    "make_engine",
    "upgrade",
]
