"""Alerts from the real WS02 series through the store (SQLite and PostgreSQL): the frost rule
fires exactly at the pinned crossings (see tests/unit/test_garden_rules.py for how they were
found), one alert per episode, the life cycle, the outbox, and missing data."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from teaplatform.garden import alerting, catalog
from teaplatform.garden.catalog import DeviceCreate, GardenCreate, PlotCreate
from teaplatform.garden.csvimport import parse_csv
from teaplatform.garden.ingest import ingest, ingest_in_chunks
from teaplatform.garden.readings import Reading
from teaplatform.garden.rulebook import add_rule, plot_rule_list
from teaplatform.garden.rules import BUILTIN_RULES, RuleSpec
from teaplatform.garden.tables import AlertEventRow, AlertRow
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

FROST_AT_9C = [  # (opened, trigger value, resolved, coldest): pinned from the real data
    (datetime(2024, 2, 11, 0, tzinfo=UTC), 8.56, datetime(2024, 2, 11, 8, tzinfo=UTC), 6.49),
    (datetime(2024, 2, 12, 2, tzinfo=UTC), 8.94, datetime(2024, 2, 12, 3, tzinfo=UTC), 8.94),
    (datetime(2024, 2, 12, 4, tzinfo=UTC), 8.94, datetime(2024, 2, 12, 5, tzinfo=UTC), 8.94),
    (datetime(2024, 3, 1, 21, tzinfo=UTC), 8.85, datetime(2024, 3, 2, 6, tzinfo=UTC), 8.48),
]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def setup_plots(store: Store) -> tuple[int, int]:
    """Two plots with one WS02 copy each: `warm` tunes frost to 9 °C, `plain` keeps 3 °C."""
    with store.session() as s:
        g = catalog.create_garden(s, GardenCreate(name="g", timezone="UTC"))
        warm = catalog.create_plot(s, PlotCreate(garden_id=g.id, name="warm", tea_type="black"))
        plain = catalog.create_plot(s, PlotCreate(garden_id=g.id, name="plain", tea_type="green"))
        catalog.create_device(s, DeviceCreate(key="WS02", plot_id=warm.id))
        catalog.create_device(s, DeviceCreate(key="WS02-copy", plot_id=plain.id))
        add_rule(s, warm.id, BUILTIN_RULES["frost_risk"].model_copy(update={"limit": 9.0}))
        return warm.id, plain.id


def import_ws02(store: Store, shared_data: Path, device: str, chunk: int) -> int:
    with (shared_data / "tea/garden/WS02_temperature_hourly.csv").open() as fh:
        return ingest_in_chunks(
            store, parse_csv(fh, device=device), source="csv", chunk=chunk
        ).stored


def alerts_of(store: Store, rule: str, plot: int) -> list[AlertRow]:
    with store.session() as s:
        return list(
            s.scalars(
                select(AlertRow)
                .where(AlertRow.rule_name == rule, AlertRow.plot_id == plot)
                .order_by(AlertRow.opened_at)
            )
        )


def test_frost_alerts_on_the_real_series_open_and_resolve_at_the_crossings(
    store: Store, shared_data: Path
) -> None:
    warm, plain = setup_plots(store)
    # one plot in big chunks, the other in odd small ones: the chunking must not matter
    assert import_ws02(store, shared_data, "WS02", chunk=5000) == 9088
    assert import_ws02(store, shared_data, "WS02-copy", chunk=333) == 9088
    frost = alerts_of(store, "frost_risk", warm)
    assert [
        (a.opened_at, a.trigger_value, a.resolved_at, a.peak_value) for a in frost
    ] == FROST_AT_9C
    assert {(a.state, a.resolved_by, a.severity) for a in frost} == {
        ("resolved", "rule", "critical")
    }
    assert alerts_of(store, "frost_risk", plain) == []
    # heat stress fires on both plots alike, one alert per episode, whatever the chunking
    heat_warm = [
        (a.opened_at, a.resolved_at, a.peak_value) for a in alerts_of(store, "heat_stress", warm)
    ]
    heat_plain = [
        (a.opened_at, a.resolved_at, a.peak_value) for a in alerts_of(store, "heat_stress", plain)
    ]
    assert heat_warm == heat_plain
    assert len(heat_warm) > 10
    assert all(peak is not None and peak >= 35.0 for _, _, peak in heat_warm)
    # re-importing changes nothing
    assert import_ws02(store, shared_data, "WS02", chunk=1000) == 0
    assert len(alerts_of(store, "frost_risk", warm)) == 4


def test_one_alert_per_episode_and_the_life_cycle(store: Store) -> None:
    warm, _ = setup_plots(store)
    t0 = datetime(2024, 2, 20, tzinfo=UTC)

    def send(hour: int, value: float) -> None:
        with store.session() as s:
            ingest(
                s,
                [Reading("WS02", "air_temperature", t0 + timedelta(hours=hour), value, "°C")],
                source="t",
                now=NOW,
            )

    for hour, value in enumerate([12.0, 8.0, 7.0, 6.5]):  # one episode across four batches
        send(hour, value)
    [alert] = alerts_of(store, "frost_risk", warm)
    assert (alert.state, alert.trigger_value, alert.peak_value) == ("open", 8.0, 6.5)
    assert alert.last_at == t0 + timedelta(hours=3)
    with store.session() as s:
        acked = alerting.acknowledge(s, alert.id, "li.wei", NOW)
        assert (acked.state, acked.acknowledged_by) == ("acknowledged", "li.wei")
        alerting.acknowledge(s, alert.id, "someone else", NOW)  # no-op
    send(4, 5.0)
    send(5, 10.0)  # the weather clears: the rule resolves it
    [alert] = alerts_of(store, "frost_risk", warm)
    assert (alert.state, alert.resolved_by, alert.resolved_at) == (
        "resolved",
        "rule",
        t0 + timedelta(hours=5),
    )
    assert (alert.acknowledged_by, alert.peak_value) == ("li.wei", 5.0)
    with store.session() as s, pytest.raises(alerting.AlertStateError):
        alerting.acknowledge(s, alert.id, "x", NOW)
    # a new frost night is a new alert; resolving it by hand does not re-open it while it lasts
    send(6, 4.0)
    opened = alerts_of(store, "frost_risk", warm)[-1]
    with store.session() as s:
        alerting.resolve(s, opened.id, "li.wei", NOW)
    send(7, 3.0)
    assert len(alerts_of(store, "frost_risk", warm)) == 2
    with store.session() as s:
        events = [
            (e.alert_id, e.event, e.payload["alert"]["state"])
            for e in s.scalars(select(AlertEventRow).order_by(AlertEventRow.id))
        ]
    assert events == [
        (alert.id, "opened", "open"),
        (alert.id, "acknowledged", "acknowledged"),
        (alert.id, "resolved", "resolved"),
        (opened.id, "opened", "open"),
        (opened.id, "resolved", "resolved"),
    ]


def test_user_rules_per_plot(store: Store) -> None:
    warm, plain = setup_plots(store)
    drop = RuleSpec(
        name="cold-snap", kind="rate_of_change", quantity="air_temperature", op="fall", limit=4.0
    )
    with store.session() as s:
        add_rule(s, plain, drop)
        add_rule(s, plain, BUILTIN_RULES["heat_stress"], enabled=False)
        with pytest.raises(catalog.ConflictError):
            add_rule(s, plain, drop)
        origins = {r.spec.name: (r.origin, r.enabled) for r in plot_rule_list(s, plain)}
    assert origins["cold-snap"] == ("custom", True)
    assert origins["heat_stress"] == ("override", False)
    assert origins["frost_risk"] == ("builtin", True)
    t0 = datetime(2024, 7, 1, tzinfo=UTC)
    series = [36.0, 37.0, 38.0, 39.0, 33.0, 28.0, 27.0]  # hot for 4 h, then −5 °C/h
    for device in ("WS02", "WS02-copy"):
        with store.session() as s:
            ingest(
                s,
                [
                    Reading(device, "air_temperature", t0 + timedelta(hours=i), v, "°C")
                    for i, v in enumerate(series)
                ],
                source="t",
                now=NOW,
            )
    assert [a.opened_at.hour for a in alerts_of(store, "cold-snap", plain)] == [4]
    assert alerts_of(store, "heat_stress", plain) == []
    assert [(a.opened_at.hour, a.resolved_at) for a in alerts_of(store, "heat_stress", warm)] == [
        (3, t0 + timedelta(hours=4))
    ]
    assert alerts_of(store, "cold-snap", warm) == []


def test_missing_data_opens_once_and_resolves_when_the_device_reports(store: Store) -> None:
    _warm, _ = setup_plots(store)
    seen = datetime(2025, 6, 1, 8, tzinfo=UTC)
    with store.session() as s:
        ingest(s, [Reading("WS02", "air_temperature", seen, 20.0, "°C")], source="t", now=seen)
    with store.session() as s:
        assert alerting.sweep_missing(s, seen + timedelta(minutes=119)) == []
        [alert] = alerting.sweep_missing(s, seen + timedelta(hours=3))
        assert (alert.rule_name, alert.opened_at) == ("sensor_silent", seen + timedelta(hours=2))
    with store.session() as s:
        assert alerting.sweep_missing(s, seen + timedelta(hours=4)) == []  # alerted already
        alerting.resolve(s, alert.id, "tech", seen + timedelta(hours=4))
    with store.session() as s:
        assert alerting.sweep_missing(s, seen + timedelta(hours=5)) == []  # the same silence
    back = seen + timedelta(hours=6)
    with store.session() as s:  # the device reports again, then falls silent again
        ingest(s, [Reading("WS02", "air_temperature", back, 21.0, "°C")], source="t", now=back)
        [again] = alerting.sweep_missing(s, back + timedelta(hours=2))
    with store.session() as s:
        ingest(
            s,
            [Reading("WS02", "air_temperature", back + timedelta(hours=3), 21.0, "°C")],
            source="t",
            now=back + timedelta(hours=3),
        )
        states = s.execute(
            select(AlertRow.state, func.count())
            .where(AlertRow.rule_name == "sensor_silent")
            .group_by(AlertRow.state)
        )
        assert dict(states.all()) == {"resolved": 2}
        assert s.get_one(AlertRow, again.id).resolved_by == "rule"
