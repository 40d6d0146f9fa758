"""The flush model on the real garden series: reproducible, and better than its baselines on
held-out dates (a time split, never random)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teaplatform.garden.growth_data import (
    GardenDataError,
    fill_series,
    garden_series,
    load_cycles,
    station_series,
)
from teaplatform.garden.growth_fit import observed_window
from teaplatform.garden.growth_params import FitOutcome, build, differences, shipped

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def outcome(shared_data: Path) -> FitOutcome:
    return build(shared_data)


def test_fit_reproduces_the_shipped_parameters(outcome: FitOutcome) -> None:
    assert differences(outcome.document, shipped().document) == []
    files = outcome.document["provenance"]["files"]
    assert "WS01_temperature_hourly.csv" in files and len(files) == 9


def test_held_out_density_beats_every_baseline(outcome: FitOutcome) -> None:
    held = outcome.document["validation"]["held_out_tsdi"]
    ours = held["flush_model_gdd"]["mae"]
    for baseline in ("same_curve_in_days", "training_mean", "persistence"):
        assert ours < held[baseline]["mae"], baseline
    assert held["n_days"] > 30


def test_held_out_windows_open_within_two_days(outcome: FitOutcome) -> None:
    validation = outcome.validation
    assert len(validation.cycles) == 3  # the October flush of each camera
    assert validation.timing_mae["open_error_days"] <= 2.0
    assert validation.timing_mae["forecast_open_error_days"] <= 2.0
    # thermal time beats calendar time on the cooler autumn flush
    assert (
        validation.timing_mae["open_error_days"]
        < validation.timing_mae["days_model_open_error_days"]
    )


def test_training_never_sees_held_out_dates(outcome: FitOutcome) -> None:
    cut = pd.Timestamp(outcome.validation.cutoff)
    # the train-only model differs from the shipped one: held-out days changed the fit
    assert outcome.validation.model.base_temp_c != pytest.approx(
        outcome.document["model"]["base_temp_c"]
    )
    assert all(d.cycle.days.max() >= cut for d in outcome.data if d.cycle.number == 3)


def test_observed_window_of_a_real_cycle(shared_data: Path) -> None:
    cycle = next(c for c in load_cycles(shared_data) if c.label == "PMS002/2")
    window = observed_window(cycle)
    assert (
        window.opens.date().isoformat(),
        window.peak.date().isoformat(),
        window.closes.date().isoformat(),
    ) == (
        "2024-08-26",
        "2024-08-30",
        "2024-09-04",
    )


def test_garden_series_outvotes_a_faulty_station(shared_data: Path) -> None:
    garden = fill_series(garden_series(shared_data))
    assert not garden.isna().any()
    spring = slice("2024-04-01", "2024-05-31")
    ws01, ws03 = (
        station_series(shared_data, "WS01")[spring],
        station_series(shared_data, "WS03")[spring],
    )
    # WS01 reads warm in spring; the median follows the two stations that agree
    assert float((ws01 - ws03).median()) > 2.0
    assert float(np.abs(garden[spring] - ws03).median()) < 0.5
    with pytest.raises(GardenDataError, match="WS01"):
        station_series(shared_data, "WS09")
