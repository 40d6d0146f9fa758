"""Alert rules (pure): each kind, seasons, state carried across batches, and the frost rule on
the real WS02 series.

The pinned frost episodes were found in the real data with an independent pandas script:

    d = pd.read_csv("WS02_temperature_hourly.csv", parse_dates=["hour"]).dropna()
    cond = (d.temperature_c <= LIMIT) & d.hour.dt.month.isin([2, 3, 4])
    starts = d.hour[cond & ~cond.shift(1, fill_value=False)]   # first reading at/below
    ends = d.hour[~cond & cond.shift(1, fill_value=False)]     # first reading above again

LIMIT 3.0 (the built-in): no reading in season qualifies (the coldest spring hour is 6.49 °C on
2024-02-11 06:00). LIMIT 9.0: four episodes, listed in `FROST_AT_9C`.
"""

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from teaplatform.garden.csvimport import parse_csv
from teaplatform.garden.readings import Reading
from teaplatform.garden.rules import (
    BUILTIN_RULES,
    Episode,
    RuleKind,
    RuleSpec,
    RuleState,
    effective_rules,
    evaluate,
    silent_since,
)

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def hourly(values: list[float], start: datetime = T0) -> list[tuple[datetime, float]]:
    return [(start + i * H, v) for i, v in enumerate(values)]


def spans(episodes: list[Episode]) -> list[tuple[datetime | None, datetime | None]]:
    return [
        (e.opened[0] if e.opened else None, e.resolved[0] if e.resolved else None) for e in episodes
    ]


def rule(**fields: object) -> RuleSpec:
    return RuleSpec.model_validate({"name": "r", **fields})


BELOW_5 = rule(kind="threshold", quantity="air_temperature", op="below", limit=5.0)


def test_threshold_opens_at_the_first_reading_at_the_limit_and_resolves_at_the_first_above() -> (
    None
):
    result = evaluate(BELOW_5, None, hourly([7, 5, 3, 6, 4, 8]), UTC)
    assert spans(result.episodes) == [(T0 + 1 * H, T0 + 3 * H), (T0 + 4 * H, T0 + 5 * H)]
    assert [e.peak for e in result.episodes] == [3, 4]
    assert result.state == RuleState(T0 + 5 * H, 8, None, False)


def test_sustained_needs_the_whole_duration() -> None:
    heat = rule(
        kind="sustained", quantity="air_temperature", op="above", limit=35, duration_s=3 * 3600
    )
    # 35+ from 1h: held 0h, 1h, 2h (no alert yet), 3h at 4h → fires there; 34 at 6h resolves
    result = evaluate(heat, None, hourly([30, 35, 36, 37, 36, 38, 34, 36, 36]), UTC)
    assert spans(result.episodes) == [(T0 + 4 * H, T0 + 6 * H)]
    assert result.episodes[0].peak == 38
    assert result.state is not None and result.state.since == T0 + 7 * H and not result.state.firing


def test_rate_of_change_per_hour() -> None:
    fall = rule(kind="rate_of_change", quantity="air_temperature", op="fall", limit=3)
    points = [
        (T0, 20.0),
        (T0 + H, 18.0),
        (T0 + 2 * H, 14.0),
        (T0 + 150 * timedelta(minutes=1), 12.0),
    ]
    # −2/h, −4/h (fires), −4/h over 30 min (still), then +1/h resolves
    result = evaluate(fall, None, [*points, (T0 + 4 * H, 13.5)], UTC)
    assert spans(result.episodes) == [(T0 + 2 * H, T0 + 4 * H)]
    assert result.episodes[0].peak == pytest.approx(-4.0)


def test_months_limit_the_rule_in_the_gardens_zone() -> None:
    spring = BELOW_5.model_copy(update={"months": (3,)})
    feb_evening = datetime(2024, 2, 29, 17, tzinfo=UTC)  # 1 March 01:00 in Shanghai
    points = hourly([2, 2, 2], start=feb_evening - 2 * H)
    assert spans(evaluate(spring, None, points, UTC).episodes) == []
    from zoneinfo import ZoneInfo

    opened = evaluate(spring, None, points, ZoneInfo("Asia/Shanghai")).episodes
    assert spans(opened) == [(feb_evening - H, None)]  # 00:00 on 1 March, local


def test_state_carries_over_and_late_readings_are_skipped() -> None:
    first = evaluate(BELOW_5, None, hourly([7, 4, 3]), UTC)
    assert spans(first.episodes) == [(T0 + H, None)]
    late = [(T0 + H, 10.0), (T0 + 2 * H, 3.0)]  # before the live edge: skipped
    second = evaluate(BELOW_5, first.state, [*late, (T0 + 3 * H, 2.0), (T0 + 4 * H, 9.0)], UTC)
    assert second.skipped == 2
    assert spans(second.episodes) == [(None, T0 + 4 * H)]
    assert second.episodes[0].peak == 2.0


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-5, 40, allow_nan=False), min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    kind=st.sampled_from(["threshold", "sustained", "rate_of_change"]),
)
def test_batches_give_the_same_alerts_as_one_pass(
    values: list[float], cuts: list[int], kind: str
) -> None:
    spec = {
        "threshold": BELOW_5,
        "sustained": rule(
            kind="sustained", quantity="air_temperature", op="above", limit=20, duration_s=7200
        ),
        "rate_of_change": rule(
            kind="rate_of_change", quantity="air_temperature", op="either", limit=5
        ),
    }[kind]
    points = hourly(values)
    whole = evaluate(spec, None, points, UTC)
    state, opened, resolved = None, [], []
    bounds = sorted({0, len(points), *(c for c in cuts if c <= len(points))})
    for lo, hi in itertools.pairwise(bounds):
        part = evaluate(spec, state, points[lo:hi], UTC)
        state = part.state
        opened += [e.opened for e in part.episodes if e.opened]
        resolved += [e.resolved for e in part.episodes if e.resolved]
    assert opened == [e.opened for e in whole.episodes if e.opened]
    assert resolved == [e.resolved for e in whole.episodes if e.resolved]
    assert state == whole.state


