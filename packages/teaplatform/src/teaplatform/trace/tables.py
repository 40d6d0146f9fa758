"""Traceability tables (SQLite and PostgreSQL).

The signed bytes of each event (`TraceEvent.body`) are the truth; every other column is an index
of them, checked against them on verification. Private keys are never stored here: only public
keys with their validity periods (`TraceKey`); the private halves live in files (`keystore`).
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import Mapped, mapped_column

from teaplatform.store.db import Base

URN = 120  # room for our EPC URNs (an LGTIN is at most 55 characters)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no zone; PostgreSQL does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TraceOrg(Base):
    """An organisation that signs events (grower, processor, carrier, retailer, the ledger)."""

    __tablename__ = "trace_orgs"

    id: Mapped[str] = mapped_column(String(URN), primary_key=True)  # a PGLN URN or a URI
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TraceKey(Base):
    """A public key of an organisation with its validity period."""

    __tablename__ = "trace_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("trace_orgs.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class TraceLocation(Base):
    """Master data of a place (SGLN): a plot, a factory, a warehouse, a shop."""

    __tablename__ = "trace_locations"

    id: Mapped[str] = mapped_column(String(URN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    org_id: Mapped[str | None] = mapped_column(ForeignKey("trace_orgs.id"), nullable=True)


class TraceProduct(Base):
    """Master data of a trade item (company prefix + item reference, i.e. one GTIN)."""

    __tablename__ = "trace_products"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # "6901234.012345"
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")


class TraceLedger(Base):
    """The single row that orders the ledger: the last sequence number and the open day."""

    __tablename__ = "trace_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    open_day: Mapped[date | None] = mapped_column(Date, nullable=True)


class TraceEvent(Base):
    __tablename__ = "trace_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    biz_step: Mapped[str | None] = mapped_column(String(200), nullable=True)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime())
    record_time: Mapped[datetime] = mapped_column(UtcDateTime())
    ledger_day: Mapped[date] = mapped_column(Date, index=True)
    org_id: Mapped[str] = mapped_column(String(URN), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class TraceLink(Base):
    """An event's place in one lot's hash chain (an event concerns one or more lots)."""

    __tablename__ = "trace_links"

    lot: Mapped[str] = mapped_column(String(URN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_seq: Mapped[int] = mapped_column(
        ForeignKey("trace_events.seq", ondelete="CASCADE"), index=True
    )
    prev: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)


class TraceLot(Base):
    """A lot's chain head: its last sequence number and that event's hash."""

    __tablename__ = "trace_lots"

    lot: Mapped[str] = mapped_column(String(URN), primary_key=True)
    head_seq: Mapped[int] = mapped_column(Integer)
    head_digest: Mapped[bytes] = mapped_column(LargeBinary(32))


class TraceEpcLot(Base):
    """Which lots an instance EPC holds: a package (SGTIN) one, a case (SSCC) one or more."""

    __tablename__ = "trace_epc_lots"

    epc: Mapped[str] = mapped_column(String(URN), primary_key=True)
    lot: Mapped[str] = mapped_column(String(URN), primary_key=True)


class TracePackage(Base):
    """A consumer package: its code (the SGTIN serial, printed in the QR code) and lot."""

    __tablename__ = "trace_packages"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    sgtin: Mapped[str] = mapped_column(String(URN), unique=True)
    lot: Mapped[str] = mapped_column(String(URN), index=True)


class TraceCheckpoint(Base):
    """A ledger day's signed Merkle root."""

    __tablename__ = "trace_checkpoints"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    prev: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    org_id: Mapped[str] = mapped_column(String(URN))
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class TraceScan(Base):
    """One scan of a package's QR code: when, from roughly where (a /24 or /48 network)."""

    __tablename__ = "trace_scans"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    place: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(40))
