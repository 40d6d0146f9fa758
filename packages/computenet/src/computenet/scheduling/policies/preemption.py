"""Preemption plugins: which running jobs give way to a blocked one.

Victims are always preemptible jobs; they keep their progress up to their last checkpoint
(`JobRecord.saved_run_s`) and go back to the queue. Victims are tried lowest-value first —
lowest priority, then least work lost — and only as many as needed.
"""

from collections.abc import Callable, Sequence

from computenet.scheduling.framework import SchedulerView
from computenet.scheduling.placement import place_in_pool
from computenet.scheduling.policies.queues import LAS_THRESHOLDS_S, las_level
from computenet.scheduling.records import JobRecord, PoolOption


def _make_room(
    job: JobRecord,
    view: SchedulerView,
    now: float,
    may_preempt: Callable[[JobRecord], bool],
    victim_order: Callable[[JobRecord], tuple[float | int, ...]],
    *,
    options: Sequence[PoolOption] | None = None,
) -> tuple[list[JobRecord], int] | None:
    """Release candidate victims one by one (unreserve) until `job` fits in some pool,
    then put them back (reserve again): the caller commits the choice."""
    cluster = view.cluster
    best: tuple[list[JobRecord], int] | None = None
    for opt in job.options if options is None else options:
        pool = cluster.pools[opt.pool]
        # a job that started at this very instant is never a victim (no flapping in a pass)
        candidates = sorted(
            (r for r in view.running_in(opt.pool) if r.placed_at != now and may_preempt(r)),
            key=victim_order,
        )
        released: list[JobRecord] = []
        try:
            for victim in candidates:
                assert victim.placement is not None
                cluster.release(victim.placement)
                released.append(victim)
                if place_in_pool(cluster, pool, job.spec) is not None:
                    if best is None or len(released) < len(best[0]):
                        best = (list(released), opt.pool)
                    break
        finally:
            for victim in reversed(released):
                assert victim.placement is not None
                cluster.allocate(victim.placement)
        if best is not None and len(best[0]) == 1:
            break
    return best


class LasPreemption:
    """Tiresias: a job in a higher-priority (less served) queue preempts jobs in lower ones."""

    name = "las-preempt"

    def __init__(self, thresholds: Sequence[float] = LAS_THRESHOLDS_S) -> None:
        self.thresholds = tuple(thresholds)

    def make_room(
        self, job: JobRecord, view: SchedulerView, now: float
    ) -> tuple[list[JobRecord], int] | None:
        level = las_level(job.attained, self.thresholds)
        return _make_room(
            job,
            view,
            now,
            lambda r: r.spec.preemptible and las_level(r.attained_at(now), self.thresholds) > level,
            lambda r: (-r.attained_at(now), -r.seq),
        )

    def wakeup(self, running: Sequence[JobRecord], now: float) -> float | None:
        soonest: float | None = None
        for r in running:
            if not r.spec.preemptible or r.devices <= 0:
                continue
            attained = r.attained_at(now)
            level = las_level(attained, self.thresholds)
            if level >= len(self.thresholds):
                continue
            at = now + (self.thresholds[level] - attained) / r.devices
            if soonest is None or at < soonest:
                soonest = at
        return soonest


class PriorityPreemption:
    """A higher-priority job preempts preemptible jobs of strictly lower priority. With
    aging, priorities are effective ones — `priority + waited / aging_s`, a running job's
    frozen at its start — so a job that waited long is not preempted by newcomers (no
    starvation)."""

    name = "priority-preempt"

    def __init__(self, aging_s: float | None = None) -> None:
        self.aging_s = aging_s

    def effective(self, job: JobRecord, now: float) -> float:
        if self.aging_s is None:
            return float(job.spec.priority)
        return job.spec.priority + job.waited_at(now) / self.aging_s

    def make_room(
        self, job: JobRecord, view: SchedulerView, now: float
    ) -> tuple[list[JobRecord], int] | None:
        prio = self.effective(job, now)
        return _make_room(
            job,
            view,
            now,
            lambda r: r.spec.preemptible and self.effective(r, now) < prio,
            lambda r: (
                r.spec.priority,
                r.lost_if_stopped(now),
                -(r.run_started_at or 0.0),
                -r.seq,
            ),
        )

    def wakeup(self, running: Sequence[JobRecord], now: float) -> float | None:
        return None
