"""Forecasts per series with prediction intervals: statsforecast models and the global model.

Models are named plugins (`MODELS`); an unknown name is an error that lists the valid ones.
Every model returns the same long table: ``unique_id, ds, model, mean, lo_<L>, hi_<L>``.
Sales cannot be negative, so means and lower bounds are clipped at zero.
"""

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from teaplatform.sales import gbm
from teaplatform.sales.series import Freq


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    global_model: bool = False


MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("seasonal-naive", "same period last season (the baseline)"),
        ModelInfo("auto-ets", "exponential smoothing, form chosen by AICc (statsforecast AutoETS)"),
        ModelInfo("auto-arima", "seasonal ARIMA, orders chosen by AICc (statsforecast AutoARIMA)"),
        ModelInfo("theta", "the Theta method with seasonal adjustment (statsforecast Theta)"),
        ModelInfo("lightgbm", "LightGBM global model with lag and Chinese calendar features", True),
    )
}
# Theta beats AutoETS in both real backtests and fits 20x faster (bench_sales.py): the default
DEFAULT_MODELS = ("seasonal-naive", "theta", "lightgbm")


def check_models(names: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in MODELS]
    if unknown or not chosen:
        raise ValueError(f"unknown model(s) {unknown or list(names)}: choose from {list(MODELS)}")
    return chosen


def check_levels(levels: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted(set(levels)))
    if any(not 0 < lv < 100 for lv in out):
        raise ValueError(f"interval levels must lie strictly between 0 and 100, not {list(levels)}")
    return out


def _stat_model(name: str, season_length: int) -> Any:
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive, Theta

    factories: dict[str, Callable[[], Any]] = {
        "seasonal-naive": lambda: SeasonalNaive(season_length=season_length, alias=name),
        # ETS has no seasonal form past 24 periods (weekly data): it fits trend/level only
        "auto-ets": lambda: AutoETS(season_length=season_length, alias=name),
        "auto-arima": lambda: AutoARIMA(season_length=season_length, alias=name),
        "theta": lambda: Theta(season_length=season_length, alias=name),
    }
    return factories[name]()


@contextmanager
def quiet_statsforecast() -> Iterator[None]:
    """statsforecast warns about model-selection details that are not problems for us."""
    with warnings.catch_warnings():
        # AutoARIMA: too few observations for a seasonal model -> it fits a non-seasonal one
        warnings.filterwarnings("ignore", message="Setting seasonal period to 1")
        warnings.filterwarnings("ignore", message="having problems with stationary")
        yield


def stat_forecast(
    panel: pd.DataFrame,
    h: int,
    freq: Freq,
    models: Sequence[str],
    levels: Sequence[int] = (),
    *,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """statsforecast models on every series of `panel`; the long table of the module."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    names = [m for m in models if not MODELS[m].global_model]
    if not names or panel.empty:
        return _empty(levels)
    m = freq.season_length
    sf = StatsForecast(
        models=[_stat_model(n, m) for n in names],
        freq=freq.offset,
        n_jobs=n_jobs,
        fallback_model=Naive(),  # series too short for a model get last-value forecasts
    )
    with quiet_statsforecast():
        wide = sf.forecast(df=panel[["unique_id", "ds", "y"]], h=h, level=list(levels) or None)
    return _long(wide, names, levels)


def run(
    panel: pd.DataFrame,
    h: int,
    freq: Freq,
    models: Sequence[str],
    levels: Sequence[int] = (),
    *,
    gbm_config: gbm.GbmConfig | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Forecast every series of `panel` with each of `models`; one long table."""
    models = check_models(models)
    levels = check_levels(levels)
    if h < 1:
        raise ValueError("the horizon must be at least one period")
    parts = [stat_forecast(panel, h, freq, models, levels, n_jobs=n_jobs)]
    if "lightgbm" in models and not panel.empty:
        g = gbm.forecast(panel, h, freq, levels, gbm_config).assign(model="lightgbm")
        parts.append(g)
    out = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else _empty(levels)
    )
    for column in ["mean", *[f"lo_{lv}" for lv in levels]]:
        out[column] = out[column].clip(lower=0.0)
    return out[_columns(levels)].sort_values(["model", "unique_id", "ds"], ignore_index=True)


def _long(wide: pd.DataFrame, names: Sequence[str], levels: Sequence[int]) -> pd.DataFrame:
    wide = wide.reset_index() if "unique_id" not in wide.columns else wide
    parts = []
    for name in names:
        part = pd.DataFrame(
            {"unique_id": wide["unique_id"], "ds": wide["ds"], "model": name, "mean": wide[name]}
        )
        for lv in levels:
            part[f"lo_{lv}"] = wide[f"{name}-lo-{lv}"].to_numpy()
            part[f"hi_{lv}"] = wide[f"{name}-hi-{lv}"].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _columns(levels: Sequence[int]) -> list[str]:
    return [
        "unique_id",
        "ds",
        "model",
        "mean",
        *[f"{s}_{lv}" for lv in levels for s in ("lo", "hi")],
    ]


def _empty(levels: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in _columns(levels)}).astype(
        {"unique_id": str, "model": str, "ds": "datetime64[ns]"}
    )
