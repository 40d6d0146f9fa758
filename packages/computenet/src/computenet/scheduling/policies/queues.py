"""Queue orders: fifo, priority, sjf, las (Tiresias-like), drf (weighted fair share)."""

import heapq
import math
from collections.abc import Iterable, Iterator, Sequence

from computenet.scheduling.framework import SchedulerView
from computenet.scheduling.records import JobRecord


class StaticOrder:
    """Orders whose key is fixed while a job waits; the queue is kept sorted by it."""

    name = "static"
    strict = True

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        raise NotImplementedError

    def iterate(
        self, pending: Iterable[JobRecord], view: SchedulerView, keep_going: bool
    ) -> Iterator[JobRecord]:
        return iter(pending)


class Fifo(StaticOrder):
    name = "fifo"

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        return (job.spec.submit_time, job.seq)


class PriorityOrder(StaticOrder):
    """Higher priority first. With aging, waiting `aging_s` seconds is worth one priority
    point, so a low-priority job is never passed over for ever: comparing
    `priority + (now - submit) / aging_s` across jobs is the same at every `now` as
    comparing `submit - priority * aging_s`, a key that never changes."""

    name = "priority"

    def __init__(self, aging_s: float | None = None) -> None:
        self.aging_s = aging_s

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        if self.aging_s is not None:
            return (job.spec.submit_time - job.spec.priority * self.aging_s, job.seq)
        return (-job.spec.priority, job.spec.submit_time, job.seq)


class ShortestJobFirst(StaticOrder):
    """Shortest estimated remaining work first (on the reference accelerator). With
    aging, a job with one device-hour more work ranks as if it had arrived `aging_s`
    later, so long jobs reach the front in the end."""

    name = "sjf"

    def __init__(self, aging_s: float | None = None) -> None:
        self.aging_s = aging_s

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        est = job.spec.estimate_reference_s
        work = math.inf if est is None else est * job.remaining * max(job.devices, 0.001)
        if self.aging_s is not None:
            return (work * self.aging_s / 3600.0 + job.spec.submit_time, job.seq)
        return (work, job.spec.submit_time, job.seq)


# Tiresias' discretised 2D-LAS: queues by attained service in device-seconds. A job is
# demoted when it crosses a threshold; within a queue the order is FIFO.
LAS_THRESHOLDS_S: tuple[float, ...] = (3_600.0, 36_000.0)


def las_level(attained: float, thresholds: Sequence[float] = LAS_THRESHOLDS_S) -> int:
    for level, limit in enumerate(thresholds):
        if attained < limit:
            return level
    return len(thresholds)


class LeastAttainedService(StaticOrder):
    name = "las"

    def __init__(self, thresholds: Sequence[float] = LAS_THRESHOLDS_S) -> None:
        self.thresholds = tuple(thresholds)

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        return (las_level(job.attained, self.thresholds), job.spec.submit_time, job.seq)


class DominantResourceFairness:
    """Weighted fair share across tenants: the tenant furthest below its share goes next.

    The dominant resource is accelerators; each tenant's share is its allocated device
    share divided by its weight, re-read after every start so one pass stays fair.
    """

    name = "drf"
    strict = False

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        return (job.spec.submit_time, job.seq)

    def iterate(
        self, pending: Iterable[JobRecord], view: SchedulerView, keep_going: bool
    ) -> Iterator[JobRecord]:
        queues: dict[str, list[JobRecord]] = {}
        for job in pending:
            queues.setdefault(job.spec.tenant, []).append(job)
        alloc = view.tenant_alloc_milli
        weights = view.tenant_weights
        order = {t: i for i, t in enumerate(sorted(queues))}

        def share(tenant: str) -> float:
            return alloc.get(tenant, 0) / weights.get(tenant, 1.0)

        heap = [(share(t), order[t], t, 0) for t in queues]
        heapq.heapify(heap)
        while heap:
            _, rank, tenant, pos = heapq.heappop(heap)
            queue = queues[tenant]
            job = queue[pos]
            yield job
            blocked = job.placement is None and bool(job.options)  # infeasible: skip it
            if pos + 1 < len(queue) and (keep_going or not blocked):
                heapq.heappush(heap, (share(tenant), rank, tenant, pos + 1))
