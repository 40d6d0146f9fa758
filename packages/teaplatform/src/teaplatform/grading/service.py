"""Grading results on the store: record a lot's grade, hand it to traceability, list them.

    stored = record_made_tea(session, settings, MadeTeaResult(lot="G26-01", tea_type="green",
                             indicators={"sensory_score": 90, ...}), now)
    sample = grade_leaf_folder(classifier, Path("photos/G26-01"))    # no session: inference
    stored = record_leaf_images(session, settings, LotSpec(lot=..., tea_type=...), sample, now)

Every function that touches the store works inside the caller's unit of work (a `Session`)
and takes the time it acts at. The grade itself is decided by the pure `results` module.
Recording stores the result and, in the same unit of work, signs it into the lot's trace chain
(`teaplatform.trace.hooks.record_grading_result`, an EPCIS ObjectEvent with bizStep
``inspecting``) inside a savepoint: the event commits or rolls back with the result. When the
ledger refuses (a lot number GS1 cannot carry, a tea type it does not know, no usable key), the
result is kept with ``trace_error`` saying why, and is not retried.

A result's ``result_id`` names its trace event (``grading:<result_id>``). Callers that may
send a result twice (a retry after a lost answer) give their own ``result_id``: the same id
with the same content returns the stored result (``created=False``, no second event); the
same id with other content is a `GradingConflictError`.
"""

import importlib.util
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.garden.catalog import TeaType
from teaplatform.grading.results import (
    GradingError,
    Outcome,
    class_counts,
    leaf_outcome,
    made_tea_outcome,
    trace_record,
)
from teaplatform.grading.rules import RuleBook, load_rules
from teaplatform.grading.tables import GradingResultRow
from teaplatform.settings import Settings

if TYPE_CHECKING:
    from teaplatform.vision.runtime import OnnxClassifier

log = logging.getLogger(__name__)
TEA_TYPES = tuple(t.value for t in TeaType)  # the five colours

Finite = Annotated[float, Field(allow_inf_nan=False)]
IndicatorName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]
ResultId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class GradingNotFoundError(LookupError):
    pass


class GradingConflictError(Exception):
    """A result id that is taken by a result with other content."""


class LotSpec(BaseModel):
    """Which lot was graded, when and by whom."""

    model_config = ConfigDict(extra="forbid")

    lot: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = (
        Field(description="the lot (batch code) graded, e.g. AH-2026-07", examples=["G26-01"])
    )
    tea_type: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)
    ] = Field(examples=["green"])
    graded_at: datetime | None = Field(
        default=None, description="when the sample was graded (naive = UTC) [default: now]"
    )
    operator: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=2000)
    result_id: ResultId | None = Field(
        default=None,
        description="the result's id: give one to make re-sending safe [default: a new UUID]",
    )


class MadeTeaResult(LotSpec):
    """A made-tea sample's measured indicators, graded by the made-tea rules."""

    indicators: dict[IndicatorName, Finite] = Field(
        min_length=1,
        examples=[
            {
                "sensory_score": 90,
                "moisture": 6.4,
                "total_ash": 6.1,
                "powder": 0.7,
                "broken": 3.8,
                "water_extract": 36.5,
            }
        ],
    )


@dataclass(frozen=True)
class LeafSample:
    """The leaf-condition classes of a folder of images of a lot's leaf."""

    counts: dict[str, int]
    model: str  # which classifier (its ONNX hash)
    seconds: float


@dataclass(frozen=True)
class Stored:
    row: GradingResultRow
    created: bool  # False: the same result was stored already (a retry)


def _utc(ts: datetime) -> datetime:
    """`ts` in UTC (naive: taken as UTC), as the store gives it back."""
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def grade_leaf_folder(
    classifier: "OnnxClassifier", folder: Path, batch_size: int = 32
) -> LeafSample:
    """Classify every image under `folder` (no store involved: run it outside a unit of work)."""
    from teaplatform.grading.batch import grade_folder

    graded = grade_folder(classifier, folder, batch_size)
    return LeafSample(
        counts=class_counts(g.name for g in graded.items),
        model=f"classifier sha256:{classifier.card.onnx_sha256[:12]}",
        seconds=graded.seconds,
    )


def record_made_tea(
    session: Session,
    settings: Settings,
    spec: MadeTeaResult,
    now: datetime,
    rules: RuleBook | None = None,
) -> Stored:
    """Grade `spec`'s indicators by the made-tea rules (the shipped ones by default), store the
    result and trace it; `GradingError` for a tea the rules do not know."""
    outcome = made_tea_outcome(rules or load_rules(), spec.tea_type, spec.indicators)
    return _record(session, settings, spec, outcome, now)


