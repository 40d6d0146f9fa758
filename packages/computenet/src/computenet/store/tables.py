"""The durable schema: tenants, tokens, sites, jobs and their append-only events.

Conventions (the scheduler core works in floats, so does the store):

* every timestamp is a float, seconds since the Unix epoch (``DOUBLE PRECISION``);
* enums (job state, pending reason, event kind) are stored as their string values;
* JSON columns are ``JSONB`` on PostgreSQL and ``JSON`` (text) on SQLite;
* tokens are stored as the SHA-256 hex digest of the token, never in clear.

The Alembic migrations in ``store/migrations`` create exactly this schema; a test compares
the two, so a change here needs a new migration.
"""

from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

NAME_LENGTH = 128  # tenant, site and job ids (the API allows at most 128 characters)

#: JSONB on PostgreSQL, JSON elsewhere.
JsonType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
#: A 64-bit autoincrement key on PostgreSQL; SQLite needs exactly INTEGER for its rowid alias.
BigIntKey: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantRow(Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    weight: Mapped[float] = mapped_column(Double, nullable=False)
    # Kueue-style quotas (see `computenet.domain.tenants`): accelerator key -> count
    quota: Mapped[dict[str, int]] = mapped_column(JsonType, nullable=False)
    created_at: Mapped[float] = mapped_column(Double, nullable=False)
    cohort: Mapped[str] = mapped_column(
        String(NAME_LENGTH), nullable=False, server_default="network"
    )
    borrowing_limit: Mapped[dict[str, int]] = mapped_column(
        JsonType, nullable=False, server_default="{}"
    )
    lending_limit: Mapped[dict[str, int]] = mapped_column(
        JsonType, nullable=False, server_default="{}"
    )


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL tenant = an administrator token.
    tenant: Mapped[str | None] = mapped_column(
        String(NAME_LENGTH),
        ForeignKey("tenants.name", ondelete="CASCADE"),
        nullable=True,
        index=True,
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[float] = mapped_column(Double, nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False)


class SiteRow(Base):
    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    # The site as the mapping `Network.from_dict` reads (one entry of its `sites` list).
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False)
    created_at: Mapped[float] = mapped_column(Double, nullable=False)
    updated_at: Mapped[float] = mapped_column(Double, nullable=False)


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_state", "tenant", "state"),
        Index("ix_jobs_state_submitted_at", "state", "submitted_at"),
        Index("ix_jobs_submitted_at_id", "submitted_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    tenant: Mapped[str] = mapped_column(
        String(NAME_LENGTH), ForeignKey("tenants.name"), nullable=False
    )
    # JobSpec as a mapping that JobSpec.from_dict reads back (plus any extra keys).
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    pending_reason: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    # accelerators × accelerator_milli, copied from the spec so usage sums stay in SQL.
    device_milli: Mapped[int] = mapped_column(Integer, nullable=False)
    submitted_at: Mapped[float] = mapped_column(Double, nullable=False)
    started_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)  # +1 on each launch
    placement: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[float] = mapped_column(Double, nullable=False)


class JobEventRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(NAME_LENGTH), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[float] = mapped_column(Double, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)


# The Core tables, for the repositories' statements.
tenants = cast(Table, TenantRow.__table__)
tokens = cast(Table, TokenRow.__table__)
sites = cast(Table, SiteRow.__table__)
jobs = cast(Table, JobRow.__table__)
job_events = cast(Table, JobEventRow.__table__)
