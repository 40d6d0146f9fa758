"""Alerts from readings: rules applied per batch, the alert life cycle, and the outbox.

`consume` is a reading consumer (see `teaplatform.garden.ingest`): for the devices in a batch
it loads their plots' rules, the rules' states and the active alerts in a few queries, runs the
pure evaluator (`teaplatform.garden.rules`) and writes what changed. An alert is open →
acknowledged → resolved; a rule keeps at most one unresolved alert per device (a partial unique
index backs this up), so a condition that lasts gives one alert, not one per reading. Every
transition writes an `AlertEventRow` in the same transaction: the notifier delivers those.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from teaplatform.garden.readings import QUANTITIES, Reading
from teaplatform.garden.rules import (
    Episode,
    RuleKind,
    RuleSpec,
    RuleState,
    effective_rules,
    evaluate,
    silent_since,
)
from teaplatform.garden.tables import (
    AlertEventRow,
    AlertRow,
    DeviceRow,
    GardenRow,
    PlotRow,
    RuleRow,
    RuleStateRow,
)

OPEN: Final = "open"
ACKNOWLEDGED: Final = "acknowledged"
RESOLVED: Final = "resolved"
STATES: Final = (OPEN, ACKNOWLEDGED, RESOLVED)
BY_RULE: Final = "rule"


class AlertStateError(ValueError):
    """A life-cycle step the alert's state does not allow (e.g. acknowledging a resolved one)."""


@dataclass(frozen=True, slots=True)
class _Device:
    id: int
    key: str
    plot_id: int
    tz: tzinfo


@cache
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _now() -> datetime:
    return datetime.now(UTC)


def plot_rules(session: Session, plot_ids: Iterable[int]) -> dict[int, dict[str, RuleSpec]]:
    """Each plot's effective rules: the built-ins with the plot's overrides and own rules."""
    wanted = sorted(set(plot_ids))
    overrides: dict[int, list[tuple[RuleSpec, bool]]] = {p: [] for p in wanted}
    if wanted:
        for row in session.scalars(select(RuleRow).where(RuleRow.plot_id.in_(wanted))):
            overrides[row.plot_id].append((RuleSpec.model_validate(row.spec), row.enabled))
    return {p: effective_rules(o) for p, o in overrides.items()}


def _devices(session: Session, keys: Iterable[str]) -> dict[str, _Device]:
    rows = session.execute(
        select(DeviceRow.id, DeviceRow.key, DeviceRow.plot_id, GardenRow.timezone)
        .join(PlotRow, PlotRow.id == DeviceRow.plot_id)
        .join(GardenRow, GardenRow.id == PlotRow.garden_id)
        .where(DeviceRow.key.in_(set(keys)))
    )
    # the join leaves only devices in a plot
    return {key: _Device(id_, key, plot or 0, _zone(tz)) for id_, key, plot, tz in rows}


