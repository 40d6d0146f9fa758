"""Wiring: a completed processing batch's record (the processing module's own schema) becomes
a signed, verifiable trace event through `record_processing_batch`."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from teaplatform.processing import service as processing
from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.trace.epcis import EventError
from teaplatform.trace.hooks import record_grading_result, record_processing_batch
from teaplatform.trace.journey import verify_lot

pytestmark = pytest.mark.integration


def test_a_completed_batch_record_becomes_a_verified_trace_event(
    store: Store, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    start = datetime(2026, 4, 3, 1, tzinfo=UTC)
    with store.session() as session:
        spec = processing.BatchCreate(
            recipe="anhua-dark", code="AH-2026-07", picked_on=date(2026, 4, 2), leaf_kg=180.0
        )
        batch = processing.create_batch(session, spec, start)
        processing.start_batch(session, batch.id, start)
        with pytest.raises(EventError, match="completed"):
            record_processing_batch(
                session, settings, processing.batch_record(session, batch.id, start)
            )
        at = start
        while processing.get_batch(session, batch.id).state != "completed":
            at += timedelta(hours=2)
            processing.advance_batch(session, batch.id, at)
        record = processing.batch_record(session, batch.id, at)
        done = record_processing_batch(session, settings, record, now=at)
        assert done.created
        assert record_processing_batch(session, settings, record, now=at).created is False
    lot = "urn:epc:class:lgtin:0614141.020003.AH-2026-07"
    assert lot in done.lots
    with store.session() as session:
        report = verify_lot(session, lot)
        assert report is not None and report.status == "verified"
        step = report.steps[0]
        assert step.stage == "processing"
        assert step.details["tea:batch"]["recipe"] == record["recipe"]["name"]
        assert "urn:epc:class:lgtin:0614141.010003.P0-20260402" in report.lots


def test_the_first_event_of_a_new_signer_verifies_at_a_sub_millisecond_time(
    store: Store, tmp_path: Path
) -> None:
    """The local organisation's key is made in the same call as its first event: the key's
    start and the event's record time (signed to the millisecond) must agree."""
    settings = Settings(data_dir=tmp_path)
    now = datetime(2026, 4, 5, 2, 0, 0, 123456, tzinfo=UTC)
    result = {"result_id": "r-1", "lot": "B26-09", "tea_type": "black", "grade": "grade 1"}
    with store.session() as session:
        done = record_grading_result(session, settings, {**result, "graded_at": now}, now=now)
    with store.session() as session:
        report = verify_lot(session, done.lots[0])
    assert report is not None and report.status == "verified", report.findings
