"""Pick plans: reach, visiting order (checked against brute force), cycle time."""

import itertools

import numpy as np
import pytest

from teaplatform.picking.plan import ArmConfig, nearest_neighbour, plan_picks, tour_length, two_opt

pytestmark = pytest.mark.unit


def test_only_points_in_the_annulus_are_planned() -> None:
    arm = ArmConfig(
        mm_per_px=1.0, base=(0.5, 1.0), home=(0.5, 0.9), reach_min_mm=20, reach_max_mm=60
    )
    # image 100x100: base at (50, 100)
    points = [(50, 90), (50, 60), (50, 10), (90, 90)]
    plan = plan_picks(points, (100, 100), arm)
    assert plan.reachable == (False, True, False, True)
    assert sorted(plan.order) == [1, 3]


def test_window_cuts_the_reach() -> None:
    arm = ArmConfig(
        mm_per_px=1.0, base=(0.5, 0.5), reach_min_mm=0, reach_max_mm=1000, window=(0, 0, 0.5, 1)
    )
    plan = plan_picks([(10, 10), (90, 10)], (100, 100), arm)
    assert plan.reachable == (True, False)


def test_two_opt_finds_the_shortest_tour_on_small_cases() -> None:
    rng = np.random.default_rng(4)
    for _ in range(15):
        nodes = rng.uniform(0, 100, (7, 2))
        dist = np.hypot(*(nodes[:, None, :] - nodes[None, :, :]).transpose(2, 0, 1))
        tour = two_opt(nearest_neighbour(dist), dist)
        best = min(tour_length(list(p), dist) for p in itertools.permutations(range(6)))
        assert sorted(tour) == list(range(6))
        # 2-opt is a local optimum: allow a little slack, and it must beat nearest neighbour
        assert tour_length(tour, dist) <= best * 1.10
        assert tour_length(tour, dist) <= tour_length(nearest_neighbour(dist), dist) + 1e-9


def test_cycle_time_is_travel_plus_picks() -> None:
    arm = ArmConfig(
        mm_per_px=2.0,
        base=(0.0, 0.0),
        home=(0.0, 0.0),
        reach_min_mm=0,
        reach_max_mm=1e6,
        speed_mm_s=100,
        pick_s=2,
    )
    plan = plan_picks([(30, 0), (30, 40)], (100, 100), arm)
    # home (0,0) -> (30,0) -> (30,40) -> home: 30 + 40 + 50 = 120 px = 240 mm
    assert plan.travel_mm == pytest.approx(240)
    assert plan.travel_s == pytest.approx(2.4)
    assert plan.cycle_s == pytest.approx(2.4 + 4)
    assert plan.to_json()["picks"] == 2


def test_empty_plan() -> None:
    plan = plan_picks([], (10, 10), ArmConfig())
    assert plan.picks == 0 and plan.cycle_s == 0
