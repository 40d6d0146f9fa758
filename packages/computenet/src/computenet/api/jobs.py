"""/v1/jobs: submit, list, get (placement, pending reason, history), logs, cancel."""

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import PlainTextResponse

from computenet.api.deps import PrincipalDep, RuntimeDep
from computenet.api.schemas import (
    EventPublic,
    JobCreate,
    JobPage,
    JobPublic,
    PlacementPublic,
    SlotPublic,
)
from computenet.domain.events import EventKind, JobEvent
from computenet.domain.jobs import JobState, PendingReason
from computenet.service.loop import CANCEL_REQUESTED
from computenet.service.runtime import Runtime
from computenet.store.errors import DuplicateJobError, NotFoundError
from computenet.store.repository import JobRecord, Principal
from computenet.store.uow import UnitOfWork

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def public(
    job: JobRecord, events: list[EventPublic] | None = None, runtime: Runtime | None = None
) -> JobPublic:
    placement = None
    if job.placement:
        p = job.placement
        placement = PlacementPublic(
            site=p["site"],
            pool=p["pool"],
            accelerator=p["accelerator"],
            slots=[
                SlotPublic(node=s["node"], devices=s["devices"], milli=s["milli"])
                for s in p["slots"]
            ],
            why=p.get("why"),
        )
    return JobPublic(
        id=job.id,
        tenant=job.tenant,
        kind=job.spec.kind.value,
        state=job.state.value,
        pending_reason=_reason(job, runtime),
        accelerators=job.spec.accelerators,
        accelerator_milli=job.spec.accelerator_milli,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        exit_code=job.exit_code,
        attempt=job.attempt,
        placement=placement,
        message=job.message,
        spec=job.spec_data,
        events=events,
    )


def _reason(job: JobRecord, runtime: Runtime | None) -> str:
    live = runtime.loop.live_reason(job.id) if runtime and job.state is JobState.PENDING else None
    return (live or job.pending_reason).value


def _visible(job: JobRecord | None, who: Principal) -> JobRecord:
    # a tenant never learns that another tenant's job exists
    if job is None or (not who.admin and job.tenant != who.tenant):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such job")
    return job


# The hot path runs on the event loop: its store work is one short local transaction,
# cheaper than the hand-off to a worker thread that a plain `def` endpoint costs.
@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobPublic)
async def submit(
    body: JobCreate,
    runtime: RuntimeDep,
    who: PrincipalDep,
    tenant: Annotated[
        str | None, Query(description="administrators: submit for this tenant")
    ] = None,
) -> JobPublic:
    owner = who.tenant if not who.admin else tenant
    if owner is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "administrators must name ?tenant="
        )
    job_id = body.id or f"job-{uuid.uuid4().hex[:12]}"
    now = time.time()
    spec = body.to_spec(job_id, owner, now)
    extra = {"env": body.env, "time_limit_s": body.time_limit_s, "workdir": body.workdir}
    try:
        with UnitOfWork(runtime.engine) as uow:
            stored = uow.jobs.add(spec, now, extra=extra, now=now)
    except DuplicateJobError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} exists") from None
    except NotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such tenant {owner}") from None
    runtime.loop.submitted(job_id)
    return public(stored)


@router.get("", response_model=JobPage)
def list_jobs(
    runtime: RuntimeDep,
    who: PrincipalDep,
    state: Annotated[list[JobState] | None, Query()] = None,
    tenant: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobPage:
    if not who.admin:
        tenant = who.tenant
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        page = uow.jobs.page(tenant=tenant, states=state, limit=limit, offset=offset)
    return JobPage(
        items=[public(j, runtime=runtime) for j in page.items], next_offset=page.next_offset
    )


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, runtime: RuntimeDep, who: PrincipalDep) -> JobPublic:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        job = _visible(uow.jobs.get(job_id), who)
        events = [
            EventPublic(at=e.at, kind=e.kind.value, detail=e.detail)
            for e in uow.events.for_job(job_id)
        ]
    return public(job, events, runtime)


@router.get("/{job_id}/logs", response_class=PlainTextResponse)
def logs(
    job_id: str,
    runtime: RuntimeDep,
    who: PrincipalDep,
    stream: Annotated[str, Query(pattern="^(stdout|stderr)$")] = "stdout",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PlainTextResponse:
    with UnitOfWork(runtime.engine, read_only=True) as uow:
        job = _visible(uow.jobs.get(job_id), who)
    if not job.run_id or not job.placement:
        return PlainTextResponse("", headers={"X-Next-Offset": str(offset)})
    backend = runtime.loop.backends[job.placement["site"]]
    out, err = backend.log_paths(job.run_id)
    path = out if stream == "stdout" else err
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(1 << 20)
    except FileNotFoundError:
        data = b""
    return PlainTextResponse(
        data.decode("utf-8", "replace"), headers={"X-Next-Offset": str(offset + len(data))}
    )


@router.post("/{job_id}/requeue", response_model=JobPublic)
def requeue(job_id: str, runtime: RuntimeDep, who: PrincipalDep) -> JobPublic:
    """Queue a failed or cancelled job again (a new attempt; its history is kept)."""
    now = time.time()
    with UnitOfWork(runtime.engine) as uow:
        job = _visible(uow.jobs.get(job_id), who)
        requeued = uow.jobs.update(
            job_id,
            state=JobState.PENDING,
            pending_reason=PendingReason.NONE,
            placement=None,
            run_id=None,
            exit_code=None,
            started_at=None,
            finished_at=None,
            message="",
            expect_state=(JobState.FAILED, JobState.CANCELLED),
            now=now,
        )
        if not requeued:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"job {job_id} is {job.state.value}: only failed or cancelled jobs are requeued",
            )
        uow.events.append(JobEvent(now, job_id, EventKind.REQUEUED, f"after attempt {job.attempt}"))
        job = uow.jobs.get(job_id) or job
    runtime.loop.submitted(job_id)
    return public(job)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel(job_id: str, runtime: RuntimeDep, who: PrincipalDep) -> JobPublic:
    now = time.time()
    with UnitOfWork(runtime.engine) as uow:
        job = _visible(uow.jobs.get(job_id), who)
        if job.state.terminal:
            return public(job)
        # pending: cancelled here and now; running: the intent is stored, the loop stops
        # the run and records the outcome (and finds the intent again after a restart)
        if job.state is JobState.PENDING:
            uow.jobs.update(
                job_id,
                state=JobState.CANCELLED,
                finished_at=now,
                expect_state=JobState.PENDING,
                now=now,
            )
        else:
            uow.jobs.update(job_id, message=CANCEL_REQUESTED, now=now)
        job = uow.jobs.get(job_id) or job
    runtime.loop.cancel_requested(job_id)
    return public(job)
