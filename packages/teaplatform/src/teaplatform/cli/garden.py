"""`teaplatform garden …`: gardens, plots, devices, readings, alerts, the broker and replay.

These commands work on the store directly (``TEAPLATFORM_DATABASE_URL`` / ``TEAPLATFORM_DATA_DIR``,
migrated first), so they work with or without a running server; `replay` talks to the MQTT
broker and `broker` runs one.
"""

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store as _store
from teaplatform.cli.common import parse_time
from teaplatform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


garden_app = typer.Typer(
    help="Garden monitoring: gardens, plots, devices, readings, alerts.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    app.add_typer(garden_app, name="garden")


@contextmanager
def _session() -> Iterator["Session"]:
    """A unit of work; domain errors (not found, conflict, bad state) exit 2 with their message."""
    from teaplatform.garden.alerting import AlertNotFoundError, AlertStateError
    from teaplatform.garden.catalog import ConflictError, NotFoundError

    with _store() as store:
        try:
            with store.session() as session:
                yield session
        except (NotFoundError, ConflictError, AlertNotFoundError, AlertStateError) as exc:
            _fail(str(exc))


def _print_rows(rows: Sequence[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(list(rows), ensure_ascii=False, default=str, indent=2))
        return
    if not rows:
        out.print(f"no {title}")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


def _validated(model: Any, **fields: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        _fail(
            "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors()
            )
        )


# --- catalog ------------------------------------------------------------------------------------


@garden_app.command("quantities")
def quantities(as_json: JsonOpt = False) -> None:
    """What sensors may report: unit and physical range of each quantity."""
    from teaplatform.garden.readings import QUANTITIES

    rows = [
        {"quantity": q.name, "unit": q.unit, "low": q.low, "high": q.high, "scope": q.scope}
        for q in QUANTITIES.values()
    ]
    _print_rows(rows, as_json, "quantities")


@garden_app.command("add-garden")
def add_garden(
    name: str,
    region: Annotated[str, typer.Option(help="e.g. 湖南省长沙县")] = "",
    lat: Annotated[float | None, typer.Option(help="latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="longitude")] = None,
    tz: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
) -> None:
    """Register a garden; prints its id."""
    from teaplatform.garden.catalog import GardenCreate, create_garden

    spec = _validated(
        GardenCreate, name=name, region=region, latitude=lat, longitude=lon, timezone=tz
    )
    with _session() as session:
        typer.echo(create_garden(session, spec).id)


@garden_app.command("gardens")
def gardens(as_json: JsonOpt = False) -> None:
    """List gardens."""
    from teaplatform.garden.catalog import list_gardens

    with _session() as session:
        rows = [
            {
                "id": g.id,
                "name": g.name,
                "region": g.region,
                "lat": g.latitude,
                "lon": g.longitude,
                "tz": g.timezone,
            }
            for g in list_gardens(session)
        ]
    _print_rows(rows, as_json, "gardens")


@garden_app.command("add-plot")
def add_plot(
    garden_id: int,
    name: str,
    tea_type: Annotated[str, typer.Option(help="green, black, dark, white or yellow")],
    cultivar: Annotated[str, typer.Option(help="e.g. 槠叶齐 Zhuyeqi")] = "",
    area_ha: Annotated[float | None, typer.Option(help="area in hectares")] = None,
    lat: Annotated[float | None, typer.Option(help="latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="longitude")] = None,
) -> None:
    """Add a plot to a garden; prints its id."""
    from teaplatform.garden.catalog import PlotCreate, create_plot

    spec = _validated(
        PlotCreate,
        garden_id=garden_id,
        name=name,
        tea_type=tea_type,
        cultivar=cultivar,
        area_ha=area_ha,
        latitude=lat,
        longitude=lon,
    )
    with _session() as session:
        typer.echo(create_plot(session, spec).id)


@garden_app.command("plots")
def plots(
    garden: Annotated[int | None, typer.Option(help="garden id")] = None, as_json: JsonOpt = False
) -> None:
    """List plots."""
    from teaplatform.garden.catalog import list_plots

    with _session() as session:
        rows = [
            {
                "id": p.id,
                "garden": p.garden_id,
                "name": p.name,
                "tea": p.tea_type,
                "cultivar": p.cultivar,
                "ha": p.area_ha,
                "lat": p.latitude,
                "lon": p.longitude,
            }
            for p in list_plots(session, garden)
        ]
    _print_rows(rows, as_json, "plots")


@garden_app.command("add-device")
def add_device(
    key: Annotated[
        str, typer.Argument(help="the id the device reports under (MQTT topic, payloads)")
    ],
    plot: Annotated[int | None, typer.Option(help="plot id (garden devices)")] = None,
    line: Annotated[str | None, typer.Option(help="processing line (processing devices)")] = None,
    sensors: Annotated[str, typer.Option(help="comma-separated quantities; empty: any")] = "",
    name: str = "",
) -> None:
    """Register a device in a plot (or, with --line, on a processing line)."""
    from teaplatform.garden.catalog import DeviceCreate, create_device

    spec = _validated(
        DeviceCreate,
        key=key,
        name=name,
        kind="processing" if line and plot is None else "garden",
        plot_id=plot,
        line=line,
        sensors=[s.strip() for s in sensors.split(",") if s.strip()],
    )
    with _session() as session:
        typer.echo(create_device(session, spec).id)


@garden_app.command("devices")
def devices(
    plot: Annotated[int | None, typer.Option(help="plot id")] = None, as_json: JsonOpt = False
) -> None:
    """List devices, with when each last reported."""
    from teaplatform.garden.catalog import list_devices

    with _session() as session:
        rows = [
            {
                "key": d.key,
                "kind": d.kind,
                "plot": d.plot_id,
                "line": d.line,
                "sensors": ",".join(d.sensors) or "any",
                "last_seen": d.last_seen_at.isoformat(timespec="seconds")
                if d.last_seen_at
                else None,
            }
            for d in list_devices(session, plot_id=plot)
        ]
    _print_rows(rows, as_json, "devices")


# --- readings -----------------------------------------------------------------------------------


@garden_app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV: device,quantity,ts,value,unit or hour,temperature_c")
    ],
    device: Annotated[str | None, typer.Option(help="the device, when the file names none")] = None,
    tz: Annotated[str, typer.Option(help="time zone of timestamps without an offset")] = "UTC",
    as_json: JsonOpt = False,
) -> None:
    """Import readings from a CSV file (idempotent: a second import stores nothing new)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from rich.progress import Progress

    from teaplatform.garden.csvimport import CsvLayoutError, parse_csv
    from teaplatform.garden.ingest import ingest_in_chunks

    if not file.is_file():
        _fail(f"no file {file}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(f"unknown time zone {tz!r}")
    with file.open(encoding="utf-8-sig") as fh:
        total_lines = sum(1 for _ in fh) - 1
    with (
        _store() as store,
        file.open(encoding="utf-8-sig") as fh,
        Progress(console=err, disable=as_json) as bar,
    ):
        task = bar.add_task(f"importing {file.name}", total=total_lines)
        try:
            totals = ingest_in_chunks(
                store,
                parse_csv(fh, device=device, tz=zone),
                source="csv",
                on_chunk=lambda r: bar.advance(task, r.received),
            )
        except CsvLayoutError as exc:
            _fail(str(exc))
    examples = [f"{r.reason.value}: {r.detail}" for r in totals.examples[:5]]
    summary = {
        "received": totals.received,
        "stored": totals.stored,
        "duplicates": totals.duplicates,
        "rejected": dict(totals.rejects),
        "examples": examples,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    out.print(
        f"{totals.received} readings: {totals.stored} stored, {totals.duplicates} already stored, "
        f"{sum(totals.rejects.values())} rejected {dict(totals.rejects) or ''}"
    )
    for example in examples:
        out.print(f"  e.g. {example}")


@garden_app.command("readings")
def readings(
    quantity: Annotated[str, typer.Option(help="e.g. air_temperature")],
    device: Annotated[str | None, typer.Option(help="device key")] = None,
    plot: Annotated[int | None, typer.Option(help="plot id")] = None,
    start: Annotated[str | None, typer.Option(help="from (ISO 8601; no offset = UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="until, exclusive")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 48,
    as_json: JsonOpt = False,
) -> None:
    """Readings of one quantity, in time order."""
    from teaplatform.garden.readings import QUANTITIES
    from teaplatform.garden.repository import readings_between

    if quantity not in QUANTITIES:
        _fail(f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
    if device is None and plot is None:
        _fail("give --device or --plot")
    lo = parse_time(start, "--start") or datetime(1970, 1, 1, tzinfo=UTC)
    hi = parse_time(end, "--end") or datetime(9999, 1, 1, tzinfo=UTC)
    with _session() as session:
        found = readings_between(
            session, plot_id=plot, device=device, quantity=quantity, start=lo, end=hi, limit=limit
        )
    rows = [
        {"device": r.device, "ts": r.ts.isoformat(), "value": r.value, "unit": r.unit}
        for r in found
    ]
    _print_rows(rows, as_json, f"{quantity} readings")


@garden_app.command("counts")
def counts(as_json: JsonOpt = False) -> None:
    """Readings stored, duplicates, and rejects per reason, per source (mqtt, http, csv)."""
    from teaplatform.garden.repository import ingest_counts

    with _session() as session:
        rows = [
            {
                "source": c.source,
                "outcome": c.outcome,
                "count": c.count,
                "last_detail": c.last_detail,
            }
            for c in ingest_counts(session)
        ]
    _print_rows(rows, as_json, "ingestion counts")


# --- alerts and rules ---------------------------------------------------------------------------


def _alert_rows(session: "Session", alerts: Sequence[Any]) -> list[dict[str, Any]]:
    from teaplatform.garden.catalog import list_devices

    keys = {d.id: d.key for d in list_devices(session)}
    return [
        {
            "id": a.id,
            "state": a.state,
            "severity": a.severity,
            "rule": a.rule_name,
            "device": keys.get(a.device_id),
            "opened_at": a.opened_at.isoformat(timespec="minutes"),
            "resolved_at": a.resolved_at.isoformat(timespec="minutes") if a.resolved_at else None,
            "trigger": a.trigger_value,
            "peak": a.peak_value,
        }
        for a in alerts
    ]


@garden_app.command("alerts")
def alerts(
    state: Annotated[
        str | None, typer.Option(help="open, acknowledged, resolved or active")
    ] = None,
    plot: Annotated[int | None, typer.Option(help="plot id")] = None,
    rule: Annotated[str | None, typer.Option(help="rule name")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    from teaplatform.garden.alerting import STATES, list_alerts

    if state is not None and state not in (*STATES, "active"):
        _fail(f"unknown state {state!r}; use one of {', '.join((*STATES, 'active'))}")
    with _session() as session:
        rows = _alert_rows(
            session, list_alerts(session, state=state, plot_id=plot, rule=rule, limit=limit)
        )
    _print_rows(rows, as_json, "alerts")


@garden_app.command("ack")
def ack(
    alert_id: int, by: Annotated[str, typer.Option(help="who")] = os.environ.get("USER", "cli")
) -> None:
    """Acknowledge an alert."""
    from teaplatform.garden.alerting import acknowledge

    with _session() as session:
        alert = acknowledge(session, alert_id, by, datetime.now(UTC))
        typer.echo(f"alert {alert.id} {alert.state}")


@garden_app.command("resolve")
def resolve(
    alert_id: int, by: Annotated[str, typer.Option(help="who")] = os.environ.get("USER", "cli")
) -> None:
    """Resolve an alert."""
    from teaplatform.garden.alerting import resolve as resolve_alert

    with _session() as session:
        alert = resolve_alert(session, alert_id, by, datetime.now(UTC))
        typer.echo(f"alert {alert.id} {alert.state}")


@garden_app.command("sweep")
def sweep() -> None:
    """Open missing-data alerts for devices silent too long (the server does this every minute)."""
    from teaplatform.garden.alerting import sweep_missing

    with _session() as session:
        opened = sweep_missing(session, datetime.now(UTC))
        typer.echo(f"{len(opened)} missing-data alerts opened")


@garden_app.command("rules")
def rules(plot: Annotated[int, typer.Option(help="plot id")], as_json: JsonOpt = False) -> None:
    """A plot's rules: the built-ins (as overridden there) and its own."""
    from teaplatform.garden.rulebook import plot_rule_list

    with _session() as session:
        found = plot_rule_list(session, plot)
    if as_json:
        doc = [
            {
                "id": r.id,
                "origin": r.origin,
                "enabled": r.enabled,
                "rule": r.spec.model_dump(mode="json"),
            }
            for r in found
        ]
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    rows = [
        {
            "id": r.id,
            "name": r.spec.name,
            "origin": r.origin,
            "on": r.enabled,
            "severity": r.spec.severity.value,
            "when": r.spec.describe(),
        }
        for r in found
    ]
    _print_rows(rows, False, f"rules of plot {plot}")


@garden_app.command("add-rule")
def add_rule(
    plot: Annotated[int, typer.Option(help="plot id")],
    name: Annotated[str, typer.Option(help="a built-in's name overrides it on this plot")],
    kind: Annotated[str, typer.Option(help="threshold, sustained, rate_of_change or missing_data")],
    quantity: Annotated[str | None, typer.Option(help="e.g. air_temperature")] = None,
    op: Annotated[str | None, typer.Option(help="above/below; rate: rise/fall/either")] = None,
    limit: Annotated[float | None, typer.Option(help="level, or change per hour")] = None,
    duration_h: Annotated[
        float, typer.Option(help="sustained: hours held; missing_data: hours silent")
    ] = 0.0,
    months: Annotated[str, typer.Option(help="active months, e.g. 2,3,4")] = "",
    severity: Annotated[str, typer.Option(help="info, warning or critical")] = "warning",
    disabled: Annotated[
        bool, typer.Option(help="store it switched off (disables a built-in)")
    ] = False,
) -> None:
    """Add a rule to a plot (or override a built-in by its name)."""
    from teaplatform.garden.rulebook import add_rule as add
    from teaplatform.garden.rules import RuleSpec

    try:
        month_list = [int(m) for m in months.split(",") if m.strip()]
    except ValueError:
        _fail(f"bad months {months!r}: use e.g. 2,3,4")
    spec = _validated(
        RuleSpec,
        name=name,
        kind=kind,
        quantity=quantity,
        op=op,
        limit=limit,
        duration_s=duration_h * 3600,
        months=month_list,
        severity=severity,
    )
    with _session() as session:
        row = add(session, plot, spec, enabled=not disabled)
        typer.echo(f"rule {row.id}: {spec.describe()}")


# --- MQTT ---------------------------------------------------------------------------------------


def _broker_address(broker: str | None, settings: Settings) -> tuple[str, int]:
    if broker is None:
        return settings.mqtt_host or "127.0.0.1", settings.mqtt_port
    host, _, port = broker.rpartition(":")
    if not host or not port.isdigit():
        _fail(f"bad --broker {broker!r}: use HOST:PORT")
    return host, int(port)


@garden_app.command("broker")
def broker(
    port: Annotated[
        int | None, typer.Option(help="port on 127.0.0.1 [default: TEAPLATFORM_MQTT_PORT or 1883]")
    ] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="where the config goes")] = None,
) -> None:
    """Run a Mosquitto broker on 127.0.0.1 in the foreground (Ctrl-C stops it)."""
    from teaplatform.garden.broker import BrokerUnavailableError, find_mosquitto, write_config

    try:
        binary = find_mosquitto()
    except BrokerUnavailableError as exc:
        _fail(str(exc), code=1)
    settings = Settings()
    port = port or settings.mqtt_port
    conf = write_config(directory or settings.data_dir / "mosquitto", port, log_to_file=False)
    err.print(f"mosquitto on 127.0.0.1:{port} (config {conf})")
    os.execv(binary, [str(binary), "-c", str(conf)])


@garden_app.command("replay")
def replay(
    station: Annotated[
        str, typer.Option(help="WS01, WS02, WS03 or WS04 (the real series)")
    ] = "WS01",
    speed: Annotated[
        float, typer.Option(help="data seconds per wall second; 0 = as fast as possible", min=0)
    ] = 3600,
    broker: Annotated[
        str | None,
        typer.Option(help="HOST:PORT [default: TEAPLATFORM_MQTT_HOST:PORT or 127.0.0.1:1883]"),
    ] = None,
    garden: Annotated[str, typer.Option(help="garden segment of the topic")] = "demo",
    device: Annotated[str | None, typer.Option(help="device key [default: the station]")] = None,
    start: Annotated[str | None, typer.Option(help="skip readings before (ISO 8601)")] = None,
    limit: Annotated[int | None, typer.Option(help="send at most this many", min=1)] = None,
    # = garden.replay.STATION_TZ (not imported here: it would load paho for every command)
    tz: Annotated[str, typer.Option(help="time zone of the file's hours")] = "Asia/Shanghai",
    file: Annotated[
        Path | None, typer.Option(help="another station file (hour,temperature_c)")
    ] = None,
) -> None:
    """Replay a real weather-station series into MQTT as a device would send it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from rich.progress import Progress

    from teaplatform.garden.csvimport import parse_csv
    from teaplatform.garden.readings import Reading
    from teaplatform.garden.replay import Publisher, station_file
    from teaplatform.garden.replay import replay as run_replay

    settings = Settings()
    host, port = _broker_address(broker, settings)
    try:
        path = file or station_file(station)
        zone = ZoneInfo(tz)
    except ValueError as exc:
        _fail(str(exc))
    except ZoneInfoNotFoundError:
        _fail(f"unknown time zone {tz!r}")
    if not path.is_file():
        _fail(f"no file {path} (set SHARED_DATA or --file)")
    first = parse_time(start, "--start") or datetime(1970, 1, 1, tzinfo=UTC)
    with path.open() as fh:
        series = [
            r
            for r in parse_csv(fh, device=device or station, tz=zone)
            if isinstance(r, Reading) and r.ts >= first
        ]
    series = series[:limit] if limit else series
    try:
        publisher = Publisher(host, port)
    except OSError as exc:
        _fail(f"cannot reach the MQTT broker at {host}:{port}: {exc}", code=1)
    try:
        with Progress(console=err) as bar:
            task = bar.add_task(f"{station} → mqtt://{host}:{port}", total=len(series))
            sent = run_replay(
                series,
                publisher.publish,
                speed=speed,
                prefix=settings.mqtt_topic_prefix,
                garden=garden,
                on_batch=lambda n: bar.advance(task, n),
            )
    finally:
        publisher.close()
    out.print(f"{sent} readings of {station} sent")


@garden_app.command("plot")
def plot(
    device: Annotated[str, typer.Option(help="device key")],
    out: Annotated[Path, typer.Option(help="PNG file to write")],
    quantity: Annotated[str, typer.Option(help="e.g. air_temperature")] = "air_temperature",
    start: Annotated[str | None, typer.Option(help="from (ISO 8601; no offset = UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="until, exclusive")] = None,
) -> None:
    """Plot a device's readings with its alerts shaded and its plot's limits drawn."""
    from sqlalchemy import select

    from teaplatform.garden.alerting import plot_rules
    from teaplatform.garden.catalog import get_device
    from teaplatform.garden.plots import plot_series
    from teaplatform.garden.readings import QUANTITIES
    from teaplatform.garden.repository import readings_between
    from teaplatform.garden.tables import AlertRow

    if quantity not in QUANTITIES:
        _fail(f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
    lo = parse_time(start, "--start") or datetime(1970, 1, 1, tzinfo=UTC)
    hi = parse_time(end, "--end") or datetime(9999, 1, 1, tzinfo=UTC)
    with _session() as session:
        row = get_device(session, device)
        found = readings_between(session, device=device, quantity=quantity, start=lo, end=hi)
        alerts = [
            (a.rule_name, a.opened_at, a.resolved_at)
            for a in session.scalars(
                select(AlertRow)
                .where(AlertRow.device_id == row.id, AlertRow.quantity == quantity)
                .where(AlertRow.opened_at < hi)
                .where((AlertRow.resolved_at.is_(None)) | (AlertRow.resolved_at >= lo))
                .order_by(AlertRow.opened_at)
            )
        ]
        rules = plot_rules(session, [row.plot_id]).get(row.plot_id, {}) if row.plot_id else {}
    if not found:
        _fail(f"no {quantity} readings of {device} in that range")
    limits = [
        (f"{r.name} {r.limit:g}", r.limit)
        for r in rules.values()
        if r.quantity == quantity and r.limit is not None and r.kind.value != "rate_of_change"
    ]
    title = f"{device} {quantity}: {len(found)} readings, {len(alerts)} alerts"
    typer.echo(plot_series(found, alerts, out, limits=limits, title=title))
