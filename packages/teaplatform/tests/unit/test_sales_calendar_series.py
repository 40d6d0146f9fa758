"""The Chinese sales calendar, the metrics and the record -> panel step."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from teaplatform.sales.calendar import anchors, daily_features, period_features
from teaplatform.sales.metrics import coverage, mase, seasonal_naive_scale, smape
from teaplatform.sales.series import Freq, build_panel

pytestmark = pytest.mark.unit


def test_lunar_anchor_dates_match_the_official_calendar() -> None:
    # 春节 2024-02-10, 清明 2024-04-04, 中秋 2024-09-17; 春节 2025-01-29, 中秋 2025-10-06
    a24, a25 = anchors(2024), anchors(2025)
    assert (a24["spring_festival"], a24["qingming"], a24["mid_autumn"]) == (
        dt.date(2024, 2, 10),
        dt.date(2024, 4, 4),
        dt.date(2024, 9, 17),
    )
    assert (a25["spring_festival"], a25["mid_autumn"]) == (
        dt.date(2025, 1, 29),
        dt.date(2025, 10, 6),
    )


def test_daily_windows() -> None:
    days = daily_features(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert days.loc["2024-02-09", "spring_festival_gifts"] == 1.0
    assert days.loc["2024-02-10", "spring_festival_gifts"] == 0.0
    assert days.loc["2024-02-10", "spring_festival_break"] == 1.0
    assert days.loc["2024-03-20", "pre_qingming"] == 1.0
    assert days.loc["2024-04-10", ["pre_qingming", "spring_tea"]].tolist() == [0.0, 1.0]
    assert days["double_11"].sum() == 11 and days.loc["2024-11-11", "double_11"] == 1.0
    assert days["national_day"].sum() == 7


def test_monthly_shares_follow_the_moving_spring_festival() -> None:
    months = pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2025-01-01", "2025-02-01"])
    gifts = period_features(months, "MS")["spring_festival_gifts"].to_numpy()
    # 2024: gifting 17 Jan - 9 Feb (15 days in Jan, 9 in Feb); 2025: 5-28 Jan, all in January
    np.testing.assert_allclose(gifts, [15 / 31, 9 / 29, 24 / 31, 0.0])


def test_mase_and_smape_by_hand() -> None:
    train = [10, 20, 30, 14, 22, 34]  # season 3: |14-10|, |22-20|, |34-30| -> scale 10/3
    assert seasonal_naive_scale(train, 3) == pytest.approx(10 / 3)
    assert mase([15, 25], [14, 22], 10 / 3) == pytest.approx(2 / (10 / 3))
    assert smape([100, 0], [50, 0]) == pytest.approx(100 * (2 * 50 / 150) / 2)
    assert np.isnan(mase([1], [1], 0.0))
    assert seasonal_naive_scale([5, 6], 12) == 1.0  # too short for a season: the naive scale
    assert coverage([1, 5, 9], [0, 0, 0], [2, 6, 8]) == pytest.approx(2 / 3)


def test_panel_fills_gaps_with_zero_and_drops_a_partial_last_month() -> None:
    records = pd.DataFrame(
        {
            "product": ["green", "green", "green", "black"],
            "channel": ["online", "shop", "online", "online"],
            "region": ["Hunan"] * 4,
            "date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-03-03", "2025-04-10"]),
            "quantity": [2.0, 3.0, 4.0, 9.0],
            "price": [10.0, 20.0, None, 5.0],
        }
    )
    panel = build_panel(records, Freq.MONTH)
    green = panel[panel["unique_id"] == "green"]
    assert green["ds"].dt.strftime("%Y-%m").tolist() == [
        "2025-01",
        "2025-02",
        "2025-03",
    ]  # April is partial
    assert green["y"].tolist() == [5.0, 0.0, 4.0]
    assert green["revenue"].tolist() == [80.0, 0.0, 0.0]
    assert "black" not in set(panel["unique_id"])  # its only month was the partial one
    by_channel = build_panel(records, Freq.WEEK, ("product", "channel"))
    assert set(by_channel["unique_id"]) == {
        "green / online",
        "green / shop",
    }  # 10 April: a Thursday
    with pytest.raises(ValueError, match="group by"):
        build_panel(records, Freq.MONTH, ("colour",))
