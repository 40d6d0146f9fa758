"""Sales records in SQLite and PostgreSQL: idempotent imports, updates, reads, the demo."""

import datetime as dt

import pytest

from teaplatform.sales import demo, repository, service
from teaplatform.sales.records import SaleRecord
from teaplatform.sales.series import SeriesFilter
from teaplatform.settings import Settings
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CSV = b"""product,channel,region,date,quantity,price
Anhua dark,online,Hunan,2025-03-01,12,98
Anhua dark,online,Hunan,2025-03-01,3,98
Anhua dark,tea shop,Hunan,2025-03-02,5,
Hunan black,online,rest of China,not-a-date,4,128
"""


def test_import_is_idempotent_and_reports_bad_rows(store: Store) -> None:
    first = service.import_table(store, CSV, "march.csv", now=NOW)
    assert (first.rows, first.records, first.inserted, first.merged, first.bad_rows) == (
        4,
        2,
        2,
        1,
        1,
    )
    assert (first.errors[0].line, first.errors[0].column) == (5, "date")
    again = service.import_table(store, CSV, "march.csv", now=NOW)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = CSV.replace(b"2025-03-02,5,", b"2025-03-02,6,90")
    third = service.import_table(store, changed, "march-fixed.csv", now=NOW)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    with store.session() as session:
        frame = repository.load_records(session, SeriesFilter(channels=("tea shop",)))
        assert frame[["quantity", "price"]].values.tolist() == [[6.0, 90.0]]
        summary = repository.series_summary(session)
    assert [(s["channel"], s["quantity"], s["revenue"]) for s in summary] == [
        ("online", 15.0, 15 * 98.0),
        ("tea shop", 6.0, 540.0),
    ]


def test_upsert_counts_in_chunks(store: Store) -> None:
    records = [
        SaleRecord("green", "online", "Hunan", dt.date(2024, 1, 1) + dt.timedelta(days=i), i, 10.0)
        for i in range(2500)
    ]
    with store.session() as session:
        assert repository.upsert(session, records, "bulk", NOW) == repository.UpsertCounts(
            2500, 0, 0
        )
    with store.session() as session:
        assert repository.count(session) == 2500
        assert repository.count(session, "bulk") == 2500


def test_the_synthetic_demo_seeds_once(store: Store, tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path)  # type: ignore[arg-type]
    summary = demo.seed_demo(settings, store)
    assert "SYNTHETIC" in summary
    with store.session() as session:
        n = repository.count(session, "demo (SYNTHETIC)")
        products = {s["product"] for s in repository.series_summary(session)}
    assert n > 30_000
    assert products == {
        "Xiaoxiang green",
        "Hunan black",
        "Anhua dark",
        "Sangzhi white",
        "Yueyang yellow",
    }
    assert "already" in demo.seed_demo(settings, store)
    with store.session() as session:
        assert repository.count(session) == n
