"""Stable entry points for other modules: their facts become signed trace events.

    record_processing_batch(session, settings, batch_record)   # processing: a finished batch
    record_grading_result(session, settings, result)           # grading: a graded lot

Both are idempotent (the event ID derives from the batch / result id) and run in the caller's
unit of work, so the trace event commits or rolls back with the fact it records. Lots may be
LGTIN URNs or plain lot numbers, which map to the tea type's product in `catalog`. The signer is
``record["org"]`` when given, else this installation's own organisation (registered on first
use with a fresh key).
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from teaplatform.settings import Settings
from teaplatform.trace import builders, ids
from teaplatform.trace.catalog import tea
from teaplatform.trace.epcis import EventError, parse_time
from teaplatform.trace.service import Recorded, record_event, register_org

LOCAL_ORG = "urn:teaplatform:org:local"
PROCESSING_SCHEMA = "teaplatform.processing.batch-record/1"  # teaplatform.processing.record
_LOT_CHARS = re.compile(r"[^A-Za-z0-9\-._]")


def _lot_number(text: str) -> str:
    """A GS1-safe lot number (20 characters of A-Z a-z 0-9 - . _) from a free-form label."""
    return _LOT_CHARS.sub("-", text)[:20] or "UNKNOWN"


def from_processing_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The processing module's batch record (schema batch-record/1) in our terms: the batch
    code is the made-tea lot; the fresh leaf is the plot's lot of the picking day."""
    batch = record.get("batch") or {}
    if not batch.get("ended_at") or batch.get("state") != "completed":
        raise EventError(["batch record: only a completed batch becomes a trace event"])
    code = str(batch.get("code") or batch.get("id"))
    leaf = f"P{batch.get('plot_id') or 0}-{str(batch.get('picked_on') or '').replace('-', '')}"
    return {
        "batch_id": code,
        "tea_type": batch.get("tea_type") or (record.get("recipe") or {}).get("tea_type"),
        "recipe": (record.get("recipe") or {}).get("name"),
        "started_at": batch.get("started_at"),
        "finished_at": batch.get("ended_at"),
        "inputs": [{"lot": _lot_number(leaf.rstrip("-")), "quantity_kg": batch.get("leaf_kg")}],
        "output": {"lot": _lot_number(code), "quantity_kg": None},
        "deviations": len(record.get("alarms") or ()),
        "stages": [
            {"key": stage.get("key"), "minutes": stage.get("minutes")}
            for stage in record.get("stages") or ()
        ],
    }


def _org(
    session: Session, settings: Settings, record: Mapping[str, Any], now: datetime | None
) -> str:
    org = record.get("org")
    if isinstance(org, str) and org:
        return org
    register_org(
        session,
        settings,
        LOCAL_ORG,
        "This tea workshop",
        name_zh="本茶厂",
        role="processor",
        now=now,
    )
    return LOCAL_ORG


def _time(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EventError([f"{field}: needs a time zone"])
        return value
    if isinstance(value, str):
        return parse_time(value)
    raise EventError([f"{field}: a datetime or ISO 8601 string is required"])


def _lot(value: Any, tea_type: str | None, *, made: bool, field: str) -> tuple[str, str]:
    """(LGTIN, lot number) of `value`, an LGTIN URN or a lot number of the tea type."""
    if isinstance(value, str) and ids.is_lgtin(value):
        return value, ids.parse_lgtin(value).lot
    if not isinstance(value, str) or not tea_type:
        raise EventError([f"{field}: an LGTIN URN, or a lot number with tea_type"])
    product = tea(tea_type).made if made else tea(tea_type).leaf
    try:
        return product.lgtin(value), value
    except ids.IdentifierError as exc:
        raise EventError([f"{field}: {exc}"]) from None


def record_processing_batch(
    session: Session,
    settings: Settings,
    batch_record: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Recorded:
    """A finished processing batch as a TransformationEvent.

    batch_record: ``batch_id``, ``finished_at``, ``inputs`` ([{``lot``, ``quantity_kg``}]),
    ``output`` ({``lot``, ``quantity_kg``}); optional ``tea_type`` (needed for plain lot
    numbers), ``recipe``, ``started_at``, ``site`` (SGLN), ``deviations``, ``stages``, ``org``.
    """
    if batch_record.get("schema") == PROCESSING_SCHEMA:
        batch_record = from_processing_record(batch_record)
    try:
        batch_id = str(batch_record["batch_id"])
        inputs = list(batch_record["inputs"])
        output = dict(batch_record["output"])
    except (KeyError, TypeError):
        raise EventError(["batch_record: batch_id, inputs and output are required"]) from None
    tea_type = batch_record.get("tea_type")
    out_lot, lot_number = _lot(output.get("lot"), tea_type, made=True, field="output.lot")
    details = {
        k: batch_record[k]
        for k in ("recipe", "tea_type", "deviations", "stages")
        if batch_record.get(k) is not None
    }
    details["id"] = batch_id
    if batch_record.get("started_at") is not None:
        details["startedAt"] = _time(batch_record["started_at"], "started_at").isoformat()
    event = builders.processing(
        name=f"processing:{batch_id}",
        inputs=[
            (
                _lot(item.get("lot"), tea_type, made=False, field="inputs.lot")[0],
                item.get("quantity_kg"),
            )
            for item in inputs
        ],
        output_lot=out_lot,
        lot_number=lot_number,
        kg=output.get("quantity_kg"),
        at=_time(batch_record.get("finished_at"), "finished_at"),
        site=batch_record.get("site"),
        details=details,
    )
    return record_event(
        session, settings, event, org=_org(session, settings, batch_record, now), now=now
    )


def record_grading_result(
    session: Session, settings: Settings, result: Mapping[str, Any], *, now: datetime | None = None
) -> Recorded:
    """A grading result of a made-tea lot as an ObjectEvent (bizStep inspecting).

    result: ``result_id``, ``lot``, ``grade``, ``graded_at``; optional ``tea_type``,
    ``conformant`` (default True), ``score``, ``method``, ``samples``, ``site``, ``org``.
    """
    try:
        result_id = str(result["result_id"])
        grade = str(result["grade"])
    except KeyError:
        raise EventError(["result: result_id and grade are required"]) from None
    lot, _ = _lot(result.get("lot"), result.get("tea_type"), made=True, field="lot")
    event = builders.grading(
        name=f"grading:{result_id}",
        lot=lot,
        grade=grade,
        conformant=bool(result.get("conformant", True)),
        at=_time(result.get("graded_at"), "graded_at"),
        site=result.get("site"),
        details={k: result[k] for k in ("score", "method", "samples") if result.get(k) is not None},
    )
    return record_event(session, settings, event, org=_org(session, settings, result, now), now=now)
