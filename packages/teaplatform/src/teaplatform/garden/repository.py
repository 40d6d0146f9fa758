"""Readings and ingestion counters in the store: batch writes and time-range queries.

`store_readings` writes a whole batch in one statement with ON CONFLICT DO NOTHING and returns
only the readings that were new, so a repeated delivery is a no-op everywhere downstream too.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from teaplatform.garden.readings import QUANTITIES, Reading
from teaplatform.garden.tables import DeviceRow, IngestCountRow, ReadingRow, sqlite_text

_COUNTS = IngestCountRow.__table__


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT (with ``on_conflict_*``) for `table`."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {dialect!r}")


def device_ids(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, list[str]]]:
    """Known devices among `keys`: key → (id, declared sensors)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.execute(
        select(DeviceRow.key, DeviceRow.id, DeviceRow.sensors).where(DeviceRow.key.in_(wanted))
    )
    return {key: (id_, list(sensors or [])) for key, id_, sensors in rows}


# PostgreSQL: the whole batch as four arrays in one statement, sent and returned in binary
# (psycopg would otherwise parse a fresh multi-row VALUES statement per page of 1,000 rows, and
# text-format timestamp arrays cost more than the insert itself)
_PG_INSERT = (
    "INSERT INTO garden_reading (device_id, quantity, ts, value) "
    "SELECT * FROM unnest(%b::integer[], %b::varchar[], %b::timestamptz[], %b::float8[]) "
    "ON CONFLICT (device_id, quantity, ts) DO NOTHING "
    "RETURNING device_id, quantity, ts"
)


# SQLite: writers hold the database's write lock for the whole unit of work (BEGIN IMMEDIATE),
# so the readings already stored can be looked up first, exactly, and the rest inserted with
# the driver's executemany — twice as fast as an INSERT … RETURNING through the ORM layer
_SQLITE_STORED = (
    "SELECT ts FROM garden_reading WHERE device_id = ? AND quantity = ? AND ts BETWEEN ? AND ?"
)
_SQLITE_INSERT = (
    "INSERT INTO garden_reading (device_id, quantity, ts, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (device_id, quantity, ts) DO NOTHING"
)


def store_readings(
    session: Session, readings: Sequence[Reading], ids: Mapping[str, int]
) -> list[Reading]:
    """Insert `readings` (their devices in `ids`, no two with the same key); the ones that were
    not stored before."""
    if not readings:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return _store_sqlite(session, readings, ids)
    if dialect != "postgresql":
        raise ValueError(f"unsupported database {dialect!r}")
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor(binary=True) as cursor:
        cursor.execute(
            _PG_INSERT,
            (
                [ids[r.device] for r in readings],
                [r.quantity for r in readings],
                [r.ts for r in readings],
                [r.value for r in readings],
            ),
        )
        rows = cursor.fetchall()
    new = {tuple(row) for row in rows}  # aware datetimes compare by instant, whatever the zone
    if len(new) == len(readings):
        return list(readings)
    return [r for r in readings if (ids[r.device], r.quantity, r.ts) in new]


def _store_sqlite(
    session: Session, readings: Sequence[Reading], ids: Mapping[str, int]
) -> list[Reading]:
    rows = [(ids[r.device], r.quantity, sqlite_text(r.ts), r.value) for r in readings]
    spans: dict[tuple[int, str], tuple[str, str]] = {}
    for device_id, quantity, ts, _ in rows:
        lo_hi = spans.get((device_id, quantity))
        spans[(device_id, quantity)] = (min(lo_hi[0], ts), max(lo_hi[1], ts)) if lo_hi else (ts, ts)
    conn = session.connection()
    stored: set[tuple[int, str, str]] = set()
    for (device_id, quantity), (lo, hi) in spans.items():
        found = conn.exec_driver_sql(_SQLITE_STORED, (device_id, quantity, lo, hi))
        stored.update((device_id, quantity, ts) for (ts,) in found)
    if stored:
        keep = [i for i, row in enumerate(rows) if row[:3] not in stored]
        rows = [rows[i] for i in keep]
        readings = [readings[i] for i in keep]
    if rows:
        conn.exec_driver_sql(_SQLITE_INSERT, rows)
    return list(readings)


def touch_devices(session: Session, ids: Iterable[int], now: datetime) -> None:
    """Record that these devices reported at `now` (wall clock: the missing-data check)."""
    wanted = sorted(set(ids))
    if wanted:
        session.execute(update(DeviceRow).where(DeviceRow.id.in_(wanted)).values(last_seen_at=now))


def add_counts(
    session: Session,
    source: str,
    counts: Mapping[str, int],
    details: Mapping[str, str],
    now: datetime,
) -> None:
    """Add `counts` (outcome → n) to the source's counters; keep the latest detail per outcome."""
    rows = [
        {
            "source": source,
            "outcome": outcome,
            "count": n,
            "last_at": now,
            "last_detail": details.get(outcome, ""),
        }
        for outcome, n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    stmt = _insert(session, _COUNTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "outcome"],
        set_={
            "count": _COUNTS.c.count + stmt.excluded.count,
            "last_at": stmt.excluded.last_at,
            "last_detail": stmt.excluded.last_detail,
        },
    )
    session.execute(stmt, rows)


def ingest_counts(session: Session) -> list[IngestCountRow]:
    return list(
        session.scalars(
            select(IngestCountRow).order_by(IngestCountRow.source, IngestCountRow.outcome)
        )
    )


def readings_between(
    session: Session,
    *,
    plot_id: int | None = None,
    device: str | None = None,
    quantity: str,
    start: datetime,
    end: datetime,
    limit: int | None = None,
) -> list[Reading]:
    """Readings of `quantity` with ``start <= ts < end``, of one device and/or a plot's devices,
    in time order (then by device)."""
    unit = QUANTITIES[quantity].unit if quantity in QUANTITIES else ""
    query = (
        select(DeviceRow.key, ReadingRow.ts, ReadingRow.value)
        .join(DeviceRow, DeviceRow.id == ReadingRow.device_id)
        .where(ReadingRow.quantity == quantity, ReadingRow.ts >= start, ReadingRow.ts < end)
        .order_by(ReadingRow.ts, DeviceRow.key)
    )
    if plot_id is not None:
        query = query.where(DeviceRow.plot_id == plot_id)
    if device is not None:
        query = query.where(DeviceRow.key == device)
    if limit is not None:
        query = query.limit(limit)
    return [Reading(key, quantity, ts, value, unit) for key, ts, value in session.execute(query)]
