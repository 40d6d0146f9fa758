"""Extension points of the scheduling core, in the order a pass uses them.

    queue order  (QueueOrder.key / iterate)   which pending job is considered next
    filter       (the core: `PoolOption`s)     pools whose accelerator and precision fit
                                               and that the job's data can reach
    admit        (the core: `QuotaLedger`)     pools the tenant's quota lets it use now
    score/place  (Placer.place)                which pool and nodes, or None
    time-shift   (Shifter.hold_until)          a deferrable job may wait for a better hour
    wait         (Placer.wait_for)             a job may wait for a busy but better pool,
                                               which is then reserved for it
    reserve      (ClusterState.allocate)       commit; `release` is the matching unreserve
    preempt      (Preemptor.make_room)         free room for a blocked job (quota reclaim
                                               first, in the core)
    backfill     (Policy.backfill)             EASY: others may pass a blocked head if they
                                               never delay its reservation

A `Policy` names one plugin per point; `computenet.scheduling.policies` holds the registry.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from computenet.domain.jobs import JobSpec
from computenet.scheduling.backfill import Reservation
from computenet.scheduling.cluster import ClusterState, Placement
from computenet.scheduling.records import JobRecord, PoolOption
from computenet.scheduling.scoring import ScoreBreakdown, Scorer


class SchedulerView(Protocol):
    """What plugins may read of the scheduler (never change)."""

    @property
    def cluster(self) -> ClusterState: ...

    @property
    def tenant_alloc_milli(self) -> Mapping[str, int]: ...

    @property
    def tenant_weights(self) -> Mapping[str, float]: ...

    @property
    def scorer(self) -> Scorer: ...

    def running_in(self, pool: int) -> Sequence[JobRecord]: ...

    def expected_start(self, job: JobRecord, pool: int, now: float) -> Reservation | None:
        """When `job` is expected to fit in the busy `pool` as running jobs end (backfill's
        shadow time) and the nodes it would take; None if never, or if the pool is
        already held for another job. Do not change the result."""
        ...


class PoolWait(NamedTuple):
    """A placer's choice to hold a job for a busy pool rather than start it now."""

    reservation: Reservation  # the pool, when the job is expected to fit, its nodes
    score: float  # the job's score there, the wait counted
    until: float  # look again by then at the latest (the wait limit, the deadline)


class QueueOrder(Protocol):
    name: str
    # True: the first job that cannot start holds back the rest (classic batch queue);
    # False: a blocked job only holds back its own tenant (fair-share queues).
    strict: bool

    def key(self, job: JobRecord) -> tuple[float | int, ...]:
        """Sort key while pending; must not change until the job leaves the queue."""
        ...

    def iterate(
        self, pending: Iterable[JobRecord], view: SchedulerView, keep_going: bool
    ) -> Iterator[JobRecord]:
        """Pending jobs in the order to consider them. After each yield the job is either
        running or still pending (it could not start). `keep_going` is set when blocked
        jobs must not stop the stream (backfill)."""
        ...


class Placer(Protocol):
    name: str
    scores: bool  # explains each placement with a score breakdown as it makes it
    waits: bool  # may hold a job for a busy pool (`wait_for`)

    def observe(self, spec: JobSpec) -> None:
        """Sees every submitted job (placers that learn the workload's shape use it)."""
        ...

    def begin_pass(self, view: SchedulerView, now: float) -> None:
        """Called before each pass (placers that score read the time and the view)."""
        ...

    def place(
        self,
        job: JobRecord,
        cluster: ClusterState,
        options: Sequence[PoolOption] | None = None,
    ) -> Placement | None:
        """Where `job` would run now among `options` (default `job.options`), or None."""
        ...

    def wait_for(
        self, job: JobRecord, view: SchedulerView, now: float, pool: int
    ) -> PoolWait | None:
        """After `place` chose `pool`: a busy pool worth waiting for instead, or None to
        start now (placers that wait)."""
        ...

    def explain(self, job: JobRecord, pool: int, now: float) -> ScoreBreakdown | None:
        """Why `job` was placed in `pool` (placers that score); None otherwise."""
        ...


class Shifter(Protocol):
    name: str

    def hold_until(
        self, job: JobRecord, view: SchedulerView, now: float, pool: int
    ) -> float | None:
        """A later time at which a deferrable job that could start now in `pool` should
        start instead, or None to start now."""
        ...


class Preemptor(Protocol):
    name: str

    def make_room(
        self, job: JobRecord, view: SchedulerView, now: float
    ) -> tuple[list[JobRecord], int] | None:
        """Running jobs whose release lets `job` start, and the pool where it then fits;
        None when no allowed set of victims is enough."""
        ...

    def wakeup(self, running: Sequence[JobRecord], now: float) -> float | None:
        """When a running job next becomes preemptible (a new pass is worth it then)."""
        ...


@dataclass(frozen=True)
class Policy:
    name: str
    queue: QueueOrder
    placer: Placer
    backfill: bool = False
    preemptor: Preemptor | None = None
    # How many jobs after a blocked head one pass examines for backfill (Slurm's
    # bf_max_job_test, default 500); None examines the whole queue.
    backfill_depth: int | None = 500
    shifter: Shifter | None = None
