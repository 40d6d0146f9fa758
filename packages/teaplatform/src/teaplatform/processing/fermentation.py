"""Estimated fermentation degree of black tea (pure): first-order catechin oxidation.

    dC/dt = -k(T) C,   k(T) = k_ref · exp(-Ea/R · (1/T - 1/T_ref))
    degree = 1 - C/C0 = 1 - exp(-∫ k(T(t)) dt)

integrated over the oxidation stages from the leaf-temperature readings (each reading holds
until the next one, and no longer than `MAX_HOLD`: longer silences are not counted and lower
the coverage). The parameters and their sources live in the recipe; it is an estimate, not a
measurement of theaflavins.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from teaplatform.processing.recipe import Kinetics

R_KJ = 8.314e-3  # gas constant, kJ/(mol·K)
KELVIN = 273.15
MAX_HOLD = timedelta(minutes=10)  # a reading stands for at most this long


def rate_per_h(kinetics: Kinetics, temp_c: float) -> float:
    """Rate constant (1/h) at `temp_c`."""
    inv = 1.0 / (temp_c + KELVIN) - 1.0 / (kinetics.t_ref_c + KELVIN)
    return kinetics.k_ref_per_h * math.exp(-kinetics.ea_kj_mol / R_KJ * inv)


@dataclass(frozen=True, slots=True)
class Interval:
    """A span of an oxidation stage and the leaf temperatures read in it."""

    start: datetime
    end: datetime
    readings: Sequence[tuple[datetime, float]]  # (ts, °C) in time order


@dataclass(frozen=True, slots=True)
class Estimate:
    degree: float  # share of the catechins oxidised (0 → 1)
    exposure: float  # ∫k dt (dimensionless)
    covered_h: float  # hours with a reading standing for them
    span_h: float  # hours of oxidation stages so far
    mean_temp_c: float | None
    target_low: float
    target_high: float

    @property
    def coverage(self) -> float:
        return self.covered_h / self.span_h if self.span_h > 0 else 0.0

    @property
    def verdict(self) -> str:
        if self.degree < self.target_low:
            return "under"
        return "over" if self.degree > self.target_high else "within"

    def to_dict(self) -> dict[str, object]:
        return {
            "degree": round(self.degree, 3),
            "target": [self.target_low, self.target_high],
            "verdict": self.verdict,
            "mean_leaf_temperature_c": (
                None if self.mean_temp_c is None else round(self.mean_temp_c, 2)
            ),
            "oxidation_hours": round(self.span_h, 3),
            "coverage": round(self.coverage, 3),
        }


def estimate(kinetics: Kinetics, intervals: Sequence[Interval]) -> Estimate:
    exposure = covered = span = weighted = 0.0
    for interval in intervals:
        span += (interval.end - interval.start).total_seconds() / 3600
        points = [(ts, t) for ts, t in interval.readings if interval.start <= ts < interval.end]
        for i, (ts, temp) in enumerate(points):
            until = points[i + 1][0] if i + 1 < len(points) else interval.end
            hours = (min(until, ts + MAX_HOLD) - ts).total_seconds() / 3600
            exposure += rate_per_h(kinetics, temp) * hours
            covered += hours
            weighted += temp * hours
    return Estimate(
        degree=1.0 - math.exp(-exposure),
        exposure=exposure,
        covered_h=covered,
        span_h=span,
        mean_temp_c=weighted / covered if covered > 0 else None,
        target_low=kinetics.target_low,
        target_high=kinetics.target_high,
    )


def hours_to_target(kinetics: Kinetics, current: Estimate, temp_c: float) -> float:
    """Hours more at `temp_c` until the degree reaches the target's low end (0 if there)."""
    needed = -math.log(1.0 - kinetics.target_low) - current.exposure
    return max(needed, 0.0) / rate_per_h(kinetics, temp_c)
