"""The scheduler: job bookkeeping and the scheduling pass. Deterministic, no I/O; the
caller passes the time in.

Drivers (the simulator, the service) call `submit`, `finish`, `cancel` as things happen
and `schedule(now)` after each batch of changes at one instant: a completion releases its
resources at once and the pass at that same instant hands them to the next jobs.

With `stage_data`, a job whose dataset lives at another site starts in STAGING (holding
its devices while the data moves) and the driver calls `staged(id, now)` when the data is
there; without it (the service, whose backends stage nothing yet) staging is only
estimated, in the score.
"""

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from computenet.domain.economics import Calendar
from computenet.domain.errors import DomainError
from computenet.domain.events import EventKind, JobEvent
from computenet.domain.hardware import AcceleratorModel, Catalog
from computenet.domain.jobs import MILLI, JobSpec, JobState, PendingReason
from computenet.domain.network import Network, Site
from computenet.domain.tenants import Tenant
from computenet.scheduling.backfill import Reservation, reserve
from computenet.scheduling.cluster import ClusterState, Placement, Pool
from computenet.scheduling.economics import EnergyModel
from computenet.scheduling.framework import Policy, PoolWait
from computenet.scheduling.links import LinkState
from computenet.scheduling.placement import place_in_pool
from computenet.scheduling.quota import QuotaLedger
from computenet.scheduling.records import JobRecord, PoolOption
from computenet.scheduling.scoring import Scorer, Weights


@dataclass
class CycleResult:
    """What one pass decided. Started jobs carry their placement."""

    now: float
    started: list[JobRecord] = field(default_factory=list)
    preempted: list[JobRecord] = field(default_factory=list)
    head: JobRecord | None = None  # the first job that could not start, if any
    reservation: Reservation | None = None
    wakeup_at: float | None = None  # run a pass again at this time even if nothing happens


