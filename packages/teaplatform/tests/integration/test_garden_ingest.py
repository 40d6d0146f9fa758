"""Ingestion into a real store (SQLite and PostgreSQL): idempotent, ordered, counted."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from teaplatform.garden import catalog, ingest
from teaplatform.garden.catalog import DeviceCreate, GardenCreate, PlotCreate
from teaplatform.garden.readings import Reading, Rejection, RejectReason
from teaplatform.garden.repository import ingest_counts, readings_between
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def air(device: str, hour: int, value: float) -> Reading:
    return Reading(device, "air_temperature", T0 + hour * H, value, "°C")


@pytest.fixture
def garden(store: Store) -> dict[str, int]:
    with store.session() as s:
        g = catalog.create_garden(s, GardenCreate(name="g", timezone="UTC"))
        p = catalog.create_plot(s, PlotCreate(garden_id=g.id, name="p", tea_type="green"))
        catalog.create_device(
            s, DeviceCreate(key="WS01", plot_id=p.id, sensors=["air_temperature"])
        )
        catalog.create_device(s, DeviceCreate(key="WS02", plot_id=p.id))
        catalog.create_device(s, DeviceCreate(key="dryer-1", kind="processing", line="line 1"))
        return {"plot": p.id}


def run(
    store: Store, items: Sequence[Reading | Rejection], source: str = "test"
) -> ingest.IngestResult:
    with store.session() as s:
        return ingest.ingest(s, items, source=source, now=NOW)


def test_readings_are_stored_once_and_read_back_in_time_order(
    store: Store, garden: dict[str, int]
) -> None:
    late_first = [air("WS01", h, 10.0 + h) for h in (5, 1, 3, 0, 2, 4)]
    result = run(store, late_first)
    assert (result.stored, result.duplicates, result.rejected) == (6, 0, [])
    again = run(store, [air("WS01", 3, 99.0), air("WS01", 6, 16.0), air("WS01", 6, 17.0)])
    # a repeat of a stored reading and a repeat within the batch: the first one wins, no update
    assert (again.stored, again.duplicates) == (1, 2)
    with store.session() as s:
        got = readings_between(
            s, device="WS01", quantity="air_temperature", start=T0, end=T0 + 7 * H
        )
        assert [r.value for r in got] == [10, 11, 12, 13, 14, 15, 16]
        assert all(r.ts.tzinfo is UTC and r.unit == "°C" for r in got)
        # half-open range, by plot
        plot = readings_between(
            s, plot_id=garden["plot"], quantity="air_temperature", start=T0 + H, end=T0 + 3 * H
        )
        assert [(r.device, r.ts) for r in plot] == [("WS01", T0 + H), ("WS01", T0 + 2 * H)]


def test_bad_readings_are_rejected_counted_and_do_not_stop_the_batch(
    store: Store, garden: dict[str, int]
) -> None:
    items: list[Reading | Rejection] = [
        air("WS01", 0, 12.0),
        Rejection(RejectReason.WRONG_UNIT, "air_temperature is in °C, not '°F'", "WS01"),
        air("nobody", 0, 12.0),
        Reading("WS01", "soil_moisture", T0, 30.0, "%"),  # WS01 declares air_temperature only
        Reading("WS02", "soil_moisture", T0, 30.0, "%"),  # WS02 declares nothing: any quantity
        Reading("dryer-1", "hot_air_temperature", T0, 110.0, "°C"),
    ]
    result = run(store, items, source="mqtt")
    assert result.stored == 3
    assert [(i, r.reason) for i, r in result.rejected] == [
        (1, RejectReason.WRONG_UNIT),
        (2, RejectReason.UNKNOWN_DEVICE),
        (3, RejectReason.NOT_ON_DEVICE),
    ]
    run(store, [air("WS01", 0, 12.0), air("ghost", 1, 1.0)], source="mqtt")
    with store.session() as s:
        counts = {(c.source, c.outcome): c.count for c in ingest_counts(s)}
        details = {c.outcome: c.last_detail for c in ingest_counts(s)}
        device = catalog.get_device(s, "WS02")
    assert counts == {
        ("mqtt", "stored"): 3,
        ("mqtt", "duplicate"): 1,
        ("mqtt", "wrong_unit"): 1,
        ("mqtt", "unknown_device"): 2,
        ("mqtt", "sensor_not_on_device"): 1,
    }
    assert details["unknown_device"] == "no device 'ghost'"
    assert device.last_seen_at == NOW


def test_consumers_get_only_new_readings_and_a_failing_one_loses_nothing(
    store: Store, garden: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[Reading]] = []

    def record(session: Session, readings: Sequence[Reading]) -> None:
        seen.append(list(readings))

    def explode(session: Session, readings: Sequence[Reading]) -> None:
        catalog.create_garden(session, GardenCreate(name="written by a failing consumer"))
        raise RuntimeError("consumer bug")

    monkeypatch.setattr(ingest, "consumers", lambda: (("explode", explode), ("record", record)))
    run(store, [air("WS01", 1, 5.0), air("WS01", 0, 4.0)])
    run(store, [air("WS01", 1, 5.0), air("WS01", 2, 6.0)])
    assert [[r.ts for r in batch] for batch in seen] == [[T0, T0 + H], [T0 + 2 * H]]
    with store.session() as s:
        stored = readings_between(
            s, device="WS01", quantity="air_temperature", start=EVER[0], end=EVER[1]
        )
        assert len(stored) == 3
        assert catalog.garden_by_name(s, "written by a failing consumer") is None


def test_ingest_in_chunks_adds_up(store: Store, garden: dict[str, int]) -> None:
    items: list[Reading | Rejection] = [air("WS01", h, 20.0) for h in range(25)]
    items.insert(7, Rejection(RejectReason.EMPTY_VALUE, "line 9: no value (a gap)", "WS01"))
    totals = ingest.ingest_in_chunks(store, items, source="csv", chunk=10)
    assert (totals.received, totals.stored, totals.duplicates) == (26, 25, 0)
    assert totals.rejects == {"empty_value": 1}
    again = ingest.ingest_in_chunks(store, items, source="csv", chunk=4)
    assert (again.stored, again.duplicates) == (0, 25)
