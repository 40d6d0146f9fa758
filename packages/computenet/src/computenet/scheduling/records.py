"""The scheduler's view of a job: its spec plus observed status (kept apart from the spec)."""

import math
from typing import TYPE_CHECKING, NamedTuple

from computenet.domain.jobs import MILLI, JobSpec, JobState, PendingReason
from computenet.scheduling.cluster import Placement

if TYPE_CHECKING:
    from computenet.scheduling.links import Route
    from computenet.scheduling.scoring import ScoreBreakdown


class PoolOption(NamedTuple):
    """A pool a job may run in, and how long it would take there. (A named tuple: every
    submission makes one per feasible pool, so construction cost counts.)"""

    pool: int
    runtime_s: float  # the whole job's run time on this pool's accelerators
    estimate_s: float  # the run-time estimate on this pool (backfill)
    speed: float  # relative to the reference accelerator at the job's precision


class JobRecord:
    """Mutable status of one job inside the core. Never holds I/O handles."""

    __slots__ = (
        "attained",
        "charged",
        "deferred_s",
        "demand_milli",
        "expected_end",
        "finished_at",
        "first_started_at",
        "lost_device_s",
        "not_before",
        "options",
        "placed_at",
        "placement",
        "preemptions",
        "queue_key",
        "queued_at",
        "reason",
        "remaining",
        "run_started_at",
        "seq",
        "shape_key",
        "shift_done",
        "site_wait_s",
        "spec",
        "staged_s",
        "staging_route",
        "staging_since",
        "state",
        "visited_pass",
        "wait_epoch",
        "wait_mark",
        "wait_since",
        "wait_until",
        "waited_for",
        "waited_s",
        "waiting_for",
        "why",
    )

    def __init__(self, spec: JobSpec, seq: int, options: tuple[PoolOption, ...]) -> None:
        self.spec = spec
        self.seq = seq  # arrival order; the final tie-breaker everywhere
        self.state = JobState.PENDING
        self.reason = PendingReason.WAITING_FOR_RESOURCES
        self.remaining = 1.0  # share of the work still to do (checkpointed progress)
        self.attained = 0.0  # device-seconds received so far (LAS)
        self.placement: Placement | None = None
        self.placed_at = -math.inf  # when the current placement began (staging or running)
        self.run_started_at: float | None = None
        self.first_started_at: float | None = None
        self.finished_at: float | None = None
        self.preemptions = 0
        self.queue_key: tuple[float | int, ...] = ()
        self.visited_pass = -1
        self.expected_end = math.inf  # on the estimate, while running
        self.demand_milli = spec.device_milli  # read on every pass: kept as a field
        self.shape_key: tuple[object, ...] = ()
        self.queued_at = spec.submit_time  # when it last joined the queue (aging)
        self.waited_s = 0.0  # time spent waiting before the current or last run
        self.not_before = -math.inf  # a deferred job waits for this time
        self.shift_done = False  # a deferrable job is weighed for time-shifting once
        self.deferred_s = 0.0  # time held for a better hour
        self.staging_route: Route | None = None  # while its data is staged
        self.staging_since = 0.0
        self.staged_s = 0.0  # time spent staging data, all runs
        self.lost_device_s = 0.0  # work thrown away by preemptions (device-seconds)
        # waiting for a busy pool that scores better (a profile's `max_wait`)
        self.waiting_for: int | None = None  # the pool held for it now
        self.waited_for: int | None = None  # the last pool it waited for ("why")
        self.wait_since: float | None = None  # its first wait since it last started
        self.wait_mark = 0.0  # when its current wait began
        self.wait_epoch = 0  # its pool's count of starts and stops then
        self.wait_until = math.inf  # the scheduler looks again by then
        self.site_wait_s = 0.0  # time spent waiting for busy pools, all runs
        self.charged: str | None = None  # the quota key its current run counts against
        self.why: ScoreBreakdown | None = None  # the score breakdown of its placement
        self.set_options(options)

    def set_options(self, options: tuple[PoolOption, ...]) -> None:
        """The feasible pools (again, when the network grows)."""
        spec = self.spec
        self.options = options
        # jobs with equal keys fail to fit together within one pass
        self.shape_key = (
            tuple(o.pool for o in options),
            spec.accelerators,
            spec.accelerator_milli,
            spec.cpu_milli,
            spec.memory_mib,
        )

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def devices(self) -> float:
        """Accelerators held, fractions included."""
        return self.spec.device_milli / MILLI

    def option(self, pool: int) -> PoolOption:
        for opt in self.options:
            if opt.pool == pool:
                return opt
        raise KeyError(pool)

    def runtime_left(self, pool: int) -> float:
        return self.remaining * self.option(pool).runtime_s

    def estimate_left(self, pool: int) -> float:
        return self.remaining * self.option(pool).estimate_s

    def saved_run_s(self, ran_s: float) -> float:
        """Of `ran_s` seconds run since the last start, the part a stop keeps: up to the
        last checkpoint, or all of it for a job that saves when told to stop."""
        interval = self.spec.checkpoint_interval_s
        if interval is None:
            return ran_s
        return math.floor(ran_s / interval) * interval

    def lost_if_stopped(self, now: float) -> float:
        """Device-seconds of work a stop at `now` would throw away (preemption cost)."""
        if self.run_started_at is None:
            return 0.0
        ran = now - self.run_started_at
        return (ran - self.saved_run_s(ran)) * self.devices

    def waited_at(self, now: float) -> float:
        """Time spent waiting so far (frozen while running)."""
        if self.state is JobState.PENDING:
            return self.waited_s + max(0.0, now - self.queued_at)
        return self.waited_s

    def attained_at(self, now: float) -> float:
        """Service received up to `now`, including the current run."""
        if self.run_started_at is None:
            return self.attained
        return self.attained + (now - self.run_started_at) * self.devices

    def __repr__(self) -> str:
        return f"JobRecord({self.spec.id!r}, {self.state.value})"
