"""Plots (matplotlib, object API: no global pyplot state, safe in a server)."""

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from teaplatform.sales.analysis import Decomposition

COLORS = {
    "seasonal-naive": "#7f7f7f",
    "auto-ets": "#1f77b4",
    "auto-arima": "#9467bd",
    "theta": "#2ca02c",
    "lightgbm": "#d62728",
}


def forecast_figure(
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    series: Sequence[str],
    *,
    levels: Sequence[int] = (),
    history_periods: int = 36,
    title: str = "",
    actuals: pd.DataFrame | None = None,
) -> Figure:
    """One panel per series: recent history, each model's forecast and interval bands.

    `actuals` (unique_id, ds, y) draws what really happened over the forecast period.
    """
    series = list(series)
    cols = 1 if len(series) == 1 else 2
    rows = (len(series) + cols - 1) // cols
    fig = Figure(figsize=(7 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, uid in zip(axes, series, strict=False):
        past = history[history["unique_id"] == uid].sort_values("ds").tail(history_periods)
        ax.plot(past["ds"], past["y"], color="black", lw=1.3, label="history")
        if actuals is not None:
            real = actuals[actuals["unique_id"] == uid].sort_values("ds")
            ax.plot(real["ds"], real["y"], color="black", lw=1.3, ls="--", label="actual")
        mine = forecasts[forecasts["unique_id"] == uid].sort_values("ds")
        for model, part in mine.groupby("model", sort=False):
            color = COLORS.get(str(model))
            line = ax.plot(part["ds"], part["mean"], lw=1.6, color=color, label=str(model))[0]
            for i, lv in enumerate(sorted(levels, reverse=True)):
                if f"lo_{lv}" in part:
                    ax.fill_between(
                        part["ds"],
                        part[f"lo_{lv}"],
                        part[f"hi_{lv}"],
                        color=line.get_color(),
                        alpha=0.12 + 0.1 * i,
                        lw=0,
                        label=f"{model} {lv}%",
                    )
        ax.set_title(uid, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, ncols=2, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def decomposition_figure(decomposition: Decomposition) -> Figure:
    frame = decomposition.frame
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    for ax, column in zip(axes, ("observed", "trend", "seasonal", "remainder"), strict=True):
        ax.plot(
            frame["ds"], frame[column], lw=1.1, color="black" if column == "observed" else "#1f77b4"
        )
        ax.set_ylabel(column, fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"{decomposition.unique_id}: STL, period {decomposition.period} — strength of trend "
        f"{decomposition.trend_strength:.2f}, seasonality {decomposition.seasonal_strength:.2f}",
        fontsize=10,
    )
    return fig


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
