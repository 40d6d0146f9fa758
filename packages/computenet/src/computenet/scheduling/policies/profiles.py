"""Policy profiles: placers that score every site where a job fits now (see
`computenet.scheduling.scoring`) and pick the best — or wait for a busy site that scores
better at its expected start — and the time-shifter that lets a deferrable job wait for a
greener or cheaper hour.

Built-in profiles (weights of time, energy, carbon, cost; whether to time-shift; how long
a job may wait for a busy pool):

    fast      1, 0, 0, 0              least completion time, staging included; never waits
    green     1, 0, 1, 0, shift, 2 h  a 10 % slower run is worth 10 % of an average-grid
                                      footprint
    cheap     1, 0, 0, 1, shift, 2 h  the same for the electricity bill
    balanced  1, 0.5, 1, 1, shift, 2 h
    score     1, 0, 0, 0              a blank to fill inline: `score:time=1,carbon=8,shift=1`

Waiting for a busy pool: a profile that may wait also scores the pools where the job does
not fit now, at their expected start (when running jobs free enough of the pool, on their
estimates: backfill's shadow time), the wait counted in the time term and carbon and price
taken over the hours the job would then run. If one of them beats every pool where the job
fits now, the job waits for it and the pool is reserved for it as backfill reserves one for
the head of the queue (others start there only if they do not delay it). A job waits at
most `max_wait` from its first wait, and never so long that it would miss its deadline.

Any profile takes overrides after a colon (`green:carbon=8,max_defer_h=12,max_wait=600`);
scenario files and the service's settings may define more (`make_policy(name, profiles=...)`).
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

from computenet.scheduling.cluster import ClusterState, Placement
from computenet.scheduling.framework import PoolWait, SchedulerView
from computenet.scheduling.placement import place_in_pool
from computenet.scheduling.policies.placers import PlacerBase
from computenet.scheduling.records import JobRecord, PoolOption
from computenet.scheduling.scoring import ScoreBreakdown, Scorer, Weights

MAX_WAIT_S = 2 * 3600.0  # how long green, cheap and balanced may wait for a busy pool

PROFILES: dict[str, Weights] = {
    "fast": Weights(),
    "green": Weights(carbon=1.0, shift=True, max_wait_s=MAX_WAIT_S),
    "cheap": Weights(cost=1.0, shift=True, max_wait_s=MAX_WAIT_S),
    "balanced": Weights(energy=0.5, carbon=1.0, cost=1.0, shift=True, max_wait_s=MAX_WAIT_S),
    "score": Weights(),
}


class _Choice(NamedTuple):
    """The last placement `place` made: what `wait_for` and `explain` read."""

    seq: int
    now: float
    ranked: list[tuple[float, int]]  # (score now, pool) of the pools that looked free
    chosen: int  # the chosen pool's place in `ranked`
    options: Sequence[PoolOption]


class ProfilePlacer(PlacerBase):
    """The best-scoring pool among those where the job fits now — or, for a profile with
    a `max_wait`, a busy pool that scores better still with the wait counted."""

    scores = True

    def __init__(self, name: str, weights: Weights) -> None:
        self.name = name
        self.weights = weights
        self.waits = weights.max_wait_s > 0
        self._scorer: Scorer | None = None
        self._now = 0.0
        self._last: _Choice | None = None

    def begin_pass(self, view: SchedulerView, now: float) -> None:
        self._scorer = view.scorer
        self._now = now

    def place(
        self,
        job: JobRecord,
        cluster: ClusterState,
        options: Sequence[PoolOption] | None = None,
    ) -> Placement | None:
        assert self._scorer is not None, "begin_pass was not called"
        demand = job.demand_milli
        pools = cluster.pools
        considered = job.options if options is None else options
        fitting = [
            o
            for o in considered
            if pools[o.pool].free_milli >= demand and cluster.power_fits(pools[o.pool], demand)
        ]
        if not fitting:
            return None
        ranked = self._scorer.ranked(job, fitting, self._now, self.weights)
        for i, (_, pool) in enumerate(ranked):
            placement = place_in_pool(cluster, pools[pool], job.spec)
            if placement is not None:
                self._last = _Choice(job.seq, self._now, ranked, i, considered)
                return placement
        return None

    def wait_for(
        self, job: JobRecord, view: SchedulerView, now: float, pool: int
    ) -> PoolWait | None:
        """The busy pool that beats `pool` (chosen by `place` just before) by the most,
        its expected start within the job's wait limit and deadline; None if none.

        Pools are tried from the lowest floor under their score (`Scorer.floors`) up, so
        the expected start (a what-if pass over a pool's running jobs, cached by the
        scheduler) is worked out only for pools that could still win."""
        last = self._last
        scorer = self._scorer
        if (
            not self.waits
            or scorer is None
            or last is None
            or last.seq != job.seq
            or last.now != now
            or last.ranked[last.chosen][1] != pool
        ):
            return None
        weights = self.weights
        latest = (now if job.wait_since is None else job.wait_since) + weights.max_wait_s
        if latest <= now:
            return None  # waited as long as the profile allows
        spec = job.spec
        deadline = math.inf if spec.deadline_s is None else spec.submit_time + spec.deadline_s
        here = last.ranked[last.chosen][0]
        free_now = {p for _, p in last.ranked[last.chosen :]}
        busy = [o.pool for o in last.options if o.pool not in free_now]
        floors = scorer.floors(job, busy, now, latest, weights, below=here)
        per_pool = scorer.basics(job, now).per_pool
        best: PoolWait | None = None
        for floor, p in floors:
            if best is not None and floor >= best.score:
                break
            res = view.expected_start(job, p, now)
            if res is None or res.start > latest:
                continue
            staging, runtime, _ = per_pool[p]
            last_start = deadline - staging - runtime
            if res.start > last_start or last_start <= now:
                continue  # it would miss its deadline there
            score = scorer.score(job, p, res.start, now, weights, full=False).score
            if score < here and (best is None or score < best.score):
                best = PoolWait(res, score, min(latest, last_start))
        return best

    def explain(self, job: JobRecord, pool: int, now: float) -> ScoreBreakdown | None:
        if self._scorer is None:
            return None
        last = self._last
        ranked = (
            last.ranked if last is not None and last.seq == job.seq and last.now == now else None
        )
        waited = job.waited_for
        return self._scorer.explain(
            job,
            pool,
            now,
            self.weights,
            self.name,
            ranked=ranked,
            wait_s=job.deferred_s + job.site_wait_s,
            waited_for=None if waited is None else self._scorer.cluster.pools[waited].key,
        )


class TimeShifter:
    """Holds a deferrable job when a later whole hour at one of its pools scores better
    than starting now where it fits — within its deadline and the profile's limit — and
    better than starting at that pool now: the gain must come from the hour (greener or
    cheaper power), not merely from a faster pool that is busy now. Capacity later is not
    known: a held job that finds its pool busy starts where it fits then. Each job is
    weighed once, the first time it could start."""

    def __init__(self, name: str, weights: Weights) -> None:
        self.name = name
        self.weights = weights

    def hold_until(
        self, job: JobRecord, view: SchedulerView, now: float, pool: int
    ) -> float | None:
        scorer = view.scorer
        if not scorer.energy.has_data:
            return None  # no energy data: no hour is better than another
        here_now = scorer.score(job, pool, now, now, self.weights, full=False).score
        later = scorer.best_later(job, now, self.weights)
        if later is None or later[0] >= here_now:
            return None
        return later[1]
