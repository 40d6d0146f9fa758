"""The flush model's arithmetic and the picking-window search (pure, small inputs)."""

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from teaplatform.garden.growth import (
    Climatology,
    FlushModel,
    cumulative_gdd,
    fill_gaps,
    hourly_means,
    picking_window,
)

pytestmark = pytest.mark.unit

MODEL = FlushModel(
    base_temp_c=10.0,
    lower=1.0,
    amplitude=15.0,
    midpoint_gdd=300.0,
    scale_gdd=30.0,
    picking_fraction=0.8,
    peak_offset_days=3.0,
    window_days=6.0,
)


def flat_climate(temp: float) -> Climatology:
    return Climatology(np.full((366, 24), temp))


def test_logistic_midpoint_and_its_inverse() -> None:
    assert float(MODEL.fraction(300.0)) == pytest.approx(0.5)
    assert float(MODEL.tsdi(300.0)) == pytest.approx(1.0 + 7.5)
    gdd = MODEL.gdd_at_fraction(0.8)
    assert float(MODEL.fraction(gdd)) == pytest.approx(0.8)
    assert MODEL.picking_gdd == pytest.approx(300.0 + 30.0 * np.log(4.0))
    with pytest.raises(ValueError, match="fraction"):
        MODEL.gdd_at_fraction(1.0)


def test_degree_days_count_each_hour_above_the_base() -> None:
    # a day at 20 °C and a day whose nights are below the base: only the warm hours count
    temps = np.array([20.0] * 24 + [5.0] * 12 + [22.0] * 12)
    cum = cumulative_gdd(temps, 10.0)
    assert cum[23] == pytest.approx(10.0)
    assert cum[-1] == pytest.approx(10.0 + 12 * 12 / 24)
    with pytest.raises(ValueError, match="gaps"):
        cumulative_gdd(np.array([20.0, np.nan]), 10.0)


def test_hourly_means_bin_readings_and_leave_gaps() -> None:
    start = datetime(2024, 9, 1)
    times = [start + timedelta(minutes=m) for m in (0, 30, 150)]
    hours = hourly_means(times, [10.0, 20.0, 30.0], start, 4)
    assert hours[0] == pytest.approx(15.0)
    assert np.isnan(hours[1])
    assert hours[2] == pytest.approx(30.0)
    assert np.isnan(hours[3])
    filled = fill_gaps(hours, np.full(4, 99.0))
    assert filled.tolist() == [15.0, 99.0, 30.0, 99.0]


def test_window_opens_when_climatology_supplies_the_missing_degree_days() -> None:
    # 22 °C everywhere: 12 degree days a day; picking_gdd = 341.59 → the 29th day
    since = datetime(2024, 9, 1)
    as_of = since + timedelta(days=10)
    observed = np.full(240, 22.0)
    window = picking_window(MODEL, flat_climate(22.0), since=since, as_of=as_of, observed=observed)
    assert window.gdd_so_far == pytest.approx(120.0)
    assert window.status == "growing"
    hours_needed = int(np.ceil(MODEL.picking_gdd / 12.0 * 24))
    assert window.opens == (since + timedelta(hours=hours_needed)).date()
    assert window.peak == window.opens + timedelta(days=3)
    assert window.closes == window.opens + timedelta(days=6)
    assert window.progress == pytest.approx(120.0 / MODEL.picking_gdd)


def test_warmer_observations_bring_the_window_forward() -> None:
    since, as_of = datetime(2024, 9, 1), datetime(2024, 9, 11)
    cool = picking_window(
        MODEL, flat_climate(22.0), since=since, as_of=as_of, observed=np.full(240, 18.0)
    )
    warm = picking_window(
        MODEL, flat_climate(22.0), since=since, as_of=as_of, observed=np.full(240, 28.0)
    )
    assert cool.opens is not None and warm.opens is not None
    assert warm.opens < cool.opens


def test_gaps_take_the_climatology_and_are_counted() -> None:
    since, as_of = datetime(2024, 9, 1), datetime(2024, 9, 2)
    observed = np.full(24, 22.0)
    observed[:6] = np.nan
    window = picking_window(MODEL, flat_climate(22.0), since=since, as_of=as_of, observed=observed)
    assert (window.observed_hours, window.filled_hours) == (18, 6)
    assert window.gdd_so_far == pytest.approx(12.0)


def test_an_open_window_dates_its_opening_in_the_past() -> None:
    since, as_of = datetime(2024, 9, 1), datetime(2024, 10, 1)
    window = picking_window(
        MODEL, flat_climate(22.0), since=since, as_of=as_of, observed=np.full(720, 22.0)
    )
    assert window.status == "open"
    assert window.opens == date(2024, 9, 29)
    late = picking_window(
        MODEL,
        flat_climate(22.0),
        since=since,
        as_of=datetime(2024, 10, 10),
        observed=np.full(936, 22.0),
    )
    assert late.status == "closed"


def test_too_cold_never_opens_within_the_horizon() -> None:
    since, as_of = datetime(2024, 9, 1), datetime(2024, 9, 2)
    window = picking_window(
        MODEL, flat_climate(5.0), since=since, as_of=as_of, observed=np.full(24, 5.0)
    )
    assert window.opens is None
    assert window.status == "beyond-horizon"


def test_bad_inputs_are_refused() -> None:
    since = datetime(2024, 9, 1)
    with pytest.raises(ValueError, match="before"):
        picking_window(
            MODEL,
            flat_climate(22.0),
            since=since,
            as_of=since - timedelta(hours=1),
            observed=np.array([]),
        )
    with pytest.raises(ValueError, match="hourly values"):
        picking_window(
            MODEL,
            flat_climate(22.0),
            since=since,
            as_of=since + timedelta(days=1),
            observed=np.full(3, 20.0),
        )
    with pytest.raises(ValueError, match="366x24"):
        Climatology(np.zeros((365, 24)))
