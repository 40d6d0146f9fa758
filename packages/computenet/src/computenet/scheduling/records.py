"""The scheduler's view of a job: its spec plus observed status (kept apart from the spec)."""

import math
from dataclasses import dataclass

from computenet.domain.jobs import MILLI, JobSpec, JobState, PendingReason
from computenet.scheduling.cluster import Placement


@dataclass(frozen=True, slots=True)
class PoolOption:
    """A pool a job may run in, and how long it would take there."""

    pool: int
    runtime_s: float  # the whole job's run time on this pool's accelerators
    estimate_s: float  # the run-time estimate on this pool (backfill)
    speed: float  # relative to the reference accelerator at the job's precision


class JobRecord:
    """Mutable status of one job inside the core. Never holds I/O handles."""

    __slots__ = (
        "attained",
        "demand_milli",
        "expected_end",
        "finished_at",
        "first_started_at",
        "options",
        "placement",
        "preemptions",
        "queue_key",
        "reason",
        "remaining",
        "run_started_at",
        "seq",
        "shape_key",
        "spec",
        "state",
        "visited_pass",
    )

    def __init__(self, spec: JobSpec, seq: int, options: tuple[PoolOption, ...]) -> None:
        self.spec = spec
        self.seq = seq  # arrival order; the final tie-breaker everywhere
        self.state = JobState.PENDING
        self.reason = PendingReason.WAITING_FOR_RESOURCES
        self.remaining = 1.0  # share of the work still to do (checkpointed progress)
        self.attained = 0.0  # device-seconds received so far (LAS)
        self.placement: Placement | None = None
        self.run_started_at: float | None = None
        self.first_started_at: float | None = None
        self.finished_at: float | None = None
        self.preemptions = 0
        self.queue_key: tuple[float | int, ...] = ()
        self.visited_pass = -1
        self.expected_end = math.inf  # on the estimate, while running
        self.demand_milli = spec.device_milli  # read on every pass: kept as a field
        self.shape_key: tuple[object, ...] = ()
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

    def attained_at(self, now: float) -> float:
        """Service received up to `now`, including the current run."""
        if self.run_started_at is None:
            return self.attained
        return self.attained + (now - self.run_started_at) * self.devices

    def __repr__(self) -> str:
        return f"JobRecord({self.spec.id!r}, {self.state.value})"