class Scheduler:
    def __init__(
        self,
        network: Network,
        catalog: Catalog,
        policy: Policy,
        tenants: Iterable[Tenant] = (),
        *,
        record_events: bool = False,
        calendar: Calendar | None = None,
        stage_data: bool = False,
    ) -> None:
        self.network = network
        # the append-only history drivers persist (the service); the simulator skips it
        self.events: list[JobEvent] | None = [] if record_events else None
        self.catalog = catalog
        self.policy = policy
        self._cluster = ClusterState(network, catalog)
        self.energy = EnergyModel(network, calendar or Calendar())
        self.links = LinkState(network)
        self._scorer = Scorer(self._cluster, self.energy, self.links)
        self.stage_data = stage_data
        self.jobs: dict[str, JobRecord] = {}
        self._tenants = {t.name: t for t in tenants}
        managed = [t for t in self._tenants.values() if t.managed]
        self.quota = QuotaLedger(managed, self._cluster) if managed else None
        # strict queue orders hold everyone back behind a blocked job, but with quotas
        # only the blocked job's tenant
        self._strict = policy.queue.strict and self.quota is None
        self._weights: dict[str, float] = {t.name: t.weight for t in self._tenants.values()}
        self._alloc: dict[str, int] = {}
        self._pending: list[tuple[float | int, ...]] = []  # sorted queue keys (seq last)
        self._by_seq: dict[int, JobRecord] = {}
        self._running: dict[int, JobRecord] = {}
        self._pool_running: list[dict[int, JobRecord]] = [{} for _ in self._cluster.pools]
        self._options: dict[
            tuple[object, ...], tuple[tuple[tuple[int, float], ...], PendingReason]
        ] = {}
        self._seq = 0
        self.passes = 0
        self._fresh: list[JobRecord] = []  # submitted since the last pass
        # something was released, or a waiting job left, since the last pass: the jobs
        # that waited then may start now
        self._full_pass_due = True
        self._last_head: JobRecord | None = None
        self._tenant_waiting: dict[str, int] = {}
        self._reservation: Reservation | None = None  # the head's, reused while valid
        # the earliest reservation each job was given while it was the head (tests, metrics)
        self.reserved_start: dict[str, float] = {}
        self._holds: list[tuple[float, int]] = []  # (until, seq) of jobs held for an hour
        # (until, seq): jobs waiting for a busy pool, to look at again by then (entries of
        # jobs that went or wait till another time are dropped when met)
        self._wait_checks: list[tuple[float, int]] = []
        # busy pools held for the jobs that wait for them (one job per pool); a count of
        # starts and stops per pool; and the expected starts placers asked for, by (pool,
        # shape): valid while the pool's jobs and its site's power headroom stay the same
        # and the start is not past
        self._pool_waits: dict[int, Reservation] = {}
        self._pool_epoch = [0] * len(self._cluster.pools)
        self._starts: dict[tuple[int, int, int, int, int], tuple[int, int, Reservation | None]] = {}
        self._head_hold: Reservation | None = None  # this pass's head reservation
        # score breakdowns ("why here") for scoring placers, and for the service's history
        self._explain = policy.placer.scores or record_events
        self._last_now = -math.inf

    # -- views for plugins and drivers ---------------------------------------------------

    @property
    def cluster(self) -> ClusterState:
        return self._cluster

    @property
    def tenant_alloc_milli(self) -> Mapping[str, int]:
        return self._alloc

    @property
    def tenant_weights(self) -> Mapping[str, float]:
        return self._weights

    @property
    def scorer(self) -> Scorer:
        return self._scorer

    def running_in(self, pool: int) -> Sequence[JobRecord]:
        return list(self._pool_running[pool].values())

    def expected_start(self, job: JobRecord, pool: int, now: float) -> Reservation | None:
        """When `job` is expected to fit in `pool` as its running jobs end (on their
        estimates: backfill's shadow time), with the nodes it would take; None if never,
        or if the pool is held for another job (one waiting for it, or the head of the
        queue). Computed by `backfill.reserve`, cached per pool and job shape while nothing
        starts or stops in the pool and its site's power headroom stays the same. The
        result is shared: do not change it."""
        held = self._pool_waits.get(pool)
        if held is not None and held.job is not job:
            return None
        head = self._head_hold
        if head is not None and head.pool == pool and head.job is not job:
            return None
        spec = job.spec
        key = (pool, spec.accelerators, spec.accelerator_milli, spec.cpu_milli, spec.memory_mib)
        epoch = self._pool_epoch[pool]
        power = self._cluster.site_free_mw[self._cluster.pools[pool].site_index]
        cached = self._starts.get(key)
        if cached is not None and cached[0] == epoch and cached[1] == power:
            res = cached[2]
            # releases clamped to `now` change no start that is not past
            if res is None or res.start >= now:
                return res
        running = list(self._pool_running[pool].values())
        res = reserve(job, pool, self._cluster, running, now)
        self._starts[key] = (epoch, power, res)
        return res

    @property
    def running(self) -> list[JobRecord]:
        return list(self._running.values())

    @property
    def pending(self) -> list[JobRecord]:
        return [self._by_seq[int(k[-1])] for k in self._pending]

    @property
    def head(self) -> JobRecord | None:
        """The first pending job in queue order."""
        return self._by_seq[int(self._pending[0][-1])] if self._pending else None

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def pending_reason(self, job: JobRecord) -> PendingReason:
        """Why a pending job waits, as of the last pass."""
        if job.state is not JobState.PENDING:
            return PendingReason.NONE
        if job.not_before > self._last_now:
            return PendingReason.DEFERRED
        if job.waiting_for is not None:
            return PendingReason.WAITING_FOR_SITE
        if job.visited_pass == self.passes or job.reason in _STICKY_REASONS:
            return job.reason
        return PendingReason.BLOCKED_BY_HEAD

    # -- changes from the driver ---------------------------------------------------------

    def submit(self, spec: JobSpec, now: float) -> JobRecord:
        """Queue a job; a job that ended may be submitted again (a requeue)."""
        previous = self.jobs.get(spec.id)
        if previous is not None and not previous.state.terminal:
            raise DomainError(f"job {spec.id} already submitted")
        options, reason = self._pool_options(spec)
        job = JobRecord(spec, self._seq, options)
        self._seq += 1
        job.reason = reason
        job.queued_at = now
        self.jobs[spec.id] = job
        self._weights.setdefault(spec.tenant, 1.0)
        self.policy.placer.observe(spec)
        self._enqueue(job)
        self._fresh.append(job)
        self._record(now, job, EventKind.SUBMITTED, job.reason.value)
        return job

    def add_site(self, site: Site) -> None:
        """A compute center joins the network: waiting jobs may now fit there."""
        self.network = Network(
            self.network.name,
            (*self.network.sites, site),
            self.network.links,
            self.network.description,
            self.network.illustrative,
        )
        self._cluster.add_site(site, self.catalog)
        self.energy.add_sites([site])
        self.links.add_site(site)
        self._pool_running.extend({} for _ in site.pools)
        self._pool_epoch.extend(0 for _ in site.pools)
        self._starts.clear()
        self._options.clear()
        waiting = self.pending
        for job in waiting:
            self._dequeue(job)
            options, reason = self._pool_options(job.spec)
            job.set_options(options)
            if job.reason in _STATIC_REASONS or reason in _STATIC_REASONS:
                job.reason = reason
            self._enqueue(job)
        self._reservation = None
        self._full_pass_due = True

    def set_tenants(self, tenants: Iterable[Tenant]) -> None:
        """Replace the tenants (weights, quotas, cohorts, limits) while work runs: running
        jobs are charged again against the new quotas, as if the ledger had always had
        them, and the next pass looks at every waiting job. Tenants left out lose their
        quota (unmanaged); their weight falls back to the default."""
        old_reclaims = 0 if self.quota is None else self.quota.reclaims
        self._tenants = {t.name: t for t in tenants}
        managed = [t for t in self._tenants.values() if t.managed]
        self.quota = QuotaLedger(managed, self._cluster) if managed else None
        self._strict = self.policy.queue.strict and self.quota is None
        for name in self._weights:
            self._weights[name] = 1.0
        self._weights.update({t.name: t.weight for t in self._tenants.values()})
        quota = self.quota
        if quota is not None:
            quota.reclaims = old_reclaims
        for job in self._running.values():
            job.charged = None
            if quota is None or job.placement is None or not quota.manages(job.spec.tenant):
                continue
            key = quota.key(job.spec.tenant, job.placement.pool)
            if key is not None:  # else: runs on hardware its new quota no longer covers
                quota.charge(job.spec.tenant, key, job.spec.device_milli)
                job.charged = key
        self._reservation = None
        self._full_pass_due = True

    def adopt(self, spec: JobSpec, placement: Placement, started_at: float) -> JobRecord:
        """Take over a job that already runs at `placement` (a service restarting with
        work in flight): its resources are booked as if this core had started it."""
        if spec.id in self.jobs:
            raise DomainError(f"job {spec.id} already known")
        options, _ = self._pool_options(spec)
        if placement.pool not in {o.pool for o in options}:
            raise DomainError(f"job {spec.id}: pool {placement.pool} does not fit its spec")
        if placement.device_milli != spec.device_milli:
            raise DomainError(f"job {spec.id}: placement holds a different device share")
        if not self._cluster.can_allocate(placement):
            raise DomainError(f"job {spec.id}: its placement is not free")
        job = JobRecord(spec, self._seq, options)
        self._seq += 1
        self.jobs[spec.id] = job
        self._weights.setdefault(spec.tenant, 1.0)
        self.policy.placer.observe(spec)
        self._start(job, placement, started_at, CycleResult(started_at))
        return job

    def finish(self, job_id: str, now: float, state: JobState = JobState.SUCCEEDED) -> JobRecord:
        """A running job ended (succeeded or failed): release its resources now."""
        if state not in (JobState.SUCCEEDED, JobState.FAILED):
            raise DomainError(f"finish takes succeeded or failed, not {state}")
        job = self._job(job_id)
        if job.state not in _HOLDING:
            raise DomainError(f"job {job_id} is {job.state}, not running")
        if now < job.expected_end - 1e-6:
            self._reservation = None  # ended before its estimate: the head may go sooner
        self._stop(job, now)
        job.remaining = 0.0 if state is JobState.SUCCEEDED else job.remaining
        job.state = state
        job.finished_at = now
        kind = EventKind.SUCCEEDED if state is JobState.SUCCEEDED else EventKind.FAILED
        self._record(now, job, kind)
        return job

    def cancel(self, job_id: str, now: float) -> JobRecord:
        job = self._job(job_id)
        if job.state.terminal:
            return job
        if job.state in _HOLDING:
            self._reservation = None
            self._stop(job, now)
        else:
            self._unwait(job, now)
            self._dequeue(job)
            self._full_pass_due = True  # it may have been the head holding others back
        job.state = JobState.CANCELLED
        job.reason = PendingReason.NONE
        job.finished_at = now
        self._record(now, job, EventKind.CANCELLED)
        return job

    def preempt(self, job_id: str, now: float) -> JobRecord:
        """Stop a running job and requeue it; its progress is kept (checkpoint)."""
        job = self._job(job_id)
        self._evict(job, now)
        self._enqueue(job)
        return job

    def staged(self, job_id: str, now: float) -> JobRecord:
        """A staging job's data arrived: it runs from `now`."""
        job = self._job(job_id)
        if job.state is not JobState.STAGING or job.staging_route is None:
            raise DomainError(f"job {job_id} is {job.state}, not staging")
        self.links.end(job.staging_route)
        job.staging_route = None
        job.staged_s += now - job.staging_since
        job.state = JobState.RUNNING
        job.run_started_at = now
        assert job.placement is not None
        job.expected_end = now + job.estimate_left(job.placement.pool)
        self._reservation = None  # the estimate of the staging time was just replaced
        self._pool_epoch[job.placement.pool] += 1
        return job

    def _evict(self, job: JobRecord, now: float) -> None:
        if job.state not in _HOLDING or job.placement is None:
            raise DomainError(f"job {job.id} is {job.state}, not running")
        runtime = job.option(job.placement.pool).runtime_s
        ran = 0.0 if job.run_started_at is None else now - job.run_started_at
        kept = job.saved_run_s(ran)  # work since the last checkpoint is lost
        done = kept / runtime if runtime > 0 else 1.0
        job.lost_device_s += (ran - kept) * job.devices
        self._reservation = None
        self._stop(job, now)
        job.remaining = max(0.0, job.remaining - done)
        job.preemptions += 1
        job.state = JobState.PENDING
        job.reason = PendingReason.PREEMPTED
        job.queued_at = now
        self._record(now, job, EventKind.PREEMPTED, f"{job.remaining:.3f} of the work left")

    # -- the pass ------------------------------------------------------------------------

    def schedule(self, now: float, full: bool = False) -> CycleResult:
        """One scheduling pass at time `now`.

        When no capacity came back since the last pass (only arrivals), every job that
        waited then still cannot start, so only the new arrivals are considered; the
        outcome is the same as a full pass, at a cost independent of the queue length.
        """
        self.passes += 1
        self._last_now = now
        result = CycleResult(now)
        fresh, self._fresh = self._fresh, []
        full, self._full_pass_due = full or self._full_pass_due, False
        holds = self._holds
        if holds and holds[0][0] <= now:
            full = True  # held jobs are due: they may start now
            while holds and holds[0][0] <= now:
                heapq.heappop(holds)
        checks = self._wait_checks
        while checks and checks[0][0] <= now:
            until, seq = heapq.heappop(checks)
            if self._check_due(until, seq):
                # it may wait no longer: its pool is free for others, and it goes where
                # it fits when the pass comes to it
                self._unwait(self._by_seq[seq], now)
                full = True
        if not self._pending:
            return result
        policy = self.policy
        if policy.placer.scores:
            policy.placer.begin_pass(self, now)
        if full or self._last_head is None:
            # lazily: a strict queue usually stops at its head (the queue is not changed
            # during the pass: starts leave it and victims rejoin it afterwards)
            by_seq = self._by_seq
            pending = (by_seq[int(k[-1])] for k in self._pending)
            stream = policy.queue.iterate(pending, self, keep_going=policy.backfill)
            known_blocked: set[int] = set()
        else:
            stream = self._incremental_stream(fresh, self._last_head)
            known_blocked = {self._last_head.seq}
        self._pass(stream, known_blocked, now, result)
        for job in result.started:
            self._dequeue(job)
        for victim in result.preempted:
            self._enqueue(victim)
        self._last_head = result.head
        if policy.preemptor is not None and self._pending:
            result.wakeup_at = policy.preemptor.wakeup(list(self._running.values()), now)
        if holds and (result.wakeup_at is None or holds[0][0] < result.wakeup_at):
            result.wakeup_at = holds[0][0]
        while checks and not self._check_due(*checks[0]):
            heapq.heappop(checks)
        if checks and (result.wakeup_at is None or checks[0][0] < result.wakeup_at):
            result.wakeup_at = checks[0][0]
        return result

    def _incremental_stream(self, fresh: list[JobRecord], head: JobRecord) -> Iterator[JobRecord]:
        """New arrivals around the known blocked head, in queue order."""
        arrivals = sorted(
            (j for j in fresh if j.state is JobState.PENDING), key=lambda j: j.queue_key
        )
        if not self._strict:
            if head.state is JobState.PENDING:
                yield head
            # fair share: a new job may go unless an older job of its tenant waits
            older = dict(self._tenant_waiting)
            for job in arrivals:
                if job.options:
                    older[job.spec.tenant] -= 1
            for job in arrivals:
                tenant = job.spec.tenant
                if older.get(tenant, 0) == 0 or self.policy.backfill:
                    yield job
                if job.state is JobState.PENDING and job.options:
                    older[tenant] = older.get(tenant, 0) + 1
            return
        yield from (j for j in arrivals if j.queue_key < head.queue_key)
        if head.state is JobState.PENDING:
            yield head
        yield from (j for j in arrivals if j.queue_key > head.queue_key)

    def _pass(
        self, stream: Iterable[JobRecord], known_blocked: set[int], now: float, result: CycleResult
    ) -> None:
        policy = self.policy
        pass_id = self.passes
        cluster = self._cluster
        quota = self.quota
        shifter = policy.shifter
        # with quotas every tenant is its own queue (Kueue's cluster queues): a blocked job
        # holds back only its own tenant
        held_tenants: set[str] = set()
        waits = policy.placer.waits
        failed: set[tuple[object, ...]] = set()
        # shapes whose placement a reservation refused: the same shape ending later than
        # the reservation is refused too, until some start changes the cluster
        refused: dict[tuple[object, ...], int] = {}
        reservation: Reservation | None = None
        self._head_hold = None
        depth = policy.backfill_depth
        examined = 0
        for job in stream:
            if job.reason in _STATIC_REASONS:
                job.visited_pass = pass_id
                continue  # can never run here; never blocks others
            if job.not_before > now:  # held for a better hour; never blocks others
                job.visited_pass = pass_id
                job.reason = PendingReason.DEFERRED
                continue
            if (
                job.waiting_for is not None
                and self._pool_epoch[job.waiting_for] == job.wait_epoch
                and now < job.wait_until
            ):
                job.visited_pass = pass_id
                continue  # waits for a pool in which nothing started or ended since
            if held_tenants and job.spec.tenant in held_tenants:
                continue  # behind its own tenant's blocked job
            if reservation is not None:
                examined += 1
                if depth is not None and examined > depth:
                    break
                pool = refused.get(job.shape_key)
                if pool is not None and now + job.estimate_left(pool) > reservation.start:
                    job.visited_pass = pass_id
                    job.reason = PendingReason.RESERVED_FOR_HEAD
                    continue
            job.visited_pass = pass_id
            if job.waiting_for is not None:
                self._unwait(job, now)  # looked at again: it may go, or wait again
            # quota admission: the pools the tenant may use now (None: all of them)
            options: list[PoolOption] | None = None
            if quota is not None and quota.manages(job.spec.tenant):
                options = quota.admissible(job)
                if not options:
                    job.reason = PendingReason.WAITING_FOR_QUOTA
                    continue  # never blocks others (Kueue's BestEffortFIFO)
                if len(options) == len(job.options):
                    options = None
            placement = None
            # a known blocked head is not tried again; a shape that failed stays failed
            if (
                job.seq not in known_blocked
                and job.demand_milli <= cluster.free_milli
                and (options is not None or job.shape_key not in failed)
            ):
                placement = policy.placer.place(job, cluster, options)
                if placement is None and options is None:
                    failed.add(job.shape_key)
            if (
                placement is not None
                and shifter is not None
                and job.spec.deferrable
                and not job.shift_done
            ):
                job.shift_done = True  # weighed once: the first time it could start
                hold = shifter.hold_until(job, self, now, placement.pool)
                if hold is not None and hold > now:
                    self._hold(job, hold, now)
                    continue
            if placement is not None and waits:
                wait = policy.placer.wait_for(job, self, now, placement.pool)
                if wait is not None:
                    self._wait(job, wait, now)
                    continue  # never blocks others; its pool is held for it
            if placement is None and quota is not None and job.seq not in known_blocked:
                placement = self._reclaim_for(job, options, now, result)
                if placement is not None:  # owed quota comes back even past a reservation
                    failed.clear()
                    if reservation is not None:
                        reservation.consume(placement, now + job.estimate_left(placement.pool))
                    self._keep_reservation(job, placement, now)
                    self._start(job, placement, now, result)
                    continue
            if placement is not None and self._pool_waits:
                placement = self._clear_of_waits(job, placement, now, options)
                if placement is None:
                    job.reason = PendingReason.RESERVED_FOR_HEAD
                    continue
            if reservation is not None:
                if placement is None:
                    job.reason = PendingReason.WAITING_FOR_RESOURCES
                    continue
                end = now + job.estimate_left(placement.pool)
                if not reservation.admits(placement, end):
                    placement = self._place_around(
                        job, [reservation, *self._pool_waits.values()], now, options
                    )
                    if placement is None:
                        job.reason = PendingReason.RESERVED_FOR_HEAD
                        refused[job.shape_key] = reservation.pool
                        continue
                    end = now + job.estimate_left(placement.pool)
                reservation.consume(placement, end)
                self._start(job, placement, now, result)
                refused.clear()
                continue
            if (
                placement is None
                and policy.preemptor is not None
                and options is None
                and job.seq not in known_blocked
            ):
                placement = self._preempt_for(job, now, result)
                if placement is not None:
                    failed.clear()  # capacity went up
            if placement is not None:
                self._keep_reservation(job, placement, now)
                self._start(job, placement, now, result)
                continue
            if job.reason is not PendingReason.PREEMPTED:
                job.reason = PendingReason.WAITING_FOR_RESOURCES
            if result.head is None:
                result.head = job
            if policy.backfill:
                reservation = self._reservation_for(job, now, options)
                result.reservation = self._head_hold = reservation
                continue
            if policy.queue.strict:
                if quota is None:
                    break
                held_tenants.add(job.spec.tenant)

    def _place_around(
        self,
        job: JobRecord,
        reservations: Sequence[Reservation],
        now: float,
        options: Sequence[PoolOption] | None,
    ) -> Placement | None:
        """A placement that leaves reserved nodes alone (the head's, those of pools held
        for waiting jobs), if there is one."""
        hidden = self._cluster.hide(n for r in reservations for n in r.spare_whole)
        try:
            placement = self.policy.placer.place(job, self._cluster, options)
        finally:
            self._cluster.unhide(hidden)
        if placement is None:
            return None
        end = now + job.estimate_left(placement.pool)
        return placement if all(r.admits(placement, end) for r in reservations) else None

    def _clear_of_waits(
        self,
        job: JobRecord,
        placement: Placement,
        now: float,
        options: Sequence[PoolOption] | None,
    ) -> Placement | None:
        """`placement`, if it does not delay the job waiting for its pool; else one that
        delays no waiting job, if there is one."""
        held = self._pool_waits.get(placement.pool)
        if held is None or held.admits(placement, now + job.estimate_left(placement.pool)):
            return placement
        return self._place_around(job, list(self._pool_waits.values()), now, options)

    def _keep_reservation(self, job: JobRecord, placement: Placement, now: float) -> None:
        """A job starts ahead of the head: the head's last reservation stays valid only
        if this start would have been admitted as a backfill."""
        cached = self._reservation
        if cached is None or cached.job is job:
            self._reservation = None
            return
        end = now + job.estimate_left(placement.pool)
        if cached.admits(placement, end):
            cached.consume(placement, end)
        else:
            self._reservation = None

    def _reservation_for(
        self, head: JobRecord, now: float, options: Sequence[PoolOption] | None
    ) -> Reservation | None:
        cached = self._reservation
        if cached is None or cached.job is not head or cached.start < now:
            cached = self._reserve(head, now, head.options if options is None else options)
            self._reservation = cached
        if cached is not None:
            prev = self.reserved_start.get(head.id, math.inf)
            self.reserved_start[head.id] = min(prev, cached.start)
        return cached

    # -- internals -----------------------------------------------------------------------

    def _reserve(
        self, head: JobRecord, now: float, options: Sequence[PoolOption]
    ) -> Reservation | None:
        best: Reservation | None = None
        for opt in options:
            running = list(self._pool_running[opt.pool].values())
            res = reserve(head, opt.pool, self._cluster, running, now)
            if res is not None and (best is None or res.start < best.start):
                best = res
        return best

    def _preempt_for(self, job: JobRecord, now: float, result: CycleResult) -> Placement | None:
        assert self.policy.preemptor is not None
        choice = self.policy.preemptor.make_room(job, self, now)
        if choice is None:
            return None
        victims, pool_id = choice
        for victim in victims:
            self._evict(victim, now)  # requeued after the pass
            result.preempted.append(victim)
        return self.policy.placer.place(job, self._cluster) or place_in_pool(
            self._cluster, self._cluster.pools[pool_id], job.spec
        )

    def _wait(self, job: JobRecord, wait: PoolWait, now: float) -> None:
        """Hold a job for a busy pool, and the pool for the job."""
        res = wait.reservation.copy_for(job)
        self._pool_waits[res.pool] = res
        job.waiting_for = job.waited_for = res.pool
        job.wait_epoch = self._pool_epoch[res.pool]
        job.wait_mark = now
        if job.wait_since is None:
            job.wait_since = now
        job.reason = PendingReason.WAITING_FOR_SITE
        if wait.until != job.wait_until:  # look again when it may wait no longer
            job.wait_until = wait.until
            heapq.heappush(self._wait_checks, (wait.until, job.seq))

    def _check_due(self, until: float, seq: int) -> bool:
        """Whether a wait check still stands: its job waits, and till then."""
        job = self._by_seq.get(seq)
        return job is not None and job.waiting_for is not None and job.wait_until == until

    def _unwait(self, job: JobRecord, now: float) -> None:
        """A job stops waiting for its pool (it starts, leaves, or is looked at again)."""
        pool = job.waiting_for
        if pool is None:
            return
        job.waiting_for = None
        job.site_wait_s += now - job.wait_mark
        held = self._pool_waits.get(pool)
        if held is not None and held.job is job:
            del self._pool_waits[pool]

    def _hold(self, job: JobRecord, until: float, now: float) -> None:
        """Hold a deferrable job until a better hour."""
        job.not_before = until
        job.deferred_s += until - now
        job.reason = PendingReason.DEFERRED
        heapq.heappush(self._holds, (until, job.seq))

    def _reclaim_for(
        self,
        job: JobRecord,
        options: Sequence[PoolOption] | None,
        now: float,
        result: CycleResult,
    ) -> Placement | None:
        """Preempt borrowers so a job within its tenant's nominal quota can start."""
        assert self.quota is not None
        if not self.quota.manages(job.spec.tenant):
            return None
        choice = self.quota.reclaim(job, job.options if options is None else options, self, now)
        if choice is None:
            return None
        victims, pool_id = choice
        for victim in victims:
            self._evict(victim, now)  # requeued after the pass
            result.preempted.append(victim)
        return place_in_pool(self._cluster, self._cluster.pools[pool_id], job.spec)

    def _start(self, job: JobRecord, placement: Placement, now: float, result: CycleResult) -> None:
        pool = self._cluster.pools[placement.pool]
        spec = job.spec
        if job.waiting_for is not None:
            self._unwait(job, now)
        if self._explain:
            job.why = self.policy.placer.explain(job, placement.pool, now) or self._scorer.explain(
                job, placement.pool, now, Weights(), self.policy.placer.name
            )
        self._cluster.allocate(placement)
        job.placement = placement
        job.placed_at = now
        job.reason = PendingReason.NONE
        job.waited_s += max(0.0, now - job.queued_at)
        if job.first_started_at is None:
            job.first_started_at = now
        route = None
        if self.stage_data and spec.dataset_site and spec.dataset_gb > 0:
            route = self.links.route(spec.dataset_site, pool.site)
        if route is not None and route.links:
            staging = self.links.staging_s(route, spec.dataset_gb)
            self.links.begin(route)
            job.state = JobState.STAGING
            job.staging_route = route
            job.staging_since = now
            job.run_started_at = None
            job.expected_end = now + staging + job.estimate_left(placement.pool)
        else:
            job.state = JobState.RUNNING
            job.run_started_at = now
            job.expected_end = now + job.estimate_left(placement.pool)
        job.wait_since = None  # a requeued job may wait again
        job.wait_until = math.inf
        held = self._pool_waits.get(placement.pool)
        if held is not None:
            held.consume(placement, job.expected_end)
        self._pool_epoch[pool.id] += 1
        self._running[job.seq] = job
        self._pool_running[placement.pool][job.seq] = job
        tenant = spec.tenant
        self._alloc[tenant] = self._alloc.get(tenant, 0) + spec.device_milli
        if self.quota is not None and self.quota.manages(tenant):
            key = self.quota.key(tenant, placement.pool)
            assert key is not None, "admitted without a quota entry"
            self.quota.charge(tenant, key, spec.device_milli)
            job.charged = key
        result.started.append(job)
        if self.events is not None:
            nodes = ",".join(str(n) for n in placement.nodes)
            why = f"; {job.why.summary()}" if job.why is not None else ""
            self._record(
                now, job, EventKind.STARTED, f"{pool.key} ({pool.model.name}) nodes {nodes}{why}"
            )

    def _record(self, now: float, job: JobRecord, kind: EventKind, detail: str = "") -> None:
        if self.events is not None:
            self.events.append(JobEvent(now, job.id, kind, detail))

    def _stop(self, job: JobRecord, now: float) -> None:
        """Release a running job's resources (the unreserve of `_start`)."""
        assert job.placement is not None
        self._full_pass_due = True
        self._pool_epoch[job.placement.pool] += 1
        self._cluster.release(job.placement)
        del self._running[job.seq]
        del self._pool_running[job.placement.pool][job.seq]
        self._alloc[job.spec.tenant] -= job.spec.device_milli
        if job.charged is not None:
            assert self.quota is not None
            self.quota.charge(job.spec.tenant, job.charged, -job.spec.device_milli)
            job.charged = None
        if job.staging_route is not None:
            self.links.end(job.staging_route)
            job.staging_route = None
            job.staged_s += now - job.staging_since
        job.attained = job.attained_at(now)
        job.run_started_at = None
        job.expected_end = math.inf
        job.placement = None

    def _enqueue(self, job: JobRecord) -> None:
        job.queue_key = (*self.policy.queue.key(job), job.seq)
        self._by_seq[job.seq] = job
        insort(self._pending, job.queue_key)
        if job.options:  # jobs that can never run hold nobody back
            tenant = job.spec.tenant
            self._tenant_waiting[tenant] = self._tenant_waiting.get(tenant, 0) + 1

    def _dequeue(self, job: JobRecord) -> None:
        i = bisect_left(self._pending, job.queue_key)
        if i < len(self._pending) and self._pending[i] == job.queue_key:
            del self._pending[i]
            if job.options:
                self._tenant_waiting[job.spec.tenant] -= 1

    def _job(self, job_id: str) -> JobRecord:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise DomainError(f"unknown job {job_id!r}") from None

    def _pool_options(self, spec: JobSpec) -> tuple[tuple[PoolOption, ...], PendingReason]:
        """The filter: pools whose accelerator the job accepts, whose precision it can use
        and that are large enough, fastest first, with the job's run time there."""
        key = (
            spec.accelerator_types,
            spec.precision,
            spec.work.reference_accelerator,
            spec.accelerators,
            spec.accelerator_milli,
            spec.cpu_milli,
            spec.memory_mib,
            spec.dataset_site if spec.dataset_gb > 0 else None,
        )
        cached = self._options.get(key)
        if cached is None:
            cached = self._options[key] = self._matching_pools(spec)
        pools, reason = cached
        options = []
        for pool_id, speed in pools:
            runtime = self._runtime(spec, pool_id, speed)
            if spec.estimated_s is None:
                estimate = runtime  # the declared work is the estimate
            elif spec.work.reference_s:
                estimate = runtime * spec.estimated_s / spec.work.reference_s
            else:
                estimate = spec.estimated_s / speed
            options.append(PoolOption(pool_id, runtime, estimate, speed))
        return tuple(options), reason

    def _runtime(self, spec: JobSpec, pool_id: int, speed: float) -> float:
        work = spec.work
        if work.reference_s is not None:
            return work.reference_s / speed
        if spec.accelerators == 0:
            return 0.0
        model = self._cluster.pools[pool_id].model
        return work.duration_on(model, spec.precision, spec.accelerators, None)

    def _matching_pools(self, spec: JobSpec) -> tuple[tuple[tuple[int, float], ...], PendingReason]:
        reference = _lookup(self.catalog, spec.work.reference_accelerator)
        accepted = {self.catalog.get(t).name for t in spec.accelerator_types if t in self.catalog}
        if spec.accelerator_types and not accepted:
            accepted = set(spec.accelerator_types)  # unknown names: match literally
        matched = False
        pools: list[tuple[int, float]] = []
        data_site = spec.dataset_site if spec.dataset_gb > 0 else None
        for pool in self._cluster.pools:
            model = pool.model
            speed = 1.0
            if data_site is not None and self.links.route(data_site, pool.site) is None:
                continue  # its data cannot get there
            if spec.accelerators > 0:
                if accepted and model.name not in accepted:
                    continue
                if pool.size == 0 or not model.supports(spec.precision):
                    continue
                ref_peak = reference.peak(spec.precision) if reference is not None else 0.0
                speed = model.peak(spec.precision) / ref_peak if ref_peak > 0 else 1.0
            matched = True
            if _could_ever_fit(self._cluster, pool, spec):
                pools.append((pool.id, speed))
        pools.sort(key=lambda p: (-p[1], p[0]))
        if pools:
            return tuple(pools), PendingReason.WAITING_FOR_RESOURCES
        if matched:
            return (), PendingReason.EXCEEDS_CAPACITY
        return (), PendingReason.NO_MATCHING_ACCELERATOR


