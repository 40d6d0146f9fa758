"""The MQTT bridge against a real Mosquitto broker, fed with the real WS02 series: malformed
messages are rejected and counted while good ones keep flowing, and the frost alerts match the
pinned crossings (tests/unit/test_garden_rules.py)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from teaplatform.garden import catalog
from teaplatform.garden.bridge import MqttBridge, start_worker
from teaplatform.garden.catalog import DeviceCreate, GardenCreate, PlotCreate
from teaplatform.garden.csvimport import parse_csv
from teaplatform.garden.payload import encode, topic_for
from teaplatform.garden.readings import Reading
from teaplatform.garden.replay import Publisher, replay
from teaplatform.garden.repository import ingest_counts, readings_between
from teaplatform.garden.rulebook import add_rule
from teaplatform.garden.rules import BUILTIN_RULES
from teaplatform.garden.tables import AlertRow
from teaplatform.settings import Settings
from teaplatform.store.db import Store
from testkit.mosquitto import running_mosquitto

pytestmark = pytest.mark.integration

FEB = datetime(2024, 2, 1, tzinfo=UTC)
APR = datetime(2024, 4, 1, tzinfo=UTC)
FROST_AT_9C = [
    (datetime(2024, 2, 11, 0, tzinfo=UTC), datetime(2024, 2, 11, 8, tzinfo=UTC)),
    (datetime(2024, 2, 12, 2, tzinfo=UTC), datetime(2024, 2, 12, 3, tzinfo=UTC)),
    (datetime(2024, 2, 12, 4, tzinfo=UTC), datetime(2024, 2, 12, 5, tzinfo=UTC)),
    (datetime(2024, 3, 1, 21, tzinfo=UTC), datetime(2024, 3, 2, 6, tzinfo=UTC)),
]


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[str, int]]:
    with running_mosquitto() as address:
        yield address


@pytest.fixture
def ws02_spring(shared_data: Path) -> list[Reading]:
    with (shared_data / "tea/garden/WS02_temperature_hourly.csv").open() as fh:
        return [
            r for r in parse_csv(fh, device="WS02") if isinstance(r, Reading) and FEB <= r.ts < APR
        ]


@pytest.fixture
def plot(store: Store) -> int:
    with store.session() as s:
        g = catalog.create_garden(s, GardenCreate(name="g", timezone="UTC"))
        p = catalog.create_plot(s, PlotCreate(garden_id=g.id, name="warm", tea_type="black"))
        catalog.create_device(
            s, DeviceCreate(key="WS02", plot_id=p.id, sensors=["air_temperature"])
        )
        add_rule(s, p.id, BUILTIN_RULES["frost_risk"].model_copy(update={"limit": 9.0}))
        return p.id


def stored(store: Store) -> list[Reading]:
    with store.session() as s:
        return readings_between(s, device="WS02", quantity="air_temperature", start=FEB, end=APR)


def test_real_series_over_mqtt_with_malformed_messages_in_between(
    store: Store,
    plot: int,
    ws02_spring: list[Reading],
    broker: tuple[str, int],
    request: pytest.FixtureRequest,
) -> None:
    host, port = broker
    bridge = MqttBridge(
        store, host, port, client_id=f"bridge-{request.node.name}", flush_interval_s=0.05
    ).start()
    publisher = Publisher(host, port)
    topic = topic_for("tea", "demo", "WS02")
    bad = [
        (topic, b"{not json"),
        (
            topic,
            json.dumps(
                {
                    "quantity": "air_temperature",
                    "ts": "2024-02-05T00:00Z",
                    "value": 50,
                    "unit": "°F",
                }
            ).encode(),
        ),
        (
            topic,
            json.dumps(
                {
                    "quantity": "air_temperature",
                    "ts": "2024-02-05T00:00Z",
                    "value": 95.0,
                    "unit": "°C",
                }
            ).encode(),
        ),
        (topic_for("tea", "demo", "WS99"), encode(ws02_spring[:1])),
    ]
    sent = 0
    try:
        for i, reading in enumerate(ws02_spring):
            publisher.publish(topic, encode([reading]))
            if i % 300 == 150:  # malformed messages in the middle of the good ones
                for t, payload in bad:
                    publisher.publish(t, payload)
                sent += 1
        publisher.flush()
        assert bridge.wait_idle(30, readings=len(ws02_spring) + 4 * sent)
    finally:
        publisher.close()
        bridge.stop()
    assert stored(store) == ws02_spring  # every good reading, in time order
    with store.session() as s:
        counts = {c.outcome: c.count for c in ingest_counts(s) if c.source == "mqtt"}
        frost = s.scalars(
            select(AlertRow).where(AlertRow.rule_name == "frost_risk").order_by(AlertRow.opened_at)
        ).all()
    assert counts == {
        "stored": len(ws02_spring),
        "malformed": sent,
        "wrong_unit": sent,
        "out_of_range": sent,
        "unknown_device": sent,
    }
    assert sent >= 4
    assert [(a.opened_at, a.resolved_at) for a in frost] == FROST_AT_9C


def test_replayed_batches_and_a_bridge_restart_lose_nothing(
    store: Store,
    plot: int,
    ws02_spring: list[Reading],
    broker: tuple[str, int],
    request: pytest.FixtureRequest,
) -> None:
    host, port = broker
    client_id = f"bridge-{request.node.name}"
    first, rest = ws02_spring[:700], ws02_spring[700:]
    publisher = Publisher(host, port)
    try:
        bridge = MqttBridge(store, host, port, client_id=client_id, flush_interval_s=0.05).start()
        replay(first, publisher.publish, speed=0, prefix="tea", garden="demo")
        publisher.flush()
        assert bridge.wait_idle(30, readings=len(first))
        bridge.stop()
        # the bridge is down (a server restart): the broker keeps its persistent session's messages
        replay(rest, publisher.publish, speed=0, prefix="tea", garden="demo")
        publisher.flush()
        bridge = MqttBridge(store, host, port, client_id=client_id, flush_interval_s=0.05).start()
        assert bridge.wait_idle(30, readings=len(rest))  # what the broker kept for it
        bridge.stop()
    finally:
        publisher.close()
    assert stored(store) == ws02_spring


def test_no_broker_configured_no_bridge(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    assert start_worker(Settings(data_dir=tmp_path), store) is None
    store.dispose()
