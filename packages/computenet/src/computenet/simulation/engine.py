"""The simulator: a discrete-event loop with a virtual clock driving the scheduling core
through a simulated backend (a job "runs" for its run time on the accelerator it got).

Events at one instant are handled together, completions first, then arrivals, then one
scheduling pass — so capacity freed at time t is handed out at time t. The queue orders
events by (time, kind, sequence number): runs are deterministic. A job whose data lives
elsewhere first stages it over the network's links (`Transfers`: concurrent transfers
share each link) and runs once it is there.
"""

import heapq
import time
from collections.abc import Callable, Iterable, Sequence

from computenet.domain.economics import Calendar
from computenet.domain.hardware import Catalog
from computenet.domain.jobs import JobSpec, JobState
from computenet.domain.network import Network
from computenet.domain.tenants import Tenant
from computenet.scheduling.cycle import Scheduler
from computenet.scheduling.framework import Policy
from computenet.scheduling.records import JobRecord
from computenet.simulation.accounting import EnergyAccount
from computenet.simulation.metrics import Collector, sample_interval
from computenet.simulation.results import PolicyResult
from computenet.simulation.transfers import Transfers

_FINISH, _WAKEUP, _TRANSFER, _STAGED = 0, 1, 2, 3

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
        calendar: Calendar | None = None,
    ) -> None:
        self.tenants = tuple(tenants)
        self.scheduler = Scheduler(
            network, catalog, policy, self.tenants, calendar=calendar, stage_data=True
        )
        self.transfers = Transfers(self.scheduler.links)
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
        self.collector.account = EnergyAccount(self.scheduler.cluster, self.scheduler.energy)
        self.now = first
        self.preemptions = 0
        # the (time, kind, seq, job, run number) heap; a preempted run's finish goes stale
        self._events: list[tuple[float, int, int, JobRecord | None, int]] = []
        self._seq = 0
        self._next_wakeup: float | None = None
        self._transfer_version = 0  # only the latest transfer event is live

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
        run_start: dict[int, float] = {}  # job seq -> when its current run began computing
        run_pool: dict[int, int] = {}
        staging: dict[int, JobRecord] = {}  # job seq -> job whose data is on the way
        transfers = self.transfers
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
                    collector.stopped(job, run_start.pop(job.seq), t, run_pool[job.seq])
                    finished += 1
                    if progress is not None and finished % every == 0:
                        progress(finished, n)
                elif kind == _WAKEUP:
                    self._next_wakeup = None
                    woke = True
                elif kind == _TRANSFER and run_no == self._transfer_version:
                    for seq, latency in transfers.finish_due(t):
                        self._push(t + latency, _STAGED, staging.pop(seq), runs[seq])
                    self._next_transfer()
                elif kind == _STAGED and job is not None and runs.get(job.seq) == run_no:
                    sched.staged(job.id, t)
                    run_start[job.seq] = t
                    self._push(t + job.runtime_left(run_pool[job.seq]), _FINISH, job, run_no)
            while i < n and jobs[i].submit_time == t:
                spec = jobs[i]
                sched.submit(spec, t)
                collector.pending_milli[spec.tenant] = (
                    collector.pending_milli.get(spec.tenant, 0) + spec.device_milli
                )
                i += 1
            result = sched.schedule(t, full=woke)
            moved = False
            for victim in result.preempted:
                self.preemptions += 1
                runs[victim.seq] = runs.get(victim.seq, 0) + 1
                began = run_start.pop(victim.seq, None)
                if began is None:  # stopped while staging
                    transfers.cancel(victim.seq, t)
                    staging.pop(victim.seq, None)
                    moved = True
                else:
                    collector.stopped(victim, began, t, run_pool[victim.seq])
                tenant = victim.spec.tenant
                collector.pending_milli[tenant] = (
                    collector.pending_milli.get(tenant, 0) + victim.spec.device_milli
                )
            for job in result.started:
                assert job.placement is not None
                run_no = runs.get(job.seq, 0) + 1
                runs[job.seq] = run_no
                run_pool[job.seq] = job.placement.pool
                collector.pending_milli[job.spec.tenant] -= job.spec.device_milli
                if job.state is JobState.STAGING:
                    assert job.staging_route is not None
                    transfers.start(job.seq, job.staging_route, job.spec.dataset_gb, t)
                    staging[job.seq] = job
                    moved = True
                    continue
                run_start[job.seq] = t
                self._push(t + job.runtime_left(job.placement.pool), _FINISH, job, run_no)
            if moved:
                transfers.flush(t)
                self._next_transfer()
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
        return collector.result(
            self.policy.name,
            records,
            self.preemptions,
            wall,
            moved_gb=transfers.moved_gb,
            quota_reclaims=0 if sched.quota is None else sched.quota.reclaims,
        )

    def _next_transfer(self) -> None:
        """(Re)schedule the event of the next transfer to complete; older ones go stale."""
        self._transfer_version += 1
        at = self.transfers.next_done()
        if at is not None:
            self._push(max(at, self.now), _TRANSFER, None, self._transfer_version)

    def _push(self, at: float, kind: int, job: JobRecord | None, run_no: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, kind, self._seq, job, run_no))
