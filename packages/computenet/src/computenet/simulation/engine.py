"""The simulator: a discrete-event loop with a virtual clock driving the scheduling core
through a simulated backend (a job "runs" for its run time on the accelerator it got).

Events at one instant are handled together, completions first, then arrivals, then one
scheduling pass — so capacity freed at time t is handed out at time t. The queue orders
events by (time, kind, sequence number): runs are deterministic.
"""

import heapq
import time
from collections.abc import Callable, Iterable, Sequence

from computenet.domain.hardware import Catalog
from computenet.domain.jobs import JobSpec, JobState
from computenet.domain.network import Network
from computenet.domain.tenants import Tenant
from computenet.scheduling.cycle import Scheduler
from computenet.scheduling.framework import Policy
from computenet.scheduling.records import JobRecord
from computenet.simulation.metrics import Collector, sample_interval
from computenet.simulation.results import PolicyResult

_FINISH, _WAKEUP = 0, 1

Progress = Callable[[int, int], None]  # (jobs finished so far, jobs total)


class Simulation:
    def __init__(
        self,
        network: Network,
        catalog: Catalog,
        policy: Policy,
        jobs: Sequence[JobSpec],
        *,
        tenants: Iterable[Tenant] = (),
        sample_points: int = 2000,
    ) -> None:
        self.tenants = tuple(tenants)
        self.scheduler = Scheduler(network, catalog, policy, self.tenants)
        self.policy = policy
        self.jobs = sorted(jobs, key=lambda j: (j.submit_time, j.id))
        span = (self.jobs[-1].submit_time - self.jobs[0].submit_time) if self.jobs else 0.0
        weights = {t.name: t.weight for t in self.tenants}
        for spec in self.jobs:
            weights.setdefault(spec.tenant, 1.0)
        first = self.jobs[0].submit_time if self.jobs else 0.0
        self.collector = Collector(
            self.scheduler.cluster, weights, sample_interval(span * 1.5, sample_points), first
        )
        self.now = first
        self.preemptions = 0
        # the (time, kind, seq, job, run number) heap; a preempted run's finish goes stale
        self._events: list[tuple[float, int, int, JobRecord | None, int]] = []
        self._seq = 0
        self._next_wakeup: float | None = None

    def run(self, progress: Progress | None = None, every: int = 2000) -> PolicyResult:
        started_wall = time.perf_counter()
        sched = self.scheduler
        collector = self.collector
        jobs = self.jobs
        events = self._events
        n = len(jobs)
        i = 0
        finished = 0
        runs: dict[int, int] = {}  # job seq -> current run number
        run_start: dict[int, float] = {}
        while i < n or events:
            t = jobs[i].submit_time if i < n else events[0][0]
            if events and events[0][0] < t:
                t = events[0][0]
            collector.sample_until(t, sched.pending_count, sched.head, sched.tenant_alloc_milli)
            self.now = t
            woke = False
            while events and events[0][0] == t:
                _, kind, _, job, run_no = heapq.heappop(events)
                if kind == _FINISH and job is not None and runs.get(job.seq) == run_no:
                    sched.finish(job.id, t, JobState.SUCCEEDED)
                    collector.stopped(job, run_start.pop(job.seq), t)
                    finished += 1
                    if progress is not None and finished % every == 0:
                        progress(finished, n)
                elif kind == _WAKEUP:
                    self._next_wakeup = None
                    woke = True
            while i < n and jobs[i].submit_time == t:
                spec = jobs[i]
                sched.submit(spec, t)
                collector.pending_milli[spec.tenant] = (
                    collector.pending_milli.get(spec.tenant, 0) + spec.device_milli
                )
                i += 1
            result = sched.schedule(t, full=woke)
            for victim in result.preempted:
                self.preemptions += 1
                runs[victim.seq] = runs.get(victim.seq, 0) + 1
                collector.stopped(victim, run_start.pop(victim.seq), t)
                tenant = victim.spec.tenant
                collector.pending_milli[tenant] = (
                    collector.pending_milli.get(tenant, 0) + victim.spec.device_milli
                )
            for job in result.started:
                assert job.placement is not None
                run_no = runs.get(job.seq, 0) + 1
                runs[job.seq] = run_no
                run_start[job.seq] = t
                collector.pending_milli[job.spec.tenant] -= job.spec.device_milli
                self._push(t + job.runtime_left(job.placement.pool), _FINISH, job, run_no)
            if (
                result.wakeup_at is not None
                and result.wakeup_at > t
                and (self._next_wakeup is None or result.wakeup_at < self._next_wakeup)
            ):
                self._next_wakeup = result.wakeup_at
                self._push(result.wakeup_at, _WAKEUP, None, 0)
        if progress is not None:
            progress(finished, n)
        wall = time.perf_counter() - started_wall
        records = list(sched.jobs.values())
        return collector.result(self.policy.name, records, self.preemptions, wall)

    def _push(self, at: float, kind: int, job: JobRecord | None, run_no: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, kind, self._seq, job, run_no))
