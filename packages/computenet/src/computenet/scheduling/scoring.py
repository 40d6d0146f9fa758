"""Scoring a job's candidate sites: time, energy, carbon and money in one number.

For a job and a candidate (a pool, and a start time: now, the expected start of a busy
pool, or a later hour for a deferrable job) the scorer works out

    time     wait + staging + run time on that accelerator at the job's precision (s)
    energy   facility energy: devices x power at load x run time x the site's PUE (kWh)
    carbon   energy x the site's carbon intensity over the run's hours (kg CO2)
    cost     energy x the site's electricity price over the run's hours (money)

Each figure is divided by the job's yardstick — the least time and the least energy any of
its pools could achieve starting now, and that least energy at the network's mean carbon
intensity and price — and the weighted sum of these ratios is the score (lower is
better). So `time 1, carbon 3` reads: a run 10 % slower is worth it if it saves more
than 3.3 % of an average-grid footprint. Ratios make the weights independent of job size.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from computenet.domain.errors import DomainError
from computenet.domain.jobs import JobSpec
from computenet.scheduling.cluster import ClusterState
from computenet.scheduling.economics import CARBON, PRICE, EnergyModel
from computenet.scheduling.links import LOCAL, LinkState, Route
from computenet.scheduling.records import JobRecord, PoolOption

TERMS = ("time", "energy", "carbon", "cost")
PARAMS = (*TERMS, "shift", "max_defer_h", "max_wait", "max_wait_h")
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Weights:
    """How a policy profile trades time against energy, carbon and money."""

    time: float = 1.0
    energy: float = 0.0
    carbon: float = 0.0
    cost: float = 0.0
    # time-shifting: deferrable jobs may wait for a better hour, at most this long (a
    # job's own deadline may allow less)
    shift: bool = False
    max_defer_s: float = 24 * HOUR
    # waiting for a busy pool: a job that would fit somewhere now may wait this long at
    # most (from its first wait; never past its deadline) for a pool that scores better
    # with the wait counted; 0: never waits for a busy pool
    max_wait_s: float = 0.0

    def __post_init__(self) -> None:
        for name in TERMS:
            if getattr(self, name) < 0:
                raise DomainError(f"weight {name} must be >= 0")
        if self.max_defer_s < 0:
            raise DomainError("max_defer_h must be >= 0")
        if not 0 <= self.max_wait_s < math.inf:
            raise DomainError("max_wait must be >= 0 and finite")

    @property
    def needs_windows(self) -> bool:
        return self.carbon > 0 or self.cost > 0

    def with_params(self, params: Mapping[str, Any]) -> "Weights":
        """These weights with `time=`, `energy=`, `carbon=`, `cost=`, `shift=`,
        `max_defer_h=`, `max_wait=` (seconds) or `max_wait_h=` overrides (values as text or
        numbers)."""
        changes: dict[str, Any] = {}
        for key, value in params.items():
            try:
                if key in TERMS:
                    changes[key] = float(value)
                elif key == "shift":
                    changes[key] = str(value).lower() in ("1", "true", "yes", "on")
                elif key == "max_defer_h":
                    changes["max_defer_s"] = float(value) * HOUR
                elif key == "max_wait":
                    changes["max_wait_s"] = float(value)
                elif key == "max_wait_h":
                    changes["max_wait_s"] = float(value) * HOUR
                else:
                    raise DomainError(f"profile parameter {key!r}; valid: {', '.join(PARAMS)}")
            except ValueError:
                raise DomainError(f"profile parameter {key}: not a number: {value!r}") from None
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Candidate:
    pool: int
    wait_s: float
    staging_s: float
    runtime_s: float
    energy_kwh: float
    carbon_kg: float
    cost: float
    green_kwh: float
    score: float
    terms: tuple[float, float, float, float]  # weighted time, energy, carbon, cost


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """Why a job runs where it runs: the chosen candidate's figures and the runners-up."""

    profile: str
    site: str
    pool: str
    accelerator: str
    speed: float  # relative to the job's reference accelerator at its precision
    wait_s: float
    staging_s: float
    runtime_s: float
    energy_kwh: float
    carbon_kg: float | None
    cost: float | None
    currency: str
    green_share: float | None
    score: float
    terms: Mapping[str, float]
    alternatives: tuple[tuple[str, float], ...] = field(default=())  # (site/pool, score)
    # the busy pool (site/pool) the job last waited for, when it waited for one; `wait_s`
    # then includes that wait (and any time held for a better hour)
    waited_for: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "site": self.site,
            "pool": self.pool,
            "accelerator": self.accelerator,
            "speed": round(self.speed, 4),
            "wait_s": round(self.wait_s, 3),
            "staging_s": round(self.staging_s, 3),
            "runtime_s": round(self.runtime_s, 3),
            "energy_kwh": round(self.energy_kwh, 4),
            "carbon_kg": None if self.carbon_kg is None else round(self.carbon_kg, 4),
            "cost": None if self.cost is None else round(self.cost, 4),
            "currency": self.currency,
            "green_share": None if self.green_share is None else round(self.green_share, 4),
            "score": round(self.score, 4),
            "terms": {k: round(v, 4) for k, v in self.terms.items()},
            "alternatives": [{"where": w, "score": round(s, 4)} for w, s in self.alternatives],
            "waited_for": self.waited_for,
        }

    def summary(self) -> str:
        """One line for the job's history."""
        parts = [f"score {self.score:.3f} ({self.profile})", f"run {self.runtime_s / HOUR:.2f} h"]
        if self.staging_s > 0:
            parts.append(f"staging {self.staging_s:.0f} s")
        if self.waited_for is not None:
            parts.append(f"waited {self.wait_s / HOUR:.2f} h for {self.waited_for}")
        elif self.wait_s > 0:
            parts.append(f"deferred {self.wait_s / HOUR:.1f} h")
        parts.append(f"{self.energy_kwh:.1f} kWh")
        if self.carbon_kg is not None:
            parts.append(f"{self.carbon_kg:.1f} kg CO2")
        if self.cost is not None:
            parts.append(f"{self.cost:.2f} {self.currency}")
        if self.alternatives:
            where, score = self.alternatives[0]
            parts.append(f"next best {where} {score:.3f}")
        return "; ".join(parts)


