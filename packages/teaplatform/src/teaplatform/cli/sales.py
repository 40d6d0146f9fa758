"""`teaplatform sales`: import, series, forecast, backtest, analyse (on the local store)."""

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from teaplatform.settings import Settings

app = typer.Typer(help="Sales records, forecasts, backtests and analyses.", no_args_is_help=True)
console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProductOpt = Annotated[
    list[str] | None, typer.Option("--product", "-p", help="Only these products (repeat).")
]
ChannelOpt = Annotated[
    list[str] | None, typer.Option("--channel", help="Only these channels (repeat).")
]
RegionOpt = Annotated[
    list[str] | None, typer.Option("--region", help="Only these regions (repeat).")
]
ByOpt = Annotated[
    str, typer.Option("--by", help="Cut series by: product, channel, region, comma-separated.")
]
FreqOpt = Annotated[str, typer.Option("--freq", help="Period: M (month), W (week) or D (day).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sales")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _store() -> Any:
    from teaplatform.store.db import Store
    from teaplatform.store.migrate import upgrade

    settings = Settings()
    upgrade(settings.url)
    return Store(settings.url)


def _query(
    product: list[str] | None,
    channel: list[str] | None,
    region: list[str] | None,
    by: str,
    freq: str,
) -> Any:
    from teaplatform.sales.series import Freq, SeriesFilter, check_group_by
    from teaplatform.sales.service import Query

    try:
        period = Freq(freq.upper())
    except ValueError:
        raise _fail(f"unknown --freq {freq!r}: choose from {[f.value for f in Freq]}") from None
    try:
        dims = check_group_by([d.strip() for d in by.split(",") if d.strip()])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return Query(
        SeriesFilter(tuple(product or ()), tuple(channel or ()), tuple(region or ())), dims, period
    )


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV or XLSX: product, channel, region, date, quantity, price.")
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="field=column for other headers, e.g. --map product=商品 (repeat)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import sales records: good rows are stored (idempotently), bad rows reported by line."""
    from teaplatform.sales.importer import UnreadableFile
    from teaplatform.sales.records import ColumnError
    from teaplatform.sales.service import import_table

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    mapping = {}
    for item in map_ or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise _fail(f"--map {item!r}: write field=column")
        mapping[field.strip()] = column.strip()
    store = _store()
    try:
        report = import_table(store, file.read_bytes(), file.name, mapping or None)
    except (UnreadableFile, ColumnError) as exc:
        raise _fail(str(exc)) from None
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    else:
        console.print(
            f"{report.source}: {report.rows:,} rows -> {report.records:,} records "
            f"({report.inserted:,} new, {report.updated:,} updated, {report.unchanged:,} unchanged, "
            f"{report.merged:,} rows merged into same-day records); [bold]{report.bad_rows:,} bad rows[/]"
        )
        if report.errors:
            table = Table("line", "column", "reason", "value")
            for e in report.errors[:50]:
                table.add_row(str(e.line), e.column, e.reason, e.value)
            console.print(table)
            if len(report.errors) > 50:
                console.print(f"... and {len(report.errors) - 50:,} more (use --json for all)")
    if report.bad_rows:
        raise typer.Exit(1)  # the good rows are in; the exit code tells a script some were not


@app.command()
def series(as_json: JsonOpt = False) -> None:
    """List the stored series (product x channel x region) with their span and totals."""
    from teaplatform.sales.repository import series_summary

    store = _store()
    try:
        with store.session() as session:
            rows = series_summary(session)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    table = Table("product", "channel", "region", "days", "first", "last", "quantity", "revenue")
    for r in rows:
        table.add_row(
            r["product"],
            r["channel"],
            r["region"],
            f"{r['days']:,}",
            str(r["first"]),
            str(r["last"]),
            f"{r['quantity']:,.0f}",
            f"{r['revenue']:,.0f}",
        )
    console.print(table)


@app.command()
def forecast(
    product: ProductOpt = None,
    channel: ChannelOpt = None,
    region: RegionOpt = None,
    by: ByOpt = "product",
    freq: FreqOpt = "M",
    horizon: Annotated[
        int, typer.Option("--horizon", "-h", min=1, max=104, help="Periods ahead.")
    ] = 12,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="seasonal-naive, auto-ets, auto-arima, theta, lightgbm (repeat)."
        ),
    ] = None,
    level: Annotated[
        list[int] | None, typer.Option("--level", help="Interval level in % (repeat).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of the forecasts here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Forecast each series with prediction intervals."""
    import pandas as pd

    from teaplatform.sales import plots
    from teaplatform.sales.forecasting import DEFAULT_MODELS, check_levels, check_models
    from teaplatform.sales.service import forecast as run_forecast

    query = _query(product, channel, region, by, freq)
    try:
        models = check_models(model or DEFAULT_MODELS)
        levels = check_levels(level or [80, 95])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    store = _store()
    try:
        history, table = run_forecast(store, query, horizon, models, levels)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        store.dispose()
    if plot is not None:
        shown = sorted(table["unique_id"].unique())[:6]
        title = f"Sales forecast, {horizon} periods ahead, {' and '.join(f'{lv}%' for lv in levels)} intervals"
        plots.save(plots.forecast_figure(history, table, shown, levels=levels, title=title), plot)
    if as_json:
        out = table.assign(ds=table["ds"].dt.strftime("%Y-%m-%d"))
        typer.echo(
            json.dumps(
                {
                    "freq": query.freq.value,
                    "horizon": horizon,
                    "models": list(models),
                    "levels": list(levels),
                    "forecasts": out.to_dict("records"),
                },
                ensure_ascii=False,
            )
        )
        return
    for uid, part in table.groupby("unique_id", sort=True):
        grid = Table("period", *models, title=f"{uid} — mean [{min(levels)}% interval]")
        for ds, rows in part.groupby("ds", sort=True):
            cells = {
                r.model: f"{r.mean:,.0f} [{getattr(r, f'lo_{min(levels)}'):,.0f}–{getattr(r, f'hi_{min(levels)}'):,.0f}]"
                for r in rows.itertuples()
            }
            grid.add_row(
                pd.Timestamp(str(ds)).strftime("%Y-%m-%d"), *(cells.get(m, "") for m in models)
            )
        console.print(grid)
    if plot is not None:
        console.print(f"plot: {plot}")


@app.command()
def backtest(
    product: ProductOpt = None,
    channel: ChannelOpt = None,
    region: RegionOpt = None,
    by: ByOpt = "product",
    freq: FreqOpt = "M",
    horizon: Annotated[int, typer.Option("--horizon", "-h", min=1, max=104)] = 6,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Models beside seasonal naive.")
    ] = None,
    windows: Annotated[int, typer.Option(min=1, max=12, help="Forecast origins.")] = 3,
    step: Annotated[
        int | None, typer.Option(min=1, help="Periods between origins [horizon].")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rolling-origin backtest: MASE and sMAPE of each model against seasonal naive."""
    from teaplatform.sales.forecasting import check_models
    from teaplatform.sales.service import run_backtest

    query = _query(product, channel, region, by, freq)
    try:
        models = check_models(model or ["theta", "lightgbm"])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    store = _store()
    try:
        result = run_backtest(store, query, horizon, models, windows=windows, step=step)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        store.dispose()
    if as_json:
        scores = [
            {**asdict(s), "coverage": {k: _num(v) for k, v in s.coverage.items()}}
            for s in result.scores
        ]
        typer.echo(
            json.dumps(
                {
                    "horizon": result.horizon,
                    "windows": result.windows,
                    "step": result.step,
                    "series": result.series,
                    "baseline": "seasonal-naive",
                    "scores": scores,
                }
            )
        )
        return
    table = Table(
        "model",
        "MASE",
        "sMAPE %",
        "MASE vs seasonal naive",
        "series beating it",
        "80% coverage",
        "95% coverage",
        title=f"{result.series} series, {result.windows} origins {result.step} apart, horizon {result.horizon}",
    )
    for s in result.scores:
        table.add_row(
            s.model,
            f"{s.mase:.3f}",
            f"{s.smape:.1f}",
            f"{s.relative_mase:.3f}",
            f"{s.beats_baseline:.0%}",
            *(f"{s.coverage.get(lv, math.nan):.0%}" for lv in (80, 95)),
        )
    console.print(table)


@app.command()
def analyse(
    product: ProductOpt = None,
    channel: ChannelOpt = None,
    region: RegionOpt = None,
    by: ByOpt = "product",
    freq: FreqOpt = "M",
    plot_dir: Annotated[
        Path | None, typer.Option("--plot-dir", help="Write STL decomposition PNGs here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Trend/seasonality (STL), ABC classes by revenue, and price elasticity per series."""
    from teaplatform.sales import plots
    from teaplatform.sales.service import analyse as run_analyse

    query = _query(product, channel, region, by, freq)
    store = _store()
    try:
        result = run_analyse(store, query)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.dispose()
    if plot_dir is not None:
        for d in result.decompositions:
            name = "".join(c if c.isalnum() else "_" for c in d.unique_id).strip("_").lower()
            plots.save(plots.decomposition_figure(d), plot_dir / f"sales_stl_{name}.png")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "decomposition": [
                        {
                            "unique_id": d.unique_id,
                            "period": d.period,
                            "trend_strength": d.trend_strength,
                            "seasonal_strength": d.seasonal_strength,
                        }
                        for d in result.decompositions
                    ],
                    "skipped": result.skipped,
                    "abc": [asdict(a) for a in result.abc],
                    "elasticity": [
                        {
                            **asdict(e),
                            **{
                                k: _num(getattr(e, k))
                                for k in (
                                    "elasticity",
                                    "ci_low",
                                    "ci_high",
                                    "std_error",
                                    "r_squared",
                                )
                            },
                        }
                        for e in result.elasticities
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    trend = Table(
        "series", "trend strength", "seasonal strength", title="STL decomposition (0 none - 1 all)"
    )
    for d in result.decompositions:
        trend.add_row(d.unique_id, f"{d.trend_strength:.2f}", f"{d.seasonal_strength:.2f}")
    console.print(trend)
    abc = Table(
        "product", "revenue", "share", "cumulative", "class", title="ABC by revenue (80/15/5)"
    )
    for a in result.abc:
        abc.add_row(
            a.product,
            f"{a.revenue:,.0f}",
            f"{a.share:.1%}",
            f"{a.cumulative_share:.1%}",
            a.abc_class,
        )
    console.print(abc)
    el = Table(
        "series",
        "elasticity",
        "95% CI",
        "weeks",
        "price CV",
        "warnings",
        title="Price elasticity (log-log)",
    )
    for e in result.elasticities:
        el.add_row(
            e.unique_id,
            f"{e.elasticity:.2f}",
            f"{e.ci_low:.2f} .. {e.ci_high:.2f}",
            str(e.periods),
            f"{e.price_cv:.1%}",
            "; ".join(e.warnings),
        )
    console.print(el)
