"""Forecasts and backtests on real public series (M3 company shipments, US avocado sales)."""

import numpy as np
import pandas as pd
import pytest

from teaplatform.sales import backtest, forecasting, gbm, realdata
from teaplatform.sales.series import Freq

pytestmark = pytest.mark.unit

SMALL = gbm.GbmConfig(n_estimators=60, learning_rate=0.1)


@pytest.fixture(scope="module")
def shipments() -> pd.DataFrame:
    return realdata.m3_monthly(limit=40)


def test_every_model_gives_ordered_nonnegative_intervals(shipments: pd.DataFrame) -> None:
    panel = shipments[shipments["unique_id"].isin(sorted(shipments["unique_id"].unique())[:8])]
    out = forecasting.run(
        panel,
        6,
        Freq.MONTH,
        ["seasonal-naive", "theta", "auto-ets", "lightgbm"],
        [80, 95],
        gbm_config=SMALL,
    )
    assert set(out["model"]) == {"seasonal-naive", "theta", "auto-ets", "lightgbm"}
    assert len(out) == 4 * 8 * 6
    assert (out["lo_95"] <= out["lo_80"] + 1e-9).all() and (
        out["lo_80"] <= out["mean"] + 1e-9
    ).all()
    assert (out["mean"] <= out["hi_80"] + 1e-9).all() and (
        out["hi_80"] <= out["hi_95"] + 1e-9
    ).all()
    assert (out["lo_95"] >= 0).all()
    # forecasts start the period after each series' last one
    last = panel.groupby("unique_id")["ds"].max() + pd.offsets.MonthBegin(1)
    first = out[out["model"] == "lightgbm"].groupby("unique_id")["ds"].min()
    pd.testing.assert_series_equal(first, last, check_names=False)


def test_seasonal_naive_repeats_the_last_season(shipments: pd.DataFrame) -> None:
    one = shipments[shipments["unique_id"] == shipments["unique_id"].iloc[0]]
    out = forecasting.run(one, 12, Freq.MONTH, ["seasonal-naive"])
    np.testing.assert_allclose(out["mean"].to_numpy(), one["y"].to_numpy()[-12:])


def test_unknown_models_and_bad_levels_list_the_valid_choices() -> None:
    with pytest.raises(ValueError, match="choose from"):
        forecasting.check_models(["prophet"])
    with pytest.raises(ValueError, match="between 0 and 100"):
        forecasting.check_levels([100])


def test_the_global_model_beats_seasonal_naive_on_real_shipments(shipments: pd.DataFrame) -> None:
    result = backtest.run(shipments, 12, Freq.MONTH, ["lightgbm"], windows=1, gbm_config=SMALL)
    assert result.series == 40
    lgbm, base = result.score("lightgbm"), result.score("seasonal-naive")
    assert base.relative_mase == 1.0
    assert lgbm.mase < base.mase
    assert 0 < lgbm.smape < 200
    assert 0.5 < lgbm.coverage[95] <= 1.0


def test_backtest_windows_end_at_each_series_end() -> None:
    # 40 months, 2 windows of 6 months 3 apart: tests on months 32-37 and 35-40
    y = np.arange(1.0, 41.0)
    panel = pd.DataFrame(
        {"unique_id": "s", "ds": pd.date_range("2020-01-01", periods=40, freq="MS"), "y": y}
    )
    result = backtest.run(panel, 6, Freq.MONTH, ["seasonal-naive"], windows=2, step=3, levels=())
    assert result.windows == 2 and result.step == 3
    # on a straight line, seasonal naive is off by 12 each month; the in-sample scale is 12 too
    assert result.per_window["mase"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="long enough"):
        backtest.run(panel.head(20), 6, Freq.MONTH, [], windows=2)


def test_weekly_avocado_sales_with_calendar_features() -> None:
    panel = realdata.avocado_weekly_panel()
    assert panel["unique_id"].nunique() == 8
    out = gbm.forecast(panel, 13, Freq.WEEK, [90], SMALL)
    assert len(out) == 8 * 13
    assert (out["ds"].dt.dayofweek == 0).all()  # weeks start on Monday
    assert (out["hi_90"] > out["mean"]).all()
