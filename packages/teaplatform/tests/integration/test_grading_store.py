"""Grading results on SQLite and PostgreSQL: stored per lot, signed into the lot's trace chain
in the same unit of work (after its processing step), idempotent on retry, and kept with the
reason when the ledger refuses them."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from teaplatform.grading import service as grading
from teaplatform.grading.demo import GREEN_SAMPLE
from teaplatform.grading.results import GradingError
from teaplatform.grading.service import (
    GradingConflictError,
    LeafSample,
    LotSpec,
    MadeTeaResult,
)
from teaplatform.processing import service as processing
from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.store.migrate import current_heads
from teaplatform.trace import builders
from teaplatform.trace.journey import verify_lot
from teaplatform.trace.tables import TraceEvent

pytestmark = pytest.mark.integration

START = datetime(2026, 4, 3, 1, tzinfo=UTC)
SAMPLE = GREEN_SAMPLE  # grade 1 by the shipped rules
LOT = "urn:epc:class:lgtin:0614141.020001.XG-2026-07"


def events(store: Store, event_id: str | None = None) -> int:
    query = select(func.count()).select_from(TraceEvent)
    if event_id is not None:
        query = query.where(TraceEvent.event_id == event_id)
    with store.session() as session:
        return session.scalar(query) or 0


def completed_green_batch(store: Store, settings: Settings) -> datetime:
    """A completed, traced xiaoxiang-green batch XG-2026-07; returns when it ended."""
    with store.session() as session:
        spec = processing.BatchCreate(
            recipe="xiaoxiang-green", code="XG-2026-07", picked_on=date(2026, 4, 2), leaf_kg=60
        )
        batch = processing.create_batch(session, spec, START)
        processing.start_batch(session, batch.id, START)
        at = START
        while processing.get_batch(session, batch.id).state != "completed":
            at += timedelta(hours=1)
            processing.advance_batch(session, batch.id, at)
        assert processing.trace_completed(session, settings, at) == 1
    return at


def test_migration_adds_the_grading_branch(store: Store) -> None:
    assert "grading_0001" in current_heads(store.engine)
    columns = {c["name"] for c in inspect(store.engine).get_columns("grading_results")}
    assert {"lot", "tea_type", "grade", "indicators", "failed_checks", "class_counts"} <= columns
    assert {"source", "image_count", "graded_at", "operator", "trace_event_id"} <= columns


def test_a_graded_lot_is_one_signed_event_after_processing(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ended = completed_green_batch(store, settings)
    spec = MadeTeaResult(
        lot="XG-2026-07",
        tea_type="green",
        indicators=SAMPLE,
        graded_at=ended + timedelta(hours=2),
        operator="Li",
        result_id="qc-2026-0001",
    )
    with store.session() as session:
        stored = grading.record_made_tea(session, settings, spec, ended + timedelta(hours=3))
        assert stored.created and stored.row.grade == "grade 1"
        event_id = stored.row.trace_event_id
    assert event_id == builders.event_id("grading:qc-2026-0001")
    assert events(store, event_id) == 1
    # a retry: the same result id and content is the stored result, no second event
    with store.session() as session:
        again = grading.record_made_tea(session, settings, spec, ended + timedelta(hours=4))
        assert not again.created and again.row.id == stored.row.id
        assert grading.trace_result(session, settings, again.row, ended) == event_id
    assert events(store, event_id) == 1
    with store.session() as session:
        assert len(grading.list_results(session, lot="XG-2026-07")) == 1
        report = verify_lot(session, LOT)
    assert report is not None and report.status == "verified"
    assert [s.stage for s in report.steps] == ["processing", "grading"]
    step = report.steps[1]
    assert step.event_id == event_id and step.disposition == "conformant"
    assert step.details["tea:grade"] == {
        "grade": "grade 1",
        "score": 90.5,
        "method": "made-tea rules v1",
    }


def test_a_trace_refusal_keeps_the_result_with_the_reason(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    bad = MadeTeaResult(lot="lot 7 / north shed", tea_type="black", indicators=SAMPLE)
    with store.session() as session:
        stored = grading.record_made_tea(session, settings, bad, now)
        result_id = stored.row.result_id
    with store.session() as session:
        row = grading.get_result(session, result_id)
        assert row.trace_event_id is None
        assert row.trace_error is not None and "lot" in row.trace_error
        assert row.grade == "grade 1" and row.graded_at == now
    assert events(store) == 0  # nothing half-recorded
    with store.session() as session, pytest.raises(GradingError, match="unknown tea"):
        grading.record_made_tea(session, settings, bad.model_copy(update={"tea_type": "x"}), now)


def test_leaf_images_results_filters_and_conflicts(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    now = datetime(2026, 5, 2, tzinfo=UTC)
    sample = LeafSample({"healthy": 40, "brown_blight": 10}, model="classifier test", seconds=0.1)
    spec = LotSpec(lot="AH-26-3", tea_type="dark", result_id="leaf-1")
    with store.session() as session:
        leaf = grading.record_leaf_images(session, settings, spec, sample, now)
        grading.record_made_tea(
            session, settings, MadeTeaResult(lot="B-1", tea_type="black", indicators=SAMPLE), now
        )
        public = grading.result_public(leaf.row)
    assert public["source"] == "leaf-images" and public["grade"] == "leaf grade 2"
    assert public["image_count"] == 50 and public["score"] == 0.8
    assert public["class_counts"] == {"brown_blight": 10, "healthy": 40}
    assert public["trace_event_id"] and public["trace_error"] is None
    with store.session() as session:
        assert [r.lot for r in grading.list_results(session, tea_type="dark")] == ["AH-26-3"]
        assert len(grading.list_results(session)) == 2
        assert grading.list_results(session, lot="nope") == []
        other = LeafSample({"healthy": 50}, model="classifier test", seconds=0.1)
        with pytest.raises(GradingConflictError, match="leaf-1"):
            grading.record_leaf_images(session, settings, spec, other, now)
        with pytest.raises(GradingError, match="tea type"):
            grading.record_leaf_images(
                session, settings, spec.model_copy(update={"tea_type": "oolong"}), sample, now
            )


def test_demo_grades_two_processing_demo_lots_once(store: Store, tmp_path: Path) -> None:
    from teaplatform.grading.demo import seed_demo
    from teaplatform.processing.demo import seed_demo as seed_processing

    settings = Settings(data_dir=tmp_path)
    assert seed_demo(settings, store) == "no completed demo batches to grade"
    seed_processing(settings, store)
    summary = seed_demo(settings, store)
    assert "DEMO-green grade 1 (made-tea-rules)" in summary and "2 traced" in summary
    assert "DEMO-dark leaf grade 1 (leaf-images)" in summary
    before = events(store)
    assert "present already" in seed_demo(settings, store)
    assert events(store) == before
    with store.session() as session:
        results = grading.list_results(session)
        assert sorted(r.lot for r in results) == ["DEMO-dark", "DEMO-green"]
        assert all("SYNTHETIC" in r.note for r in results)
        for item_ref, code in (("020001", "DEMO-green"), ("020003", "DEMO-dark")):
            report = verify_lot(session, f"urn:epc:class:lgtin:0614141.{item_ref}.{code}")
            assert report is not None and report.status == "verified"
            assert [s.stage for s in report.steps] == ["processing", "grading"]