_STATIC_REASONS = frozenset({PendingReason.EXCEEDS_CAPACITY, PendingReason.NO_MATCHING_ACCELERATOR})
# states in which a job holds its placement
_HOLDING = frozenset({JobState.RUNNING, JobState.STAGING})
# reasons that stay true until the job starts, whether or not a pass looked at it
_STICKY_REASONS = _STATIC_REASONS | {PendingReason.PREEMPTED}


def _lookup(catalog: Catalog, name: str) -> AcceleratorModel | None:
    return catalog.get(name) if name in catalog else None


def _could_ever_fit(cluster: ClusterState, pool: Pool, spec: JobSpec) -> bool:
    """Whether the job fits the pool when the pool (and its site) is empty."""
    if not pool.nodes:
        return False
    if spec.device_milli * pool.mw_per_milli > cluster.site_cap_mw[pool.site_index]:
        return False
    node = pool.nodes[0]
    if spec.accelerators == 0:
        return spec.cpu_milli <= node.cpu_cap and spec.memory_mib <= node.mem_cap
    size = pool.size
    per_node = min(spec.accelerators, size)
    nodes_needed = -(-spec.accelerators // size)
    cpu = -(-spec.cpu_milli * per_node // spec.accelerators)
    mem = -(-spec.memory_mib * per_node // spec.accelerators)
    return nodes_needed <= len(pool.nodes) and cpu <= node.cpu_cap and mem <= node.mem_cap


__all__ = ["MILLI", "CycleResult", "Scheduler"]
