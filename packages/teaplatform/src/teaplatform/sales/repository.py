"""Sales records in the store (SQLite or PostgreSQL): idempotent upserts and reads."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from teaplatform.sales.records import SaleRecord
from teaplatform.sales.series import SeriesFilter
from teaplatform.sales.tables import SaleRow

CHUNK = 1000
RECORD_COLUMNS = ["product", "channel", "region", "date", "quantity", "price"]


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


def upsert(
    session: Session, records: Sequence[SaleRecord], source: str, now: dt.datetime
) -> UpsertCounts:
    """Store `records`: new keys are inserted, changed ones updated, equal ones left alone."""
    if not records:
        return UpsertCounts(0, 0, 0)
    existing = _existing(session, records)
    fresh, changed = [], []
    for r in records:
        old = existing.get(r.key)
        if old is None:
            fresh.append(r)
        elif old != (r.quantity, r.price):
            changed.append(r)
    todo = fresh + changed
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(SaleRow)
    stmt = stmt.on_conflict_do_update(
        index_elements=["product", "channel", "region", "day"],
        set_={c: stmt.excluded[c] for c in ("quantity", "price", "source", "imported_at")},
    )
    for i in range(0, len(todo), CHUNK):
        rows = [
            {
                "product": r.product,
                "channel": r.channel,
                "region": r.region,
                "day": r.date,
                "quantity": r.quantity,
                "price": r.price,
                "source": source,
                "imported_at": now,
            }
            for r in todo[i : i + CHUNK]
        ]
        session.execute(stmt, rows)  # executemany: one compiled statement, batched VALUES
    return UpsertCounts(len(fresh), len(changed), len(records) - len(todo))


def _existing(
    session: Session, records: Sequence[SaleRecord]
) -> dict[tuple[str, str, str, dt.date], tuple[float, float | None]]:
    products = sorted({r.product for r in records})
    first, last = min(r.date for r in records), max(r.date for r in records)
    out: dict[tuple[str, str, str, dt.date], tuple[float, float | None]] = {}
    for i in range(0, len(products), CHUNK):
        query = select(
            SaleRow.product,
            SaleRow.channel,
            SaleRow.region,
            SaleRow.day,
            SaleRow.quantity,
            SaleRow.price,
        ).where(
            and_(
                SaleRow.product.in_(products[i : i + CHUNK]),
                SaleRow.day >= first,
                SaleRow.day <= last,
            )
        )
        for product, channel, region, day, quantity, price in session.execute(query):
            out[(product, channel, region, day)] = (quantity, price)
    return out


def load_records(session: Session, where: SeriesFilter | None = None) -> pd.DataFrame:
    """All records (optionally filtered) as a frame with `RECORD_COLUMNS`."""
    query = select(
        SaleRow.product,
        SaleRow.channel,
        SaleRow.region,
        SaleRow.day,
        SaleRow.quantity,
        SaleRow.price,
    )
    if where is not None:
        for column, wanted in (
            (SaleRow.product, where.products),
            (SaleRow.channel, where.channels),
            (SaleRow.region, where.regions),
        ):
            if wanted:
                query = query.where(column.in_(wanted))
    rows = session.execute(
        query.order_by(SaleRow.product, SaleRow.channel, SaleRow.region, SaleRow.day)
    ).all()
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["quantity"] = frame["quantity"].astype(float)
    frame["price"] = frame["price"].astype(float)
    return frame


def series_summary(session: Session) -> list[dict[str, Any]]:
    """One row per (product, channel, region): days with records, first/last day, totals."""
    revenue = func.sum(SaleRow.quantity * func.coalesce(SaleRow.price, 0.0))
    query = (
        select(
            SaleRow.product,
            SaleRow.channel,
            SaleRow.region,
            func.count(),
            func.min(SaleRow.day),
            func.max(SaleRow.day),
            func.sum(SaleRow.quantity),
            revenue,
        )
        .group_by(SaleRow.product, SaleRow.channel, SaleRow.region)
        .order_by(SaleRow.product, SaleRow.channel, SaleRow.region)
    )
    keys = ("product", "channel", "region", "days", "first", "last", "quantity", "revenue")
    return [dict(zip(keys, row, strict=True)) for row in session.execute(query)]


def count(session: Session, source: str | None = None) -> int:
    query = select(func.count()).select_from(SaleRow)
    if source is not None:
        query = query.where(SaleRow.source == source)
    return int(session.execute(query).scalar_one())
