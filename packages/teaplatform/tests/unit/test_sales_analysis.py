"""Analyses: STL strengths, ABC classes, price elasticity (real avocado prices and a known truth)."""

import numpy as np
import pandas as pd
import pytest

from teaplatform.sales import analysis, realdata
from teaplatform.sales.series import Freq, average_prices

pytestmark = pytest.mark.unit


def test_abc_classes_by_cumulative_revenue() -> None:
    revenue = pd.Series({"c": 5.0, "a": 60.0, "b": 25.0, "d": 6.0, "e": 4.0})
    items = analysis.abc_classes(revenue)
    assert [(i.product, i.abc_class) for i in items] == [
        ("a", "A"),
        ("b", "A"),
        ("d", "B"),
        ("c", "B"),
        ("e", "C"),
    ]
    assert items[-1].cumulative_share == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no revenue"):
        analysis.abc_classes(pd.Series({"a": 0.0}))


def test_stl_splits_real_shipment_series_into_components() -> None:
    panel = realdata.m3_monthly(limit=60)
    fits = [analysis.decompose(part, 12, str(uid)) for uid, part in panel.groupby("unique_id")]
    for fit in fits:
        f = fit.frame
        np.testing.assert_allclose(f["trend"] + f["seasonal"] + f["remainder"], f["observed"])
    strengths = [f.seasonal_strength for f in fits]
    assert all(0.0 <= s <= 1.0 for s in strengths)
    assert max(strengths) > 0.4 and min(strengths) < 0.05  # some series seasonal, some not
    with pytest.raises(ValueError, match="needs 25 periods"):
        analysis.decompose(panel.head(20), 12)


def test_elasticity_recovers_a_known_value_with_seasonal_confounding() -> None:
    rng = np.random.default_rng(3)
    ds = pd.date_range("2021-01-04", periods=156, freq="W-MON")
    season = np.sin(2 * np.pi * (ds.month.to_numpy() - 1) / 12)  # a month-by-month season
    # dearer in season, when demand is also higher: a naive fit would see a weaker effect
    price = 100 * np.exp(0.1 * season + rng.normal(0, 0.05, len(ds)))
    quantity = np.exp(5 + 0.8 * season - 1.5 * np.log(price / 100) + rng.normal(0, 0.05, len(ds)))
    fit = analysis.price_elasticity(
        pd.DataFrame({"ds": ds, "price": price, "quantity": quantity}), "x"
    )
    assert fit.ci_low < -1.5 < fit.ci_high
    assert fit.ci_high - fit.ci_low < 0.5
    assert fit.warnings == []


def test_elasticity_warns_when_price_barely_moves_or_data_are_few() -> None:
    ds = pd.date_range("2021-01-04", periods=60, freq="W-MON")
    flat = pd.DataFrame(
        {"ds": ds, "price": 100 + 0.1 * np.sin(np.arange(60)), "quantity": 50 + np.arange(60) % 7}
    )
    assert any("barely varies" in w for w in analysis.price_elasticity(flat).warnings)
    few = analysis.price_elasticity(flat.head(5))
    assert np.isnan(few.elasticity) and "too few" in few.warnings[0]


def test_real_avocado_demand_falls_when_prices_rise() -> None:
    records = realdata.avocado_records()
    totals = records[records["product"] == realdata.AVOCADO_TOTAL]
    prices = average_prices(totals, Freq.WEEK, ("channel",))
    conventional = prices[prices["unique_id"] == "conventional"]
    fit = analysis.price_elasticity(conventional, "conventional")
    assert fit.periods == 405
    assert fit.ci_high < 0  # a real, significant negative own-price elasticity
