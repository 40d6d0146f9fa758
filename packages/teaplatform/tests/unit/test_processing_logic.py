"""Deviation watches, auto-advance timing and the fermentation estimate (pure)."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from teaplatform.processing.batch import EndedBy, due_transitions
from teaplatform.processing.deviation import AlarmOpened, AlarmResolved, Direction, Watch, observe
from teaplatform.processing.fermentation import Interval, estimate, hours_to_target, rate_per_h
from teaplatform.processing.recipe import Range, get_recipe

pytestmark = pytest.mark.unit

T0 = datetime(2024, 10, 1, 8, tzinfo=UTC)
RANGE = Range(low=24, high=30, source="x")
SUSTAIN, CLEAR = timedelta(minutes=5), timedelta(minutes=2)


def feed(values: list[tuple[int, float]], watch: Watch | None = None) -> tuple[Watch, list[object]]:
    """Readings at T0 + minutes; returns the final watch and every event."""
    events: list[object] = []
    watch = watch or Watch()
    for minute, value in values:
        watch, new = observe(
            watch, T0 + timedelta(minutes=minute), value, RANGE, sustain=SUSTAIN, clear=CLEAR
        )
        events.extend(new)
    return watch, events


def test_one_noisy_reading_is_not_an_alarm() -> None:
    watch, events = feed([(0, 27), (1, 35), (2, 27), (3, 27)])
    assert events == []
    assert watch == Watch()


def test_a_sustained_excursion_opens_one_alarm() -> None:
    watch, events = feed([(0, 31), (2, 32), (4, 33), (5, 34), (6, 36), (8, 31)])
    opened = [e for e in events if isinstance(e, AlarmOpened)]
    assert len(opened) == 1  # de-duplicated while it lasts
    assert opened[0].direction is Direction.HIGH
    assert opened[0].since == T0 and opened[0].at == T0 + timedelta(minutes=5)
    assert opened[0].limit == 30
    assert watch.alarmed and watch.extreme == 36


def test_it_resolves_only_after_staying_back_in_range() -> None:
    watch, _ = feed([(0, 31), (5, 31)])
    watch, events = feed([(6, 28), (7, 31), (8, 28), (9, 28)], watch)
    assert events == []  # back for 1 min only, then out again: still the same alarm
    watch, events = feed([(10, 28)], watch)
    assert events == [AlarmResolved(T0 + timedelta(minutes=10))]
    assert watch == Watch()


def test_flipping_sides_resolves_and_starts_again() -> None:
    watch, events = feed([(0, 31), (5, 31), (6, 20), (12, 20)])
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["AlarmOpened", "AlarmResolved", "AlarmOpened"]
    assert watch.direction is Direction.LOW


def test_auto_advance_dates_changes_at_typical_durations() -> None:
    recipe = get_recipe("hunan-black")  # typical: 600, 80, 180, 15, 50 min
    due = due_transitions(recipe, 0, T0, T0 + timedelta(minutes=700))
    assert [(t.ended, t.next, t.by) for t in due] == [
        (0, 1, EndedBy.ELAPSED),
        (1, 2, EndedBy.ELAPSED),
    ]
    assert due[1].at == T0 + timedelta(minutes=680)
    everything = due_transitions(recipe, 0, T0, T0 + timedelta(days=2))
    assert everything[-1].next is None
    assert everything[-1].at == T0 + timedelta(minutes=recipe.typical_minutes)
    assert due_transitions(recipe, 0, T0, T0 + timedelta(minutes=599)) == []


def test_fermentation_estimate_follows_first_order_kinetics() -> None:
    kinetics = get_recipe("hunan-black").fermentation
    assert kinetics is not None
    assert rate_per_h(kinetics, 25.0) == pytest.approx(math.log(4) / (260 / 60), rel=0.01)
    assert rate_per_h(kinetics, 35.0) / rate_per_h(kinetics, 25.0) == pytest.approx(1.93, abs=0.02)
    # the recipe's typical 260 min at 25 °C, a reading every 5 min → 75 % oxidised
    readings = [(T0 + timedelta(minutes=m), 25.0) for m in range(0, 260, 5)]
    span = Interval(T0, T0 + timedelta(minutes=260), readings)
    est = estimate(kinetics, [span])
    assert est.degree == pytest.approx(0.75, abs=0.01)
    assert est.coverage == pytest.approx(1.0)
    assert est.verdict == "within"
    # warmer leaf oxidises faster
    warm = estimate(kinetics, [Interval(span.start, span.end, [(t, 29.0) for t, _ in readings])])
    assert warm.degree > est.degree
    # a silent hour is not counted: lower coverage, lower degree
    sparse = [r for r in readings if not T0 + timedelta(hours=1) <= r[0] < T0 + timedelta(hours=2)]
    gap = estimate(kinetics, [Interval(span.start, span.end, sparse)])
    assert gap.coverage == pytest.approx(205 / 260)  # the last reading before it holds 10 min
    assert gap.degree < est.degree
    early = estimate(kinetics, [Interval(T0, T0 + timedelta(hours=1), readings[:12])])
    assert early.verdict == "under"
    assert hours_to_target(kinetics, early, 25.0) == pytest.approx(
        (-math.log(0.3) - early.exposure) / rate_per_h(kinetics, 25.0)
    )
