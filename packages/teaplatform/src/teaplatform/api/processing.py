"""Processing API: recipes, batches and their stages, deviation alarms, batch records.

Telemetry has no route of its own: processing devices post readings to the garden ingestion
(``POST /garden/readings``, MQTT, CSV), which hands them to the running batches.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from teaplatform.api.deps import SessionDep, SettingsDep, Writer
from teaplatform.processing import service
from teaplatform.processing.batch import BatchState, TransitionError
from teaplatform.processing.recipe import Recipe, RecipeError, builtin, get_recipe
from teaplatform.processing.service import BatchCreate, BatchInputError, BatchNotFoundError

router = APIRouter(prefix="/processing", tags=["processing"])


class RecipeSummary(BaseModel):
    name: str
    tea_type: str
    name_zh: str
    name_en: str
    origin: str
    stages: list[str]
    typical_hours: float
    sources: list[str]


class BatchPublic(BaseModel):
    id: int
    code: str
    recipe: str
    tea_type: str
    state: BatchState
    device: str | None
    plot_id: int | None
    picked_on: str | None
    leaf_kg: float | None
    auto_advance: bool
    stage_index: int | None
    stage_started_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    note: str
    traced_at: datetime | None  # handed to traceability (completed batches)
    trace_event: str | None  # the trace event id, or "error: …"


class AlarmPublic(BaseModel):
    id: int
    batch_id: int
    stage_index: int
    stage_key: str
    quantity: str
    direction: str  # low | high | overrun
    limit: float
    state: str  # open | acknowledged | resolved
    since: datetime
    opened_at: datetime
    last_at: datetime
    extreme: float | None
    message: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class BatchStatus(BatchPublic):
    stage: dict[str, Any] | None
    alarms: list[AlarmPublic]
    fermentation: dict[str, Any] | None


class At(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(default=None, description="when it happened [default: now]")


class Abort(At):
    reason: str = ""


class Bind(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: str


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=120)


def _now() -> datetime:
    return datetime.now(UTC)


def _when(body: At | None) -> datetime:
    if body is None or body.at is None:
        return _now()
    return body.at if body.at.tzinfo else body.at.replace(tzinfo=UTC)


@contextmanager
def _errors() -> Iterator[None]:
    """The service's errors as HTTP answers."""
    try:
        yield
    except BatchNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except BatchInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _summary(recipe: Recipe) -> RecipeSummary:
    return RecipeSummary(
        name=recipe.name,
        tea_type=recipe.tea_type,
        name_zh=recipe.name_zh,
        name_en=recipe.name_en,
        origin=recipe.origin,
        stages=[s.key for s in recipe.stages],
        typical_hours=round(recipe.typical_minutes / 60, 2),
        sources=[s.title for s in recipe.sources],
    )


@router.get("/recipes", response_model=list[RecipeSummary])
def list_recipes() -> list[RecipeSummary]:
    """The recipes of the five teas."""
    return [_summary(r) for r in builtin().values()]


@router.get("/recipes/{name}")
def show_recipe(name: str) -> dict[str, Any]:
    """A recipe in full: stages, ranges (normative or typical) and sources."""
    try:
        return get_recipe(name).model_dump(mode="json")
    except RecipeError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/batches",
    response_model=BatchPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def create_batch(body: BatchCreate, session: SessionDep) -> dict[str, Any]:
    with _errors():
        return service.batch_public(service.create_batch(session, body, _now()))


@router.get("/batches", response_model=list[BatchPublic])
def list_batches(session: SessionDep, state: BatchState | None = None) -> list[dict[str, Any]]:
    return [service.batch_public(b) for b in service.list_batches(session, state)]


@router.get("/batches/{batch_id}", response_model=BatchStatus)
def show_batch(batch_id: int, session: SessionDep) -> dict[str, Any]:
    """Where a batch stands: its stage and time in it, active alarms, fermentation estimate."""
    with _errors():
        return service.batch_status(session, batch_id, _now())


def _change(session: SessionDep, batch_id: int, action: Callable[[], object]) -> dict[str, Any]:
    with _errors():
        action()
        return service.batch_public(service.get_batch(session, batch_id))


@router.post("/batches/{batch_id}/start", response_model=BatchPublic, dependencies=[Writer])
def start_batch(batch_id: int, session: SessionDep, body: At | None = None) -> dict[str, Any]:
    return _change(session, batch_id, lambda: service.start_batch(session, batch_id, _when(body)))


@router.post("/batches/{batch_id}/advance", response_model=BatchPublic, dependencies=[Writer])
def advance_batch(
    batch_id: int, session: SessionDep, settings: SettingsDep, body: At | None = None
) -> dict[str, Any]:
    """End the current stage now (or `at`); past the last stage the batch completes and its
    record goes to traceability."""

    def advance() -> None:
        service.advance_batch(session, batch_id, _when(body))
        service.trace_completed(session, settings, _now())

    return _change(session, batch_id, advance)


@router.post("/batches/{batch_id}/abort", response_model=BatchPublic, dependencies=[Writer])
def abort_batch(batch_id: int, session: SessionDep, body: Abort | None = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    return _change(
        session, batch_id, lambda: service.abort_batch(session, batch_id, _when(body), reason)
    )


@router.put("/batches/{batch_id}/device", response_model=BatchPublic, dependencies=[Writer])
def bind_device(batch_id: int, body: Bind, session: SessionDep) -> dict[str, Any]:
    """Bind the processing device whose telemetry the batch follows."""
    return _change(session, batch_id, lambda: service.bind_device(session, batch_id, body.device))


@router.get("/batches/{batch_id}/record")
def batch_record(batch_id: int, session: SessionDep) -> dict[str, Any]:
    """The batch record (schema ``teaplatform.processing.batch-record/1``) for traceability."""
    with _errors():
        return service.batch_record(session, batch_id, _now())


@router.get("/batches/{batch_id}/alarms", response_model=list[AlarmPublic])
def batch_alarms(batch_id: int, session: SessionDep) -> list[dict[str, Any]]:
    with _errors():
        service.get_batch(session, batch_id)
        return [service.alarm_public(a) for a in service.list_alarms(session, batch_id=batch_id)]


@router.get("/alarms", response_model=list[AlarmPublic])
def list_alarms(
    session: SessionDep,
    active: Annotated[bool | None, Query(description="only active (or only resolved)")] = None,
) -> list[dict[str, Any]]:
    return [service.alarm_public(a) for a in service.list_alarms(session, active=active)]


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmPublic, dependencies=[Writer])
def acknowledge_alarm(alarm_id: int, body: Acknowledge, session: SessionDep) -> dict[str, Any]:
    with _errors():
        return service.alarm_public(service.acknowledge_alarm(session, alarm_id, body.by, _now()))


@router.post("/tick", dependencies=[Writer])
def tick(session: SessionDep, settings: SettingsDep) -> dict[str, int]:
    """Apply what the clock makes due (auto-advances, overrun alarms) and hand completed batches
    to traceability; the server's worker does this every minute on its own."""
    now = _now()
    changed = service.tick(session, now)
    return {"changed": changed, "traced": service.trace_completed(session, settings, now)}
