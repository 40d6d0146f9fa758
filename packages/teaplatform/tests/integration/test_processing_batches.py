"""Batches on a real store (SQLite and PostgreSQL): telemetry through the garden ingestion →
deviation alarms (sustained, de-duplicated, resolved), stages by hand and by elapsed time,
overruns, and the batch record."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from teaplatform.garden import catalog
from teaplatform.garden.ingest import ingest
from teaplatform.garden.readings import Reading, check
from teaplatform.processing import service
from teaplatform.processing.batch import TransitionError
from teaplatform.processing.service import BatchCreate, BatchInputError
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

T0 = datetime(2024, 10, 1, 6, tzinfo=UTC)
DEVICE = "line1-ferm"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(minute: float, quantity: str, value: float) -> Reading:
    unit = "%" if quantity in ("humidity", "leaf_moisture") else "°C"
    made = check(DEVICE, quantity, at(minute), value, unit)
    assert isinstance(made, Reading)
    return made


def send(store: Store, readings: Iterable[Reading]) -> int:
    with store.session() as session:
        return ingest(session, list(readings), source="http", now=datetime.now(UTC)).stored


def setup(store: Store, *, auto: bool = False) -> int:
    with store.session() as session:
        catalog.create_device(
            session, catalog.DeviceCreate(key=DEVICE, kind=catalog.DeviceKind.PROCESSING, line="L1")
        )
        batch = service.create_batch(
            session,
            BatchCreate(recipe="hunan-black", device=DEVICE, leaf_kg=50, auto_advance=auto),
            T0,
        )
        service.start_batch(session, batch.id, T0)
        return batch.id


def alarms(session: Session, batch_id: int) -> list[dict[str, object]]:
    return [service.alarm_public(a) for a in service.list_alarms(session, batch_id=batch_id)]


def test_sustained_excursions_alarm_once_and_resolve(store: Store) -> None:
    batch_id = setup(store)
    with store.session() as session:
        service.advance_batch(session, batch_id, at(600))  # withering → rolling
        service.advance_batch(session, batch_id, at(680))  # rolling → fermentation
    # fermentation: 27 °C is fine; one 35 °C spike is noise; 10 min at 32 °C is an alarm
    leaf = [(680 + m, 27.0) for m in range(5)] + [(685, 35.0)] + [(686 + m, 27.0) for m in range(4)]
    leaf += [(690 + m, 32.0 + m / 10) for m in range(10)] + [(700 + m, 27.0) for m in range(4)]
    assert send(store, (reading(m, "leaf_temperature", v) for m, v in leaf)) == len(leaf)
    with store.session() as session:
        found = alarms(session, batch_id)
    assert len(found) == 1
    alarm = found[0]
    assert (alarm["quantity"], alarm["direction"], alarm["limit"]) == (
        "leaf_temperature",
        "high",
        30.0,
    )
    assert alarm["since"] == at(690).isoformat()
    assert alarm["opened_at"] == at(695).isoformat()  # after sustaining 5 min
    assert alarm["extreme"] == pytest.approx(32.9)
    assert (alarm["state"], alarm["resolved_by"]) == ("resolved", "back-in-range")
    assert alarm["resolved_at"] == at(702).isoformat()  # back in range for 2 min

    # the same readings delivered again change nothing
    assert send(store, (reading(m, "leaf_temperature", v) for m, v in leaf)) == 0
    with store.session() as session:
        assert len(alarms(session, batch_id)) == 1


def test_a_flip_from_high_to_low_is_two_alarms(store: Store) -> None:
    batch_id = setup(store)
    flip = [(m, 35.0) for m in range(7)] + [(m, 10.0) for m in range(7, 14)]
    send(store, (reading(m, "air_temperature", v) for m, v in flip))  # withering: 20-32 °C
    with store.session() as session:
        first, second = alarms(session, batch_id)
    assert (first["direction"], first["state"], first["resolved_at"]) == (
        "high",
        "resolved",
        at(7).isoformat(),
    )
    assert (second["direction"], second["state"], second["extreme"]) == ("low", "open", 10.0)


def test_an_open_alarm_ends_with_its_stage(store: Store) -> None:
    batch_id = setup(store)
    dry = [(m, 50.0) for m in range(0, 20, 2)]  # withering humidity below 60 %
    send(store, (reading(m, "humidity", v) for m, v in dry))
    with store.session() as session:
        (alarm,) = alarms(session, batch_id)
        assert alarm["state"] == "open" and alarm["direction"] == "low"
        service.acknowledge_alarm(session, int(str(alarm["id"])), "operator", at(21))
    with store.session() as session:
        assert alarms(session, batch_id)[0]["state"] == "acknowledged"
        service.advance_batch(session, batch_id, at(30))
    with store.session() as session:
        (alarm,) = alarms(session, batch_id)
        assert (alarm["state"], alarm["resolved_by"]) == ("resolved", "stage-ended")
        assert service.get_batch(session, batch_id).stage_index == 1


def test_auto_advance_and_overrun_by_data_time_and_by_tick(store: Store) -> None:
    batch_id = setup(store, auto=True)
    send(store, [reading(700, "leaf_temperature", 27.0)])  # past withering (600) and rolling (80)
    with store.session() as session:
        batch = service.get_batch(session, batch_id)
        assert batch.stage_index == 2
        assert batch.stage_started_at == at(680)
        runs = service.stage_runs(session, batch_id)
        assert [(r.stage_index, r.ended_by) for r in runs] == [
            (0, "elapsed"),
            (1, "elapsed"),
            (2, None),
        ]
        assert service.tick(session, at(680 + 180 + 15 + 50 + 1)) == 1
        assert service.get_batch(session, batch_id).state == "completed"

    manual = setup_second(store)
    with store.session() as session:
        assert service.tick(session, at(961)) == 0  # withering lasts at most 960 min
        (alarm,) = alarms(session, manual)
        assert (alarm["quantity"], alarm["direction"], alarm["state"]) == (
            "duration",
            "overrun",
            "open",
        )
        assert alarm["opened_at"] == at(960).isoformat()
        service.tick(session, at(1000))
        assert len(alarms(session, manual)) == 1  # de-duplicated


def setup_second(store: Store) -> int:
    with store.session() as session:
        catalog.create_device(
            session,
            catalog.DeviceCreate(key="line2", kind=catalog.DeviceKind.PROCESSING, line="L2"),
        )
        batch = service.create_batch(session, BatchCreate(recipe="hunan-black", device="line2"), T0)
        service.start_batch(session, batch.id, T0)
        return batch.id


def test_batch_record_for_traceability(store: Store) -> None:
    batch_id = setup(store)
    with store.session() as session:
        service.advance_batch(session, batch_id, at(600))
    send(store, (reading(600 + m, "leaf_temperature", 26.0) for m in range(0, 80, 5)))
    with store.session() as session:
        service.advance_batch(session, batch_id, at(680))
    send(store, (reading(680 + m, "leaf_temperature", 27.0) for m in range(0, 180, 5)))
    send(store, (reading(680 + m, "humidity", 95.0) for m in range(0, 180, 5)))
    with store.session() as session:
        for minute in (860, 875):
            service.advance_batch(session, batch_id, at(minute))
    send(store, [reading(920, "leaf_moisture", 6.5)])
    with store.session() as session:
        service.advance_batch(session, batch_id, at(925))
        record = service.batch_record(session, batch_id, at(1000))
        live = service.fermentation_estimate(session, batch_id, at(1000))
    json.dumps(record)  # plain JSON
    assert record["schema"] == "teaplatform.processing.batch-record/1"
    assert record["batch"]["state"] == "completed" and record["batch"]["leaf_kg"] == 50
    stages = record["stages"]
    assert [s["key"] for s in stages] == [
        "withering",
        "rolling",
        "fermentation",
        "first-drying",
        "final-drying",
    ]
    assert [s["minutes"] for s in stages] == [600, 80, 180, 15, 50]
    ferm = stages[2]["telemetry"]
    assert ferm["leaf_temperature"]["n"] == 36 and ferm["leaf_temperature"]["in_range"] == 1.0
    assert stages[4]["targets"]["leaf_moisture"] == {
        "range": "≤ 7",
        "basis": "normative",
        "last": 6.5,
        "met": True,
    }
    fermentation = record["fermentation"]
    assert fermentation is not None and live is not None
    # 80 min at 26 °C + 180 min at 27 °C of first-order oxidation
    assert 0.75 < fermentation["degree"] < 0.85  # the target: a typical batch lands in it
    assert fermentation["coverage"] == pytest.approx(1.0, abs=0.01)
    assert live["degree"] == fermentation["degree"]


def test_rules_of_the_batch_life(store: Store) -> None:
    batch_id = setup(store)
    with store.session() as session:
        other = service.create_batch(session, BatchCreate(recipe="hunan-black", device=DEVICE), T0)
        with pytest.raises(TransitionError, match="running batch"):
            service.start_batch(session, other.id, T0)
        with pytest.raises(TransitionError, match="cannot start a running batch"):
            service.start_batch(session, batch_id, T0)
        with pytest.raises(TransitionError, match="before the stage began"):
            service.advance_batch(session, batch_id, T0 - timedelta(minutes=1))
        with pytest.raises(BatchInputError, match="oolong"):
            service.create_batch(session, BatchCreate(recipe="oolong"), T0)
        with pytest.raises(BatchInputError, match="no device"):
            service.create_batch(session, BatchCreate(recipe="hunan-black", device="nope"), T0)
        service.abort_batch(session, batch_id, at(5), "power cut")
        row = service.get_batch(session, batch_id)
        assert (row.state, row.note) == ("aborted", "aborted: power cut")
        assert row.code == "black-00001"
        service.start_batch(session, other.id, at(6))  # the device is free again
