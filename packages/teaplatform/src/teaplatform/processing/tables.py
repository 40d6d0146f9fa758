"""Processing tables: batches, their stage runs, deviation alarms, and the watches behind them.

A batch names its telemetry device by key (the key readings arrive with) and its source plot
by id, without foreign keys into the garden's tables: the two modules migrate independently,
and the service checks both when they are set.
"""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from teaplatform.garden.tables import UTCDateTime
from teaplatform.store.db import Base


class BatchRow(Base):
    __tablename__ = "processing_batch"
    __table_args__ = (Index("ix_processing_batch_state_device", "state", "device_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the lot label on the sacks
    recipe: Mapped[str] = mapped_column(String(64))
    tea_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # planned | running | completed | aborted
    device_key: Mapped[str | None] = mapped_column(String(64))
    plot_id: Mapped[int | None] = mapped_column(Integer)  # where the leaf was picked
    picked_on: Mapped[str | None] = mapped_column(String(10))  # ISO date of the picking
    leaf_kg: Mapped[float | None] = mapped_column(Float)
    auto_advance: Mapped[bool] = mapped_column(Boolean, default=False)
    stage_index: Mapped[int | None] = mapped_column(Integer)  # current stage while running
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # handed to traceability (completed batches): when, and the event id or "error: …"
    traced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trace_event: Mapped[str | None] = mapped_column(String(200))


class StageRunRow(Base):
    """When a batch actually was in a stage."""

    __tablename__ = "processing_stage_run"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("processing_batch.id", ondelete="CASCADE"), primary_key=True
    )
    stage_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(16))  # manual | elapsed | aborted


class AlarmRow(Base):
    __tablename__ = "processing_alarm"
    __table_args__ = (
        # de-duplication: one active alarm per batch and quantity
        Index(
            "uq_processing_alarm_active",
            "batch_id",
            "quantity",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_processing_alarm_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("processing_batch.id", ondelete="CASCADE"), index=True
    )
    stage_index: Mapped[int] = mapped_column(Integer)
    stage_key: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(32))  # or "duration" for an overrun
    direction: Mapped[str] = mapped_column(String(16))  # low | high | overrun
    limit: Mapped[float] = mapped_column(Float)  # the bound crossed (minutes for an overrun)
    state: Mapped[str] = mapped_column(String(16))  # open | acknowledged | resolved
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # the excursion began
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # it had lasted long enough
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)  # latest out-of-range reading
    extreme: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))  # back-in-range | stage-ended …


class WatchRow(Base):
    """A quantity's excursion state for a running batch (carried from batch to batch of
    readings); cleared when the stage changes."""

    __tablename__ = "processing_watch"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("processing_batch.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str | None] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_out: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extreme: Mapped[float | None] = mapped_column(Float)
    alarmed: Mapped[bool] = mapped_column(Boolean, default=False)
    back_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alarm_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_alarm.id", ondelete="SET NULL")
    )