def consume(session: Session, readings: Sequence[Reading]) -> None:
    """Apply the rules of the readings' plots to newly stored `readings` (sorted by time)."""
    series: dict[str, dict[str, list[tuple[datetime, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in readings:
        series[r.device][r.quantity].append((r.ts, r.value))
    devices = _devices(session, series)
    if not devices:
        return
    rules = plot_rules(session, {d.plot_id for d in devices.values()})
    now = _now()
    _resolve_missing(session, [d.id for d in devices.values()], now)

    work: list[tuple[_Device, RuleSpec, list[tuple[datetime, float]]]] = [
        (device, rule, series[key][rule.quantity])
        for key, device in devices.items()
        for rule in rules[device.plot_id].values()
        if rule.quantity in series[key] and rule.kind is not RuleKind.MISSING_DATA
    ]
    if not work:
        return
    pairs = {(rule.name, device.id) for device, rule, _ in work}
    states = {
        (row.rule_key, row.device_id): row
        for row in session.scalars(
            select(RuleStateRow).where(
                RuleStateRow.device_id.in_({d for _, d in pairs}),
                RuleStateRow.rule_key.in_({n for n, _ in pairs}),
            )
        )
    }
    results: list[tuple[_Device, RuleSpec, list[Episode]]] = []
    for device, rule, points in work:
        row = states.get((rule.name, device.id))
        before = RuleState(row.last_ts, row.last_value, row.since, row.firing) if row else None
        outcome = evaluate(rule, before, points, device.tz)
        after = outcome.state
        if after is not None and after != before:
            if row is None:
                session.add(
                    RuleStateRow(
                        rule_key=rule.name,
                        device_id=device.id,
                        last_ts=after.last_ts,
                        last_value=after.last_value,
                        since=after.since,
                        firing=after.firing,
                    )
                )
            else:
                row.last_ts, row.last_value = after.last_ts, after.last_value
                row.since, row.firing = after.since, after.firing
        if outcome.episodes:
            results.append((device, rule, outcome.episodes))
    if results:
        _apply_episodes(session, results, now)


def _active_alerts(
    session: Session, pairs: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], AlertRow]:
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = session.scalars(
        select(AlertRow).where(
            AlertRow.state != RESOLVED,
            tuple_(AlertRow.rule_key, AlertRow.device_id).in_(wanted),
        )
    )
    return {(row.rule_key, row.device_id): row for row in rows}


def _apply_episodes(
    session: Session, results: list[tuple[_Device, RuleSpec, list[Episode]]], now: datetime
) -> None:
    active = _active_alerts(
        session,
        (
            (rule.name, device.id)
            for device, rule, episodes in results
            if episodes[0].opened is None
        ),
    )
    for device, rule, episodes in results:
        for episode in episodes:
            alert = active.pop((rule.name, device.id), None) if episode.opened is None else None
            if episode.opened is None:
                if alert is None:
                    continue  # someone resolved it by hand: the episode goes on unalerted
                alert.peak_value = rule.worse(alert.peak_value or episode.peak, episode.peak)
                alert.last_at = max(alert.last_at, episode.last_at)
            else:
                alert = _open(session, device, rule, episode, now)
            if episode.resolved is not None:
                _set_resolved(
                    session, alert, episode.resolved[0], BY_RULE, now=now, device=device.key
                )


def _message(rule: RuleSpec, device: str, ts: datetime, value: float) -> str:
    unit = QUANTITIES[rule.quantity].unit if rule.quantity in QUANTITIES else ""
    return (
        f"{rule.name} on {device}: {rule.quantity} {value:g} {unit} at "
        f"{ts.isoformat(timespec='minutes')} ({rule.describe()})"
    )


def _open(
    session: Session, device: _Device, rule: RuleSpec, episode: Episode, now: datetime
) -> AlertRow:
    assert episode.opened is not None
    ts, value = episode.opened
    alert = AlertRow(
        rule_key=rule.name,
        rule_name=rule.name,
        kind=rule.kind.value,
        severity=rule.severity.value,
        plot_id=device.plot_id,
        device_id=device.id,
        quantity=rule.quantity or "",
        state=OPEN,
        message=_message(rule, device.key, ts, value),
        opened_at=ts,
        trigger_value=value,
        peak_value=episode.peak,
        last_at=episode.last_at,
    )
    session.add(alert)
    _record(session, alert, "opened", now, device.key)
    return alert


def _set_resolved(
    session: Session, alert: AlertRow, at: datetime, by: str, *, now: datetime, device: str
) -> None:
    alert.state = RESOLVED
    alert.resolved_at = at
    alert.resolved_by = by
    _record(session, alert, "resolved", now, device)


def _device_key(session: Session, device_id: int) -> str:
    key: str = session.execute(select(DeviceRow.key).where(DeviceRow.id == device_id)).scalar_one()
    return key


def alert_document(alert: AlertRow, device: str) -> dict[str, Any]:
    """An alert as JSON (the webhook payload and the API share this shape). In the outbox the
    id of a new alert is still None: the notifier fills it in from the event row."""

    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    return {
        "id": alert.id,
        "rule": alert.rule_name,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "plot_id": alert.plot_id,
        "device": device,
        "quantity": alert.quantity,
        "message": alert.message,
        "opened_at": iso(alert.opened_at),
        "trigger_value": alert.trigger_value,
        "peak_value": alert.peak_value,
        "last_at": iso(alert.last_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
    }


def _record(session: Session, alert: AlertRow, event: str, now: datetime, device: str) -> None:
    """Queue `event` for the webhook, with the alert as it is now."""
    doc = alert_document(alert, device)
    session.add(
        AlertEventRow(
            alert=alert,
            event=event,
            payload={"event": event, "at": now.isoformat(), "alert": doc},
            created_at=now,
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
    )


# --- life cycle by people ---------------------------------------------------------------------


def acknowledge(session: Session, alert_id: int, by: str, now: datetime) -> AlertRow:
    """open → acknowledged (acknowledging twice is a no-op)."""
    alert = _get(session, alert_id)
    if alert.state == RESOLVED:
        raise AlertStateError(f"alert {alert_id} is resolved already")
    if alert.state == OPEN:
        alert.state = ACKNOWLEDGED
        alert.acknowledged_at = now
        alert.acknowledged_by = by
        _record(session, alert, "acknowledged", now, _device_key(session, alert.device_id))
    return alert


def resolve(session: Session, alert_id: int, by: str, now: datetime) -> AlertRow:
    """open or acknowledged → resolved. The rule does not fire again until its condition
    clears and returns: resolving by hand ends the alert, not the weather."""
    alert = _get(session, alert_id)
    if alert.state == RESOLVED:
        raise AlertStateError(f"alert {alert_id} is resolved already")
    _set_resolved(session, alert, now, by, now=now, device=_device_key(session, alert.device_id))
    return alert


class AlertNotFoundError(LookupError):
    pass


def list_alerts(
    session: Session,
    *,
    state: str | None = None,
    plot_id: int | None = None,
    rule: str | None = None,
    limit: int = 500,
) -> list[AlertRow]:
    """Alerts, newest first; `state` "active" means open or acknowledged."""
    query = select(AlertRow).order_by(AlertRow.opened_at.desc(), AlertRow.id.desc()).limit(limit)
    if state == "active":
        query = query.where(AlertRow.state != RESOLVED)
    elif state is not None:
        query = query.where(AlertRow.state == state)
    if plot_id is not None:
        query = query.where(AlertRow.plot_id == plot_id)
    if rule is not None:
        query = query.where(AlertRow.rule_name == rule)
    return list(session.scalars(query))


def _get(session: Session, alert_id: int) -> AlertRow:
    alert = session.get(AlertRow, alert_id)
    if alert is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return alert


# --- missing data -----------------------------------------------------------------------------


def _resolve_missing(session: Session, device_ids: Sequence[int], now: datetime) -> None:
    """Devices that report again end their missing-data alerts."""
    rows = session.scalars(
        select(AlertRow).where(
            AlertRow.state != RESOLVED,
            AlertRow.kind == RuleKind.MISSING_DATA.value,
            AlertRow.device_id.in_(device_ids),
        )
    )
    keys = dict(
        session.execute(
            select(DeviceRow.id, DeviceRow.key).where(DeviceRow.id.in_(device_ids))
        ).all()
    )
    for alert in rows:
        _set_resolved(session, alert, now, BY_RULE, now=now, device=keys[alert.device_id])


def sweep_missing(session: Session, now: datetime) -> list[AlertRow]:
    """Open an alert for each garden device silent for longer than its plot allows."""
    devices = session.execute(
        select(DeviceRow.id, DeviceRow.key, DeviceRow.plot_id, DeviceRow.last_seen_at).where(
            DeviceRow.plot_id.is_not(None), DeviceRow.last_seen_at.is_not(None)
        )
    ).all()
    if not devices:
        return []
    rules = plot_rules(session, {plot for _, _, plot, _ in devices if plot is not None})
    opened: list[AlertRow] = []
    states = {
        (row.rule_key, row.device_id): row
        for row in session.scalars(
            select(RuleStateRow).where(RuleStateRow.device_id.in_([d[0] for d in devices]))
        )
    }
    for device_id, key, plot_id, seen in devices:
        assert plot_id is not None and seen is not None
        for rule in rules[plot_id].values():
            if rule.kind is not RuleKind.MISSING_DATA:
                continue
            missing_at = silent_since({device_id: seen}, now, rule).get(device_id)
            if missing_at is None:
                continue
            state = states.get((rule.name, device_id))
            if state is not None and state.last_ts >= seen:
                continue  # this silence was alerted already
            if state is None:
                state = RuleStateRow(rule_key=rule.name, device_id=device_id)
                session.add(state)
                states[(rule.name, device_id)] = state
            state.last_ts, state.last_value, state.since, state.firing = seen, 0.0, seen, True
            if _active_alerts(session, [(rule.name, device_id)]):
                continue
            alert = AlertRow(
                rule_key=rule.name,
                rule_name=rule.name,
                kind=rule.kind.value,
                severity=rule.severity.value,
                plot_id=plot_id,
                device_id=device_id,
                quantity=rule.quantity or "",
                state=OPEN,
                message=f"{rule.name} on {key}: {rule.describe()} "
                f"(last at {seen.isoformat(timespec='seconds')})",
                opened_at=missing_at,
                trigger_value=None,
                peak_value=None,
                last_at=seen,
            )
            session.add(alert)
            _record(session, alert, "opened", now, key)
            opened.append(alert)
    session.flush()  # ids for the caller
    return opened