def record_leaf_images(
    session: Session, settings: Settings, spec: LotSpec, sample: LeafSample, now: datetime
) -> Stored:
    """Grade a lot by the share of healthy leaves in `sample`, store the result and trace it;
    `GradingError` for an unknown tea type or too few images."""
    if spec.tea_type not in TEA_TYPES:
        raise GradingError(f"unknown tea type {spec.tea_type!r}: one of {', '.join(TEA_TYPES)}")
    return _record(session, settings, spec, leaf_outcome(sample.counts, model=sample.model), now)


def _content(spec: LotSpec, outcome: Outcome) -> dict[str, Any]:
    return {
        "lot": spec.lot,
        "tea_type": spec.tea_type,
        "source": outcome.source.value,
        "indicators": outcome.indicators,
        "class_counts": outcome.class_counts,
    }


def _record(
    session: Session, settings: Settings, spec: LotSpec, outcome: Outcome, now: datetime
) -> Stored:
    if spec.result_id is not None:
        existing = session.scalar(
            select(GradingResultRow).where(GradingResultRow.result_id == spec.result_id)
        )
        if existing is not None:
            if existing.content() != _content(spec, outcome):
                raise GradingConflictError(
                    f"result {spec.result_id} exists with other content (lot {existing.lot})"
                )
            return Stored(existing, created=False)
    row = GradingResultRow(
        result_id=spec.result_id or str(uuid.uuid4()),
        lot=spec.lot,
        tea_type=spec.tea_type,
        grade=outcome.grade,
        conformant=outcome.conformant,
        source=outcome.source.value,
        method=outcome.method,
        indicators=outcome.indicators,
        failed_checks=list(outcome.failed_checks),
        image_count=outcome.image_count,
        class_counts=outcome.class_counts,
        score=outcome.score,
        graded_at=_utc(spec.graded_at or now),
        recorded_at=_utc(now),
        operator=spec.operator,
        note=spec.note,
    )
    session.add(row)
    session.flush()
    trace_result(session, settings, row, now)
    return Stored(row, created=True)


def trace_record_of(row: GradingResultRow) -> dict[str, Any]:
    """What traceability signs for `row` (the same every time: re-tracing is a no-op)."""
    return trace_record(
        result_id=row.result_id,
        lot=row.lot,
        tea_type=row.tea_type,
        grade=row.grade,
        conformant=row.conformant,
        graded_at=row.graded_at,
        method=row.method,
        score=row.score,
        samples=row.image_count,
    )


def trace_result(
    session: Session, settings: Settings, row: GradingResultRow, now: datetime
) -> str | None:
    """Sign `row` into its lot's trace chain, in a savepoint of the caller's unit of work; the
    event id, or None when the ledger refused (the reason goes to ``row.trace_error``) or the
    trace module is absent. Idempotent: a traced result gets its event id back."""
    if importlib.util.find_spec("teaplatform.trace.hooks") is None:
        return None
    from teaplatform.trace.hooks import record_grading_result
    from teaplatform.trace.keystore import KeyStoreError
    from teaplatform.trace.service import TraceError

    try:
        with session.begin_nested():
            recorded = record_grading_result(session, settings, trace_record_of(row), now=now)
    # a bad record (EventError is a ValueError), a refusal (TraceError) or an unusable key file
    except (ValueError, TraceError, KeyStoreError) as exc:
        log.warning("grading result %s (lot %s) not traced: %s", row.result_id, row.lot, exc)
        row.trace_error = str(exc) or type(exc).__name__
        return None
    row.trace_event_id, row.trace_error = recorded.event_id, None
    return recorded.event_id


def get_result(session: Session, result_id: str) -> GradingResultRow:
    row = session.scalar(select(GradingResultRow).where(GradingResultRow.result_id == result_id))
    if row is None:
        raise GradingNotFoundError(f"no grading result {result_id}")
    return row


def list_results(
    session: Session, *, lot: str | None = None, tea_type: str | None = None, limit: int = 100
) -> list[GradingResultRow]:
    """Results, newest grading first, optionally of one lot and/or one tea type."""
    query = select(GradingResultRow)
    if lot is not None:
        query = query.where(GradingResultRow.lot == lot)
    if tea_type is not None:
        query = query.where(GradingResultRow.tea_type == tea_type)
    order = (GradingResultRow.graded_at.desc(), GradingResultRow.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def result_public(row: GradingResultRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "result_id": row.result_id,
        "lot": row.lot,
        "tea_type": row.tea_type,
        "grade": row.grade,
        "conformant": row.conformant,
        "source": row.source,
        "method": row.method,
        "indicators": dict(row.indicators),
        "failed_checks": list(row.failed_checks),
        "image_count": row.image_count,
        "class_counts": dict(row.class_counts) if row.class_counts is not None else None,
        "score": row.score,
        "graded_at": row.graded_at.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
        "operator": row.operator,
        "note": row.note,
        "trace_event_id": row.trace_event_id,
        "trace_error": row.trace_error,
    }


def counts_public(counts: Mapping[str, int]) -> str:
    """``healthy 47, brown_blight 3`` (for the terminal)."""
    return ", ".join(f"{name} {n}" for name, n in counts.items())