def test_spec_validation_per_kind() -> None:
    with pytest.raises(ValidationError, match="needs a limit"):
        rule(kind="threshold", quantity="air_temperature", op="below")
    with pytest.raises(ValidationError, match="needs op"):
        rule(kind="rate_of_change", quantity="air_temperature", op="below", limit=2)
    with pytest.raises(ValidationError, match="use kind sustained"):
        rule(kind="threshold", quantity="air_temperature", op="below", limit=2, duration_s=60)
    with pytest.raises(ValidationError, match="unknown quantity"):
        rule(kind="threshold", quantity="leaf_colour", op="below", limit=2)
    with pytest.raises(ValidationError, match="months"):
        rule(kind="threshold", quantity="air_temperature", op="below", limit=2, months=[13])
    with pytest.raises(ValidationError, match="missing_data needs"):
        rule(kind="missing_data")
    with pytest.raises(ValueError, match="against the clock"):
        evaluate(BUILTIN_RULES["sensor_silent"], None, hourly([1]), UTC)


def test_builtins_describe_themselves() -> None:
    assert BUILTIN_RULES["frost_risk"].describe() == "air_temperature ≤ 3 °C in months 2,3,4"
    assert BUILTIN_RULES["heat_stress"].describe() == "air_temperature ≥ 35 °C for 3 h"
    assert BUILTIN_RULES["drought"].describe() == "soil_moisture ≤ 20 % for 12 h"
    assert BUILTIN_RULES["sensor_silent"].describe() == "nothing received for 2 h"


def test_plot_overrides_replace_or_disable_builtins() -> None:
    warm = BUILTIN_RULES["frost_risk"].model_copy(update={"limit": 9.0})
    mine = rule(kind="threshold", quantity="soil_temperature", op="below", limit=4)
    rules = effective_rules([(warm, True), (BUILTIN_RULES["drought"], False), (mine, True)])
    assert rules["frost_risk"].limit == 9.0
    assert "drought" not in rules and "r" in rules and "heat_stress" in rules


def test_silence_is_measured_from_the_last_report() -> None:
    silent = BUILTIN_RULES["sensor_silent"]
    now = T0 + 10 * H
    seen = {1: now - 3 * H, 2: now - H, 3: None}
    assert silent_since(seen, now, silent) == {1: now - H}
    assert silent.kind is RuleKind.MISSING_DATA


# --- the frost rule on the real series --------------------------------------------------------

FROST_AT_9C = [  # (opened, its value, resolved, its value, coldest)
    (datetime(2024, 2, 11, 0, tzinfo=UTC), 8.56, datetime(2024, 2, 11, 8, tzinfo=UTC), 17.43, 6.49),
    (datetime(2024, 2, 12, 2, tzinfo=UTC), 8.94, datetime(2024, 2, 12, 3, tzinfo=UTC), 9.23, 8.94),
    (datetime(2024, 2, 12, 4, tzinfo=UTC), 8.94, datetime(2024, 2, 12, 5, tzinfo=UTC), 9.4, 8.94),
    (datetime(2024, 3, 1, 21, tzinfo=UTC), 8.85, datetime(2024, 3, 2, 6, tzinfo=UTC), 9.23, 8.48),
]


def station(shared_data: Path, name: str = "WS02") -> list[tuple[datetime, float]]:
    with (shared_data / f"tea/garden/{name}_temperature_hourly.csv").open() as fh:
        return [(r.ts, r.value) for r in parse_csv(fh, device=name) if isinstance(r, Reading)]


@pytest.mark.parametrize(
    ("name", "readings", "spring_min"),
    [("WS01", 5912, 22.06), ("WS02", 9088, 6.49), ("WS03", 5055, 11.7), ("WS04", 829, None)],
)
def test_builtin_frost_rule_never_fires_on_the_real_stations(
    shared_data: Path, name: str, readings: int, spring_min: float | None
) -> None:
    points = station(shared_data, name)
    assert len(points) == readings  # rows minus the gaps (empty values)
    spring = [v for ts, v in points if ts.month in (2, 3, 4)]
    assert (min(spring) if spring else None) == spring_min  # nowhere near 3 °C
    assert evaluate(BUILTIN_RULES["frost_risk"], None, points, UTC).episodes == []


def test_frost_rule_fires_exactly_where_the_real_series_crosses_9c(shared_data: Path) -> None:
    frost = BUILTIN_RULES["frost_risk"].model_copy(update={"limit": 9.0})
    episodes = evaluate(frost, None, station(shared_data), UTC).episodes
    found = [
        (e.opened[0], e.opened[1], e.resolved[0], e.resolved[1], e.peak)
        for e in episodes
        if e.opened and e.resolved
    ]
    assert found == FROST_AT_9C
    assert len(episodes) == len(FROST_AT_9C)
