"""The SYNTHETIC demo batches and the processing clock on a real store."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teaplatform.processing import service
from teaplatform.processing.demo import seed_demo
from teaplatform.processing.service import BatchCreate
from teaplatform.processing.worker import ProcessingClock
from teaplatform.settings import Settings
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration


def test_demo_seeds_one_labelled_batch_per_tea_once(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    summary = seed_demo(settings, store)
    assert "5 SYNTHETIC batches" in summary
    assert seed_demo(settings, store) == "SYNTHETIC demo batches: present already"
    with store.session() as session:
        batches = service.list_batches(session)
        assert sorted(b.tea_type for b in batches) == ["black", "dark", "green", "white", "yellow"]
        assert all("SYNTHETIC" in b.note for b in batches)
        assert [b.code for b in batches if b.state == "running"] == ["DEMO-black"]
        alarms = service.list_alarms(session)
        assert {(a.quantity, a.state) for a in alarms} == {
            ("leaf_temperature", "resolved"),
            ("humidity", "open"),
            ("pile_temperature", "resolved"),
        }
        black = next(b for b in batches if b.tea_type == "black")
        estimate = service.fermentation_estimate(session, black.id, datetime.now(UTC))
        assert estimate is not None and estimate["coverage"] > 0.9


def test_the_clock_advances_silent_batches_and_traces_them(store: Store, tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with store.session() as session:
        batch = service.create_batch(
            session, BatchCreate(recipe="xiaoxiang-green", auto_advance=True), long_ago
        )
        service.start_batch(session, batch.id, long_ago)
        batch_id = batch.id
    clock = ProcessingClock(store, Settings(data_dir=tmp_path), period_s=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.session() as session:
                if service.get_batch(session, batch_id).traced_at is not None:
                    break
            time.sleep(0.05)
    finally:
        clock.stop()
    with store.session() as session:
        row = service.get_batch(session, batch_id)
        assert row.state == "completed"
        assert row.ended_at == long_ago + timedelta(minutes=360 + 3 + 20 + 25 + 12 + 45)
        # handed to traceability once: a signed event, not an error
        assert row.trace_event is not None and not row.trace_event.startswith("error")
        assert service.trace_completed(session, Settings(data_dir=tmp_path), datetime.now(UTC)) == 0
