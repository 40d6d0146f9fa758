"""A pick plan for a robot arm: which picking points it can reach, in which order, how long.

The arm's base stands at a point in the image plane (pixels; ``mm_per_px`` turns pixels into
millimetres on the canopy). Its reach is an annulus (``reach_min_mm``..``reach_max_mm``
around the base), optionally cut to a rectangle in pixels. The tool starts at the home
position, visits every reachable point once and comes back; the order is nearest neighbour
then 2-opt (reverse a stretch whenever that shortens the tour) until no move helps. Cycle time
= travel at a constant tool speed + a fixed time per pick.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

Point = tuple[float, float]


class ArmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mm_per_px: float = Field(default=0.5, gt=0)  # a 640-px view spans 320 mm of canopy
    # base and home as fractions of the image's width and height (the arm below the view)
    base: tuple[float, float] = (0.5, 1.1)
    home: tuple[float, float] = (0.5, 0.9)
    reach_min_mm: float = Field(default=60.0, ge=0)
    reach_max_mm: float = Field(default=420.0, gt=0)
    # optional rectangle (x1, y1, x2, y2) in image fractions the tool must stay inside
    window: tuple[float, float, float, float] | None = None
    speed_mm_s: float = Field(default=500.0, gt=0)
    pick_s: float = Field(default=1.5, ge=0)  # approach, cut, retract


@dataclass(frozen=True)
class PickPlan:
    points: tuple[Point, ...]  # every picking point, as given
    reachable: tuple[bool, ...]
    order: tuple[int, ...]  # indices into `points`, visiting order (reachable ones only)
    home: Point
    base: Point
    travel_mm: float
    travel_s: float
    pick_s: float

    @property
    def cycle_s(self) -> float:
        return self.travel_s + self.pick_s

    @property
    def picks(self) -> int:
        return len(self.order)

    def to_json(self) -> dict[str, object]:
        return {
            "order": list(self.order),
            "reachable": list(self.reachable),
            "picks": self.picks,
            "travel_mm": round(self.travel_mm, 1),
            "travel_s": round(self.travel_s, 2),
            "pick_s": round(self.pick_s, 2),
            "cycle_s": round(self.cycle_s, 2),
        }


def reachable(
    points: NDArray[np.float64], base: Point, config: ArmConfig, size: tuple[int, int]
) -> NDArray[np.bool_]:
    """Which points (pixels) lie in the arm's annulus and inside its window."""
    if len(points) == 0:
        return np.zeros(0, bool)
    dist_mm = np.hypot(points[:, 0] - base[0], points[:, 1] - base[1]) * config.mm_per_px
    ok = (dist_mm >= config.reach_min_mm) & (dist_mm <= config.reach_max_mm)
    if config.window is not None:
        w, h = size
        x1, y1, x2, y2 = config.window
        ok &= (points[:, 0] >= x1 * w) & (points[:, 0] <= x2 * w)
        ok &= (points[:, 1] >= y1 * h) & (points[:, 1] <= y2 * h)
    return ok


def tour_length(order: Sequence[int], dist: NDArray[np.float64]) -> float:
    """Length of the closed tour home -> order... -> home; node 0 of `dist` is home."""
    path = [0, *[i + 1 for i in order], 0]
    return float(sum(dist[a, b] for a, b in pairwise(path)))


def nearest_neighbour(dist: NDArray[np.float64]) -> list[int]:
    """Greedy tour from home (node 0); returns point indices (node - 1)."""
    n = len(dist) - 1
    left = set(range(1, n + 1))
    here, order = 0, []
    while left:
        nxt = min(left, key=lambda j: (dist[here, j], j))
        order.append(nxt - 1)
        left.remove(nxt)
        here = nxt
    return order


def two_opt(order: list[int], dist: NDArray[np.float64]) -> list[int]:
    """Improve a closed tour through home by segment reversals until none shortens it."""
    path = [0, *[i + 1 for i in order], 0]
    improved = True
    while improved:
        improved = False
        for i in range(1, len(path) - 2):
            for j in range(i + 1, len(path) - 1):
                a, b, c, d = path[i - 1], path[i], path[j], path[j + 1]
                if dist[a, c] + dist[b, d] < dist[a, b] + dist[c, d] - 1e-9:
                    path[i : j + 1] = path[i : j + 1][::-1]
                    improved = True
    return [p - 1 for p in path[1:-1]]


def plan_picks(points: Sequence[Point], size: tuple[int, int], config: ArmConfig) -> PickPlan:
    """The plan for picking points (pixels) in an image of `size` (width, height)."""
    w, h = size
    base = (config.base[0] * w, config.base[1] * h)
    home = (config.home[0] * w, config.home[1] * h)
    pts = np.array(points, np.float64).reshape(-1, 2)
    ok = reachable(pts, base, config, size)
    idx = np.flatnonzero(ok)
    nodes = np.vstack([np.array(home)[None, :], pts[idx]]) * config.mm_per_px
    dist = np.hypot(nodes[:, None, 0] - nodes[None, :, 0], nodes[:, None, 1] - nodes[None, :, 1])
    local = two_opt(nearest_neighbour(dist), dist) if len(idx) else []
    travel = tour_length(local, dist) if local else 0.0
    return PickPlan(
        points=tuple((float(x), float(y)) for x, y in pts),
        reachable=tuple(bool(v) for v in ok),
        order=tuple(int(idx[i]) for i in local),
        home=home,
        base=base,
        travel_mm=travel,
        travel_s=travel / config.speed_mm_s,
        pick_s=config.pick_s * len(local),
    )
