"""Grading tables: one row per grading result of a lot, and how it went to traceability.

A result names its lot by the label on the sacks (a processing batch code, say) and its tea
type, without foreign keys into processing's tables: the modules migrate independently, and a
lot may come from elsewhere. `result_id` is the result's stable public id (a UUID unless the
caller gives one): the trace event's id derives from it, so re-sending a result is a no-op.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from teaplatform.garden.tables import UTCDateTime
from teaplatform.store.db import Base


class GradingResultRow(Base):
    __tablename__ = "grading_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    result_id: Mapped[str] = mapped_column(String(64), unique=True)
    lot: Mapped[str] = mapped_column(String(64), index=True)
    tea_type: Mapped[str] = mapped_column(String(16), index=True)
    grade: Mapped[str] = mapped_column(String(40))
    conformant: Mapped[bool] = mapped_column(Boolean)  # False: off-grade
    source: Mapped[str] = mapped_column(String(20))  # made-tea-rules | leaf-images
    method: Mapped[str] = mapped_column(String(120))  # rule file version / classifier hash
    indicators: Mapped[dict[str, float]] = mapped_column(JSON)  # made tea: measured values
    failed_checks: Mapped[list[str]] = mapped_column(JSON)  # why each better grade was missed
    image_count: Mapped[int | None] = mapped_column(Integer)  # leaf images: how many
    class_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)  # leaf images: per class
    score: Mapped[float | None] = mapped_column(Float)  # sensory score, or share of healthy leaf
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # handed to traceability in the same unit of work: the event id, or why the ledger refused
    trace_event_id: Mapped[str | None] = mapped_column(String(200))
    trace_error: Mapped[str | None] = mapped_column(Text)

    def content(self) -> dict[str, Any]:
        """What makes two results the same result (a retry), beside their id."""
        return {
            "lot": self.lot,
            "tea_type": self.tea_type,
            "source": self.source,
            "indicators": dict(self.indicators),
            "class_counts": dict(self.class_counts) if self.class_counts is not None else None,
        }
