"""The control loop: the scheduling core driven by the wall clock.

Each tick: take in new submissions and cancellations, collect finished runs from the
backends (their resources go back at once), run one scheduling pass, persist every
decision in one transaction, and only then launch or stop runs. Launching is idempotent
per run id, so a crash between the commit and the launch is healed on restart by
launching again; a crash before the commit loses only decisions nobody acted on.

    restore()  on start: running jobs are adopted at their stored placement and their
               runs relaunched (a no-op for runs that exist); pending jobs rejoin the queue
    tick()     one round, as above

Tenants (weights, Kueue-style quotas) come from the store: the loop is built with them,
and the API calls `tenants_changed()` after committing a change, so the next tick reloads.
"""

import queue
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from computenet.backends.base import ExecutionBackend, LaunchRequest, RunState, RunStatus
from computenet.domain.hardware import Catalog
from computenet.domain.jobs import JobState, PendingReason
from computenet.domain.network import Network
from computenet.domain.tenants import Tenant
from computenet.scheduling.cycle import Scheduler
from computenet.scheduling.framework import Policy
from computenet.scheduling.records import JobRecord
from computenet.service.codec import placement_from_dict, placement_to_dict
from computenet.store.repository import JobRecord as StoredJob
from computenet.store.uow import UnitOfWork

CANCEL_REQUESTED = "cancel requested"
REASONS_EVERY_S = 1.0

_FINAL = {
    RunState.SUCCEEDED: JobState.SUCCEEDED,
    RunState.FAILED: JobState.FAILED,
    RunState.TIMED_OUT: JobState.FAILED,
    RunState.LOST: JobState.FAILED,
    RunState.CANCELLED: JobState.CANCELLED,
}


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)


@dataclass
class _Run:
    site: str
    run_id: str


