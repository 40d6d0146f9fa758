"""Rolling-origin backtests: refit at several forecast origins, score against the actuals.

Origins are counted back from each series' end: window ``w`` of ``n`` trains on all but the
last ``h + step * (n - 1 - w)`` periods and forecasts the next ``h``. MASE scales each
window's errors by the in-sample seasonal-naive error of that window's training part, so
a MASE below the seasonal-naive model's means better than repeating last season.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from teaplatform.sales import forecasting
from teaplatform.sales.gbm import GbmConfig
from teaplatform.sales.metrics import coverage, mase, seasonal_naive_scale, smape
from teaplatform.sales.series import Freq

BASELINE = "seasonal-naive"


@dataclass(frozen=True)
class ModelScore:
    model: str
    mase: float  # mean over series and windows
    smape: float  # percent, mean over series and windows
    relative_mase: float  # mase / the seasonal-naive model's mase (< 1: better)
    beats_baseline: float  # share of series whose mean MASE is below seasonal naive's
    coverage: dict[int, float]  # interval level -> share of actuals inside


@dataclass(frozen=True)
class Backtest:
    horizon: int
    windows: int
    step: int
    series: int
    scores: list[ModelScore]
    per_window: pd.DataFrame  # unique_id, window, model, mase, smape

    def score(self, model: str) -> ModelScore:
        return next(s for s in self.scores if s.model == model)


def run(
    panel: pd.DataFrame,
    h: int,
    freq: Freq,
    models: Sequence[str],
    *,
    windows: int = 3,
    step: int | None = None,
    levels: Sequence[int] = (80, 95),
    gbm_config: GbmConfig | None = None,
    n_jobs: int = 1,
) -> Backtest:
    """Backtest `models` (seasonal naive is always added as the baseline) on `panel`."""
    models = forecasting.check_models([BASELINE, *models])
    step = step or h
    if windows < 1 or step < 1 or h < 1:
        raise ValueError("horizon, windows and step must be at least 1")
    test_size = h + step * (windows - 1)
    panel = panel.sort_values(["unique_id", "ds"], ignore_index=True)
    sizes = panel.groupby("unique_id")["y"].transform("size")
    panel = panel[sizes >= test_size + freq.season_length + 1]  # a season to scale MASE by
    if panel.empty:
        raise ValueError(
            f"no series long enough: need {test_size + freq.season_length + 1} periods"
        )
    position = panel.groupby("unique_id").cumcount()
    size = panel.groupby("unique_id")["y"].transform("size")
    rows = []
    for w in range(windows):
        cut = size - test_size + w * step
        train = panel[position < cut]
        test = panel[(position >= cut) & (position < cut + h)]
        fc = forecasting.run(train, h, freq, models, levels, gbm_config=gbm_config, n_jobs=n_jobs)
        scales = {
            str(uid): seasonal_naive_scale(part, freq.season_length)
            for uid, part in train.groupby("unique_id")["y"]
        }
        merged = fc.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
        rows.append(_score_window(merged, scales, w, levels))
    per_window = pd.concat(rows, ignore_index=True)
    return Backtest(
        h,
        windows,
        step,
        panel["unique_id"].nunique(),
        _summary(per_window, models, levels),
        per_window,
    )


def _score_window(
    merged: pd.DataFrame, scales: dict[str, float], window: int, levels: Sequence[int]
) -> pd.DataFrame:
    out = []
    for (uid, model), part in merged.groupby(["unique_id", "model"], sort=False):
        actual, pred = part["y"].to_numpy(), part["mean"].to_numpy()
        row = {
            "unique_id": uid,
            "window": window,
            "model": model,
            "mase": mase(actual, pred, scales[str(uid)]),
            "smape": smape(actual, pred),
        }
        for lv in levels:
            row[f"cover_{lv}"] = coverage(actual, part[f"lo_{lv}"], part[f"hi_{lv}"])
        out.append(row)
    return pd.DataFrame(out)


def _summary(
    per_window: pd.DataFrame, models: Sequence[str], levels: Sequence[int]
) -> list[ModelScore]:
    # series whose training part never changed have no MASE scale: left out of MASE means
    by_series = per_window.groupby(["model", "unique_id"])["mase"].mean().unstack("model")
    base = per_window[per_window["model"] == BASELINE]["mase"].mean()
    scores = []
    for model in models:
        part = per_window[per_window["model"] == model]
        both = by_series[[model, BASELINE]].dropna()
        scores.append(
            ModelScore(
                model=model,
                mase=float(part["mase"].mean()),
                smape=float(part["smape"].mean()),
                relative_mase=float(part["mase"].mean() / base) if base > 0 else float("nan"),
                beats_baseline=float(np.mean(both[model] < both[BASELINE]))
                if len(both)
                else float("nan"),
                coverage={lv: float(part[f"cover_{lv}"].mean()) for lv in levels},
            )
        )
    return scores
