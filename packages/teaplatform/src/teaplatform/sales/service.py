"""Sales use cases on the store: import, list series, forecast, backtest, analyse.

The API and the CLI call these; the logic lives in the pure modules beside this one.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from teaplatform.sales import analysis, backtest, forecasting, repository
from teaplatform.sales.importer import read_table
from teaplatform.sales.records import RowError, resolve_columns, validate
from teaplatform.sales.series import Freq, SeriesFilter, average_prices, build_panel, check_group_by
from teaplatform.store.db import Store


@dataclass(frozen=True)
class ImportReport:
    source: str
    rows: int  # data rows read
    records: int  # records kept after merging rows with the same key
    inserted: int
    updated: int
    unchanged: int
    merged: int
    bad_rows: int
    errors: list[RowError]


def import_table(
    store: Store,
    data: bytes,
    filename: str,
    mapping: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Validate every row; store the good ones (idempotently); report the bad ones.

    Raises `UnreadableFile` or `ColumnError` when the file as a whole cannot be used.
    """
    header, rows = read_table(data, filename)
    checked = validate(rows, resolve_columns(header, mapping))
    with store.session() as session:
        counts = repository.upsert(
            session, checked.records, filename, now or dt.datetime.now(dt.UTC)
        )
    return ImportReport(
        filename,
        checked.rows,
        len(checked.records),
        counts.inserted,
        counts.updated,
        counts.unchanged,
        checked.merged,
        checked.bad_rows,
        checked.errors,
    )


@dataclass(frozen=True)
class Query:
    """Which series: a filter, the dimensions to cut by, and the period length."""

    where: SeriesFilter = field(default_factory=SeriesFilter)
    group_by: tuple[str, ...] = ("product",)
    freq: Freq = Freq.MONTH


def records(store: Store, where: SeriesFilter) -> pd.DataFrame:
    with store.session() as session:
        return repository.load_records(session, where)


def panel(store: Store, query: Query) -> pd.DataFrame:
    check_group_by(query.group_by)
    frame = records(store, query.where)
    if frame.empty:
        raise LookupError("no sales records match (import some, or run `teaplatform demo`)")
    return build_panel(frame, query.freq, query.group_by)


def forecast(
    store: Store, query: Query, horizon: int, models: Sequence[str], levels: Sequence[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the history panel, the long forecast table)."""
    forecasting.check_models(models)
    forecasting.check_levels(levels)
    history = panel(store, query)
    return history, forecasting.run(history, horizon, query.freq, models, levels)


def run_backtest(
    store: Store,
    query: Query,
    horizon: int,
    models: Sequence[str],
    *,
    windows: int = 3,
    step: int | None = None,
) -> backtest.Backtest:
    return backtest.run(
        panel(store, query), horizon, query.freq, models, windows=windows, step=step
    )


@dataclass(frozen=True)
class Analysis:
    decompositions: list[analysis.Decomposition]
    skipped: dict[str, str]  # series -> why it was not decomposed
    abc: list[analysis.AbcItem]
    elasticities: list[analysis.Elasticity]


def analyse(store: Store, query: Query) -> Analysis:
    """Decomposition per series, ABC classes of products, price elasticity per series."""
    frame = records(store, query.where)
    if frame.empty:
        raise LookupError("no sales records match (import some, or run `teaplatform demo`)")
    history = build_panel(frame, query.freq, query.group_by)
    decompositions, skipped = [], {}
    for uid, part in history.groupby("unique_id", sort=True):
        try:
            decompositions.append(analysis.decompose(part, query.freq.season_length, str(uid)))
        except ValueError as exc:
            skipped[str(uid)] = str(exc)
    by_product = (
        frame.assign(revenue=frame["quantity"] * frame["price"].fillna(0.0))
        .groupby("product")["revenue"]
        .sum()
    )
    abc = analysis.abc_classes(by_product) if by_product.sum() > 0 else []
    # promotions last days to weeks: monthly averages would blur them, so prices go weekly
    price_freq = Freq.DAY if query.freq is Freq.DAY else Freq.WEEK
    prices = average_prices(frame, price_freq, query.group_by)
    elasticities = [
        analysis.price_elasticity(part, str(uid), calendar_freq=price_freq.offset)
        for uid, part in prices.groupby("unique_id", sort=True)
    ]
    return Analysis(decompositions, skipped, abc, elasticities)
