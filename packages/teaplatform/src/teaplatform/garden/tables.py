"""Garden tables: gardens, plots, devices, readings, ingestion counters, alert rules and alerts.

Readings are keyed by (device, quantity, ts): a repeated reading is a no-op (ON CONFLICT DO
NOTHING) and queries read them in time order from the key alone (SQLite: a WITHOUT ROWID table,
so the key is the only b-tree written per reading).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from teaplatform.store.db import Base


def sqlite_text(value: datetime) -> str:
    """How an aware datetime is stored on SQLite: UTC text, fixed width, sortable (the format
    of SQLAlchemy's DATETIME; %-formatting is the fastest way there)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out: ``timestamptz`` on PostgreSQL; on SQLite the text
    SQLAlchemy's DATETIME writes (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), formatted and parsed by
    the C datetime functions — a reading's timestamp is the hot path of ingestion."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) one")
        if dialect.name == "sqlite":
            return sqlite_text(value)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class GardenRow(Base):
    __tablename__ = "garden_garden"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    region: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    note: Mapped[str] = mapped_column(Text, default="")


class PlotRow(Base):
    __tablename__ = "garden_plot"
    __table_args__ = (UniqueConstraint("garden_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("garden_garden.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    area_ha: Mapped[float | None] = mapped_column(Float)
    cultivar: Mapped[str] = mapped_column(String(120), default="")
    tea_type: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class DeviceRow(Base):
    __tablename__ = "garden_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # what the device calls itself
    name: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(16))  # "garden" | "processing"
    plot_id: Mapped[int | None] = mapped_column(
        ForeignKey("garden_plot.id", ondelete="SET NULL"), index=True
    )
    line: Mapped[str | None] = mapped_column(String(120))  # processing line or workshop
    sensors: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any quantity
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # wall clock


class ReadingRow(Base):
    __tablename__ = "garden_reading"
    __table_args__ = ({"sqlite_with_rowid": False},)

    device_id: Mapped[int] = mapped_column(
        ForeignKey("garden_device.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class IngestCountRow(Base):
    """How many readings each source stored, found already stored, or rejected (per reason)."""

    __tablename__ = "garden_ingest_count"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)  # mqtt | http | csv | …
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)  # stored | duplicate | …
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_detail: Mapped[str] = mapped_column(Text, default="")  # the latest rejection's detail


class RuleRow(Base):
    """A plot's rule: a user-defined one, or an override of a built-in one of the same name."""

    __tablename__ = "garden_rule"
    __table_args__ = (UniqueConstraint("plot_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("garden_plot.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # a `rules.RuleSpec` as JSON
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class RuleStateRow(Base):
    """Where a rule's evaluation stands for one device: carried from batch to batch."""

    __tablename__ = "garden_rule_state"

    rule_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("garden_device.id", ondelete="CASCADE"), primary_key=True
    )
    last_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    last_value: Mapped[float] = mapped_column(Float)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # condition true since
    firing: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertRow(Base):
    __tablename__ = "garden_alert"
    __table_args__ = (
        # de-duplication: one alert per rule and device until it is resolved
        Index(
            "uq_garden_alert_active",
            "rule_key",
            "device_id",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_garden_alert_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(80))
    rule_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    plot_id: Mapped[int | None] = mapped_column(
        ForeignKey("garden_plot.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("garden_device.id", ondelete="CASCADE"))
    quantity: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # open | acknowledged | resolved
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # data time of the trigger
    trigger_value: Mapped[float | None] = mapped_column(Float)
    peak_value: Mapped[float | None] = mapped_column(Float)  # the most extreme while active
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)  # latest reading still triggering
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))  # "rule" or a person


class AlertEventRow(Base):
    """Outbox of alert notifications: written with the change, delivered by the notifier."""

    __tablename__ = "garden_alert_event"
    __table_args__ = (Index("ix_garden_alert_event_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("garden_alert.id", ondelete="CASCADE"))
    alert: Mapped[AlertRow] = relationship(lazy="raise")  # set on creation: the id comes at flush
    event: Mapped[str] = mapped_column(String(16))  # opened | acknowledged | resolved
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
