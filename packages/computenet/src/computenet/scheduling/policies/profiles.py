"""Policy profiles: placers that score every site where a job fits now (see
`computenet.scheduling.scoring`) and pick the best, and the time-shifter that lets a
deferrable job wait for a greener or cheaper hour.

Built-in profiles (weights of time, energy, carbon, cost; whether to time-shift):

    fast      1, 0, 0, 0        least completion time, staging included
    green     1, 0, 1, 0, shift a 10 % slower run is worth 10 % of an average-grid footprint
    cheap     1, 0, 0, 1, shift the same for the electricity bill
    balanced  1, 0.5, 1, 1, shift
    score     1, 0, 0, 0        a blank to fill inline: `score:time=1,carbon=8,shift=1`

Any profile takes overrides after a colon (`green:carbon=8,max_defer_h=12`); scenario
files and the service's settings may define more (`make_policy(name, profiles=...)`).
"""

from collections.abc import Sequence

from computenet.scheduling.cluster import ClusterState, Placement
from computenet.scheduling.framework import SchedulerView
from computenet.scheduling.placement import place_in_pool
from computenet.scheduling.policies.placers import PlacerBase
from computenet.scheduling.records import JobRecord, PoolOption
from computenet.scheduling.scoring import ScoreBreakdown, Scorer, Weights

PROFILES: dict[str, Weights] = {
    "fast": Weights(),
    "green": Weights(carbon=1.0, shift=True),
    "cheap": Weights(cost=1.0, shift=True),
    "balanced": Weights(energy=0.5, carbon=1.0, cost=1.0, shift=True),
    "score": Weights(),
}


class ProfilePlacer(PlacerBase):
    """The best-scoring pool among those where the job fits now."""

    scores = True

    def __init__(self, name: str, weights: Weights) -> None:
        self.name = name
        self.weights = weights
        self._scorer: Scorer | None = None
        self._now = 0.0
        self._last: tuple[int, float, list[tuple[float, int]]] | None = None  # for `explain`

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
        fitting = [
            o
            for o in (job.options if options is None else options)
            if pools[o.pool].free_milli >= demand and cluster.power_fits(pools[o.pool], demand)
        ]
        if not fitting:
            return None
        ranked = self._scorer.ranked(job, fitting, self._now, self.weights)
        for _, pool in ranked:
            placement = place_in_pool(cluster, pools[pool], job.spec)
            if placement is not None:
                self._last = (job.seq, self._now, ranked)
                return placement
        return None

    def explain(self, job: JobRecord, pool: int, now: float) -> ScoreBreakdown | None:
        if self._scorer is None:
            return None
        last = self._last
        ranked = last[2] if last is not None and last[0] == job.seq and last[1] == now else None
        return self._scorer.explain(
            job, pool, now, self.weights, self.name, ranked=ranked, wait_s=job.deferred_s
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