class ControlLoop:
    def __init__(
        self,
        engine: Engine,
        network: Network,
        catalog: Catalog,
        policy: Policy,
        backends: Mapping[str, ExecutionBackend],
        *,
        tenants: Iterable[Tenant] = (),
        clock: Callable[[], float] = time.time,
        backend_for: Callable[[str], ExecutionBackend] | None = None,
    ) -> None:
        missing = [s.name for s in network.sites if s.name not in backends]
        if missing:
            raise ValueError(f"no backend for site(s): {', '.join(missing)}")
        self.engine = engine
        self.backends = dict(backends)
        self.backend_for = backend_for  # makes the backend of a site registered later
        self.clock = clock
        self.scheduler = Scheduler(network, catalog, policy, tenants, record_events=True)
        self._inbox: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._runs: dict[str, _Run] = {}  # job id -> its current run
        self._stored: dict[str, StoredJob] = {}  # what the store says of jobs in the core
        self._cancel_running: set[str] = set()
        self._attempts: dict[str, int] = {}  # runs started per job (the store's copy lags)
        self._reasons: dict[str, PendingReason] = {}
        self._reasons_at = 0.0

    # -- from the API (any thread) -------------------------------------------------------

    def submitted(self, job_id: str) -> None:
        self._inbox.put(("submit", job_id))

    def cancel_requested(self, job_id: str) -> None:
        self._inbox.put(("cancel", job_id))

    def live_reason(self, job_id: str) -> PendingReason | None:
        """Why a job waits, as of the last pass (fresher than the store's copy)."""
        job = self.scheduler.jobs.get(job_id)
        if job is None or job.state is not JobState.PENDING:
            return None
        return self.scheduler.pending_reason(job)

    def site_registered(self, name: str) -> None:
        self._inbox.put(("site", name))

    def tenants_changed(self) -> None:
        """A tenant was added or changed in the store: the next tick reloads them all."""
        self._inbox.put(("tenants", ""))

    # -- the loop (one thread) -----------------------------------------------------------

    def restore(self) -> None:
        now = self.clock()
        with UnitOfWork(self.engine, read_only=True) as uow:
            active = uow.jobs.active()
        for stored in active:
            if stored.state in (JobState.RUNNING, JobState.STAGING) and stored.placement:
                placement = placement_from_dict(stored.placement, self.scheduler.cluster)
                self.scheduler.adopt(stored.spec, placement, stored.started_at or now)
                assert stored.run_id is not None
                self._runs[stored.id] = _Run(stored.placement["site"], stored.run_id)
                self._stored[stored.id] = stored
                self._launch(stored, placement_dict=stored.placement, run_id=stored.run_id)
                if stored.message == CANCEL_REQUESTED:
                    self._cancel_running.add(stored.id)
            else:
                self._stored[stored.id] = stored
                self.scheduler.submit(stored.spec, stored.submitted_at)
        if self.scheduler.events is not None:
            self.scheduler.events.clear()  # replayed bookkeeping, not new history

    def tick(self) -> TickReport:
        now = self.clock()
        report = TickReport()
        sched = self.scheduler
        self._take_inbox(now)
        finished = self._collect(now)
        result = sched.schedule(now)
        launches: list[tuple[JobRecord, str, dict[str, object]]] = []
        stops: list[_Run] = []
        with UnitOfWork(self.engine) as uow:
            for job_id, status, state in finished:
                uow.jobs.update(
                    job_id,
                    state=state,
                    exit_code=status.exit_code,
                    finished_at=status.finished_at or now,
                    message=status.message,
                    pending_reason=PendingReason.NONE,
                    now=now,
                )
                report.finished.append(job_id)
            for victim in result.preempted:
                stops.append(self._runs.pop(victim.id))
                uow.jobs.update(
                    victim.id,
                    state=JobState.PENDING,
                    pending_reason=PendingReason.PREEMPTED,
                    placement=None,
                    run_id=None,
                    now=now,
                )
                report.preempted.append(victim.id)
            for job in result.started:
                assert job.placement is not None
                attempt = self._attempts.get(job.id, self._stored[job.id].attempt) + 1
                self._attempts[job.id] = attempt
                run_id = f"{job.id}.{attempt}"  # a new run id for every start
                placement = placement_to_dict(job.placement, sched.cluster)
                if job.why is not None:  # the score breakdown: why here
                    placement["why"] = job.why.to_dict()
                uow.jobs.update(
                    job.id,
                    state=JobState.RUNNING,
                    pending_reason=PendingReason.NONE,
                    placement=placement,
                    run_id=run_id,
                    started_at=now,
                    attempt=attempt,
                    now=now,
                )
                launches.append((job, run_id, placement))
            # why-pending is refreshed once a second, not every tick: it walks the queue
            if now - self._reasons_at >= REASONS_EVERY_S:
                self._reasons_at = now
                uow.jobs.set_pending_reasons(self._changed_reasons(), now=now)
            if sched.events:
                uow.events.append_many(sched.events)
                sched.events.clear()
        # committed: now act on the backends (idempotent per run id)
        for run in stops:
            self.backends[run.site].cancel(run.run_id)
        for job, run_id, placement in launches:
            stored = self._stored[job.id]
            self._runs[job.id] = _Run(str(placement["site"]), run_id)
            self._launch(stored, placement_dict=placement, run_id=run_id)
            report.started.append(job.id)
        for job_id in list(self._cancel_running):
            current = self._runs.get(job_id)
            if current is not None:  # the run's end is collected like any other
                self.backends[current.site].cancel(current.run_id)
            self._cancel_running.discard(job_id)
        return report

    # -- internals -----------------------------------------------------------------------

    def _take_inbox(self, now: float) -> None:
        taken: dict[str, list[str]] = {"submit": [], "cancel": [], "site": [], "tenants": []}
        while True:
            try:
                kind, name = self._inbox.get_nowait()
            except queue.Empty:
                break
            taken[kind].append(name)
        for site_name in taken["site"]:
            self._join(site_name)
        if taken["tenants"]:
            # the API commits a tenant change, then notifies: one reload per tick, before
            # this tick's submissions, gives the pass the quotas the store has now
            with UnitOfWork(self.engine, read_only=True) as uow:
                self.scheduler.set_tenants(uow.tenants.list_all())
        submits, cancels = taken["submit"], taken["cancel"]
        if not submits and not cancels:
            return
        with UnitOfWork(self.engine, read_only=True) as uow:
            stored = uow.jobs.get_many([*submits, *cancels])
        for job_id in submits:
            record = stored.get(job_id)
            known = self.scheduler.jobs.get(job_id)
            if record is None or record.state.terminal or (known and not known.state.terminal):
                continue
            self._stored[job_id] = record
            self.scheduler.submit(record.spec, record.submitted_at)
        for job_id in cancels:
            job = self.scheduler.jobs.get(job_id)
            if job is None or job.state.terminal:
                continue
            if job.state is JobState.RUNNING:
                self._cancel_running.add(job_id)  # recorded when the backend reports it
            else:
                self.scheduler.cancel(job_id, now)  # the API already stored the state

    def _join(self, site_name: str) -> None:
        """A site registered through the API joins the running network."""
        if any(s.name == site_name for s in self.scheduler.network.sites):
            return
        with UnitOfWork(self.engine, read_only=True) as uow:
            site = uow.sites.get(site_name)
        if site is None or self.backend_for is None:
            return
        self.backends[site_name] = self.backend_for(site_name)
        self.scheduler.add_site(site)

    def _collect(self, now: float) -> list[tuple[str, RunStatus, JobState]]:
        """Finished runs: released in the core at once."""
        by_site: dict[str, list[str]] = {}
        owner: dict[str, str] = {}
        for job_id, run in self._runs.items():
            by_site.setdefault(run.site, []).append(run.run_id)
            owner[run.run_id] = job_id
        done: list[tuple[str, RunStatus, JobState]] = []
        for site, run_ids in by_site.items():
            for run_id, status in self.backends[site].status(run_ids).items():
                if status.state is RunState.RUNNING:
                    continue
                job_id = owner[run_id]
                state = _FINAL[status.state]
                del self._runs[job_id]
                if state is JobState.CANCELLED:
                    self.scheduler.cancel(job_id, now)
                else:
                    self.scheduler.finish(job_id, now, state)
                done.append((job_id, status, state))
        return done

    def _changed_reasons(self) -> dict[str, PendingReason]:
        changed: dict[str, PendingReason] = {}
        for job in self.scheduler.pending:
            reason = self.scheduler.pending_reason(job)
            if self._reasons.get(job.id) is not reason:
                changed[job.id] = reason
                self._reasons[job.id] = reason
        return changed

    def _launch(
        self, stored: StoredJob, *, placement_dict: Mapping[str, object], run_id: str
    ) -> RunStatus:
        data = stored.spec_data
        slots = placement_dict.get("slots") or []
        assert isinstance(slots, list)
        request = LaunchRequest(
            run_id=run_id,
            job_id=stored.id,
            command=stored.spec.command or "true",
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            devices=tuple((int(s["node"]), tuple(int(d) for d in s["devices"])) for s in slots),
            time_limit_s=data.get("time_limit_s"),
            workdir=data.get("workdir"),
            # cluster backends ask their scheduler for this model (typed GRES, Ray resource)
            accelerator=(
                str(placement_dict["accelerator"]) if any(s["devices"] for s in slots) else None
            ),
        )
        return self.backends[str(placement_dict["site"])].launch(request)