class _Basics(NamedTuple):
    """What scoring needs of a job at one moment, per pool: staging and run time (s) and
    facility power (kW); and the yardstick (least time, least energy)."""

    per_pool: dict[int, tuple[float, float, float]]
    yard: tuple[float, float]


class Scorer:
    """Scores candidates against the live cluster, link load and energy tables."""

    def __init__(self, cluster: ClusterState, energy: EnergyModel, links: LinkState) -> None:
        self.cluster = cluster
        self.energy = energy
        self.links = links
        self._routes: dict[str, list[Route | None]] = {}  # dataset site -> route per pool
        self._pools_seen = 0
        self._kw_per_milli: list[float] = []
        self._site_of: list[int] = []
        self._basics_key: tuple[int, float, int, float] | None = None
        self._basics: _Basics | None = None

    # -- pieces --------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Per-pool constants (again after a site joined)."""
        pools = self.cluster.pools
        if len(pools) == self._pools_seen:
            return
        energy = self.energy
        self._site_of = [energy.index[p.site] for p in pools]
        self._kw_per_milli = [
            p.model.power_w * energy.pue[self._site_of[p.id]] / 1e6 for p in pools
        ]
        self._routes.clear()
        self._pools_seen = len(pools)

    def route(self, spec: JobSpec, pool: int) -> Route | None:
        """The staging route of `spec`'s data to `pool`'s site (LOCAL without data)."""
        if not spec.dataset_site or spec.dataset_gb <= 0:
            return LOCAL
        self._refresh()
        routes = self._routes.get(spec.dataset_site)
        if routes is None:
            routes = self._routes[spec.dataset_site] = [
                self.links.route(spec.dataset_site, p.site) for p in self.cluster.pools
            ]
        return routes[pool]

    def staging_s(self, spec: JobSpec, pool: int) -> float:
        route = self.route(spec, pool)
        return float("inf") if route is None else self.links.staging_s(route, spec.dataset_gb)

    def facility_kw(self, spec: JobSpec, pool: int) -> float:
        """Power the job draws at the site's meter (devices at load, times PUE)."""
        self._refresh()
        return spec.device_milli * self._kw_per_milli[pool]

    def basics(self, job: JobRecord, now: float) -> _Basics:
        """Staging, run time and power per pool, and the yardstick: the least completion
        time and least energy of any of the job's pools, starting now. Cached while the
        job, the time and the links' load stay the same (a pass asks several times)."""
        key = (job.seq, now, self.links.version, job.remaining)
        if key == self._basics_key and self._basics is not None:
            return self._basics
        spec = job.spec
        self._refresh()
        kw_pm = self._kw_per_milli
        milli = spec.device_milli
        per_pool: dict[int, tuple[float, float, float]] = {}
        t_ref = e_ref = float("inf")
        for opt in job.options:
            staging = self.staging_s(spec, opt.pool)
            if staging == float("inf"):
                continue  # the data cannot reach that site
            runtime = job.remaining * opt.runtime_s
            kw = milli * kw_pm[opt.pool]
            per_pool[opt.pool] = (staging, runtime, kw)
            t_ref = min(t_ref, staging + runtime)
            e_ref = min(e_ref, kw * runtime / HOUR)
        basics = _Basics(per_pool, (max(t_ref, 1.0), max(e_ref, 1e-9)))
        self._basics_key, self._basics = key, basics
        return basics

    def yardstick(self, job: JobRecord, now: float) -> tuple[float, float]:
        return self.basics(job, now).yard

    # -- scores --------------------------------------------------------------------------

    def score(
        self,
        job: JobRecord,
        pool: int,
        start: float,
        now: float,
        weights: Weights,
        *,
        full: bool = True,
    ) -> Candidate:
        """One candidate: run `job` in `pool`, beginning to stage at `start`. Without
        `full`, carbon and cost are worked out only when the weights need them."""
        basics = self.basics(job, now)
        staging, runtime, kw = basics.per_pool[pool]
        kwh = kw * runtime / HOUR
        site = self._site_of[pool]
        t0 = start + staging
        energy = self.energy
        carbon = cost = green = 0.0
        if full:
            window = energy.window(site, t0, t0 + runtime)
            carbon = kwh * window.carbon_kg_per_kwh
            cost = kwh * window.price_per_kwh
            green = kwh * window.green_share
        else:
            if weights.carbon > 0:
                carbon = kwh * energy.mean(site, CARBON, t0, t0 + runtime)
            if weights.cost > 0:
                cost = kwh * energy.mean(site, PRICE, t0, t0 + runtime)
        t_ref, e_ref = basics.yard
        ref = energy.reference
        terms = (
            weights.time * (start - now + staging + runtime) / t_ref,
            weights.energy * kwh / e_ref,
            _ratio(weights.carbon, carbon, e_ref * ref.carbon_kg_per_kwh),
            _ratio(weights.cost, cost, e_ref * ref.price_per_kwh),
        )
        return Candidate(
            pool=pool,
            wait_s=start - now,
            staging_s=staging,
            runtime_s=runtime,
            energy_kwh=kwh,
            carbon_kg=carbon,
            cost=cost,
            green_kwh=green,
            score=sum(terms),
            terms=terms,
        )

    def _coefficients(self, basics: _Basics, weights: Weights) -> tuple[float, float, float, float]:
        """Per-second weights of time, energy (per kW), carbon and cost (per kW x intensity):
        each term divided by its yardstick, so weights compare like with like."""
        t_ref, e_ref = basics.yard
        ref = self.energy.reference
        carbon_scale = e_ref * ref.carbon_kg_per_kwh
        cost_scale = e_ref * ref.price_per_kwh
        return (
            weights.time / t_ref,
            weights.energy / e_ref / HOUR,
            weights.carbon / carbon_scale / HOUR if carbon_scale > 0 else 0.0,
            weights.cost / cost_scale / HOUR if cost_scale > 0 else 0.0,
        )

    def ranked(
        self, job: JobRecord, options: Sequence[PoolOption], now: float, weights: Weights
    ) -> list[tuple[float, int]]:
        """(score, pool) of `options` for a start now, best first (ties: the order given).
        The hot path of scoring placers: plain arithmetic, no objects per candidate."""
        basics = self.basics(job, now)
        per_pool = basics.per_pool
        mean = self.energy.mean
        site_of = self._site_of
        w_time, w_energy, w_carbon, w_cost = self._coefficients(basics, weights)
        scored = []
        for opt in options:
            pool = opt.pool
            entry = per_pool.get(pool)
            if entry is None:
                continue  # the data cannot reach that site
            staging, runtime, kw = entry
            score = w_time * (staging + runtime) + w_energy * kw * runtime
            if w_carbon or w_cost:
                t0 = now + staging
                kws = kw * runtime
                if w_carbon:
                    score += w_carbon * kws * mean(site_of[pool], CARBON, t0, t0 + runtime)
                if w_cost:
                    score += w_cost * kws * mean(site_of[pool], PRICE, t0, t0 + runtime)
            scored.append((score, pool))
        scored.sort(key=lambda c: c[0])
        return scored

    def floors(
        self,
        job: JobRecord,
        pools: Sequence[int],
        now: float,
        latest: float,
        weights: Weights,
        *,
        below: float,
    ) -> list[tuple[float, int]]:
        """(floor, pool) for each of `pools` whose floor is under `below`, lowest first: a
        floor under the score of `job` there for any start in [now, latest] — no wait, and
        the site's least hourly carbon intensity and price over the hours such a run could
        touch. Lets a placer skip busy pools without working out when they free up."""
        basics = self.basics(job, now)
        per_pool = basics.per_pool
        minimum = self.energy.minimum
        site_of = self._site_of
        w_time, w_energy, w_carbon, w_cost = self._coefficients(basics, weights)
        out = []
        for pool in pools:
            entry = per_pool.get(pool)
            if entry is None:
                continue  # the data cannot reach that site
            staging, runtime, kw = entry
            floor = w_time * (staging + runtime) + w_energy * kw * runtime
            if floor >= below:
                continue
            if w_carbon or w_cost:
                t0, t1 = now + staging, latest + staging + runtime
                kws = kw * runtime
                if w_carbon:
                    floor += w_carbon * kws * minimum(site_of[pool], CARBON, t0, t1)
                if w_cost:
                    floor += w_cost * kws * minimum(site_of[pool], PRICE, t0, t1)
                if floor >= below:
                    continue
            out.append((floor, pool))
        out.sort()
        return out

    def best_later(
        self, job: JobRecord, now: float, weights: Weights
    ) -> tuple[float, float] | None:
        """The best (score, start) among later whole hours, up to the job's deadline and
        the profile's deferral limit, at pools where that hour beats starting there now
        (the gain comes from the hour, not from a pool being busy now); None if none."""
        spec = job.spec
        basics = self.basics(job, now)
        if not basics.per_pool:
            return None
        cal = self.energy.calendar
        first = cal.time_of_hour(cal.local_hour_index(now) + 1)
        later = np.arange(first, now + weights.max_defer_s + 1e-9, HOUR)
        if later.size == 0:
            return None
        pools = list(basics.per_pool)
        rows = np.array([basics.per_pool[p] for p in pools])  # staging, runtime, kW
        staging, runtime, kw = rows[:, 0], rows[:, 1], rows[:, 2]
        sites = np.array([self._site_of[p] for p in pools], dtype=np.int64)
        # column 0: starting now; then each later hour
        starts = np.concatenate(([now], later))
        s_grid = np.broadcast_to(starts[None, :], (len(pools), starts.size))
        t0 = s_grid + staging[:, None]
        t1 = t0 + runtime[:, None]
        site_grid = np.broadcast_to(sites[:, None], s_grid.shape)
        carbon_h, _, price_h = self.energy.integrals(site_grid, t0, t1)
        t_ref, e_ref = basics.yard
        ref = self.energy.reference
        kwh = (kw * runtime / HOUR)[:, None]
        score = weights.time * (s_grid - now + (staging + runtime)[:, None]) / t_ref
        score = score + weights.energy * kwh / e_ref
        if weights.carbon > 0 and ref.carbon_kg_per_kwh > 0:
            score = score + weights.carbon * kw[:, None] * carbon_h / (
                e_ref * ref.carbon_kg_per_kwh
            )
        if weights.cost > 0 and ref.price_per_kwh > 0:
            score = score + weights.cost * kw[:, None] * price_h / (e_ref * ref.price_per_kwh)
        latest = np.full(len(pools), np.inf)
        if spec.deadline_s is not None:
            latest = spec.submit_time + spec.deadline_s - staging - runtime
        allowed = (s_grid[:, 1:] <= latest[:, None]) & (score[:, 1:] < score[:, :1])
        score = np.where(allowed, score[:, 1:], np.inf)
        flat = int(np.argmin(score))
        best = float(score.flat[flat])
        if best == float("inf"):
            return None
        return best, float(later[flat % later.size])

    def explain(
        self,
        job: JobRecord,
        pool: int,
        now: float,
        weights: Weights,
        profile: str,
        *,
        ranked: Sequence[tuple[float, int]] | None = None,
        wait_s: float = 0.0,
        waited_for: str | None = None,
    ) -> ScoreBreakdown:
        """The breakdown of running `job` in `pool` from now, with the best other pools."""
        if ranked is None or not any(p == pool for _, p in ranked):
            ranked = self.ranked(job, job.options, now, weights)
        pools = self.cluster.pools
        chosen = self.score(job, pool, now, now, weights)
        others = tuple((pools[p].key, score) for score, p in ranked if p != pool)[:3]
        p = pools[pool]
        site_known = self.energy.site_has_data(p.site)
        return ScoreBreakdown(
            profile=profile,
            site=p.site,
            pool=p.name,
            accelerator=p.model.name,
            speed=job.option(pool).speed,
            wait_s=wait_s,
            staging_s=chosen.staging_s,
            runtime_s=chosen.runtime_s,
            energy_kwh=chosen.energy_kwh,
            carbon_kg=chosen.carbon_kg if site_known else None,
            cost=chosen.cost if site_known else None,
            currency=self.energy.currency,
            green_share=chosen.green_kwh / chosen.energy_kwh
            if site_known and chosen.energy_kwh > 0
            else None,
            score=chosen.score,
            terms=dict(zip(TERMS, chosen.terms, strict=True)),
            alternatives=others,
            waited_for=waited_for,
        )


def _ratio(weight: float, value: float, scale: float) -> float:
    return weight * value / scale if weight > 0 and scale > 0 else 0.0
