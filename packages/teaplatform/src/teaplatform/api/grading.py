"""Grading API: a lot's grading results, stored and signed into its trace chain.

``POST /api/grading/results`` grades a made-tea sample by the rules (like
``POST /grading/made-tea``) and keeps the result; writes need the bearer token when one is set.
Results graded from leaf images are recorded with ``teaplatform grading record --images``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel

from teaplatform.api.deps import SessionDep, SettingsDep, Writer
from teaplatform.grading import service
from teaplatform.grading.results import GradingError, Source
from teaplatform.grading.service import (
    GradingConflictError,
    GradingNotFoundError,
    MadeTeaResult,
)

router = APIRouter(prefix="/api/grading", tags=["grading"])


class ResultPublic(BaseModel):
    id: int
    result_id: str
    lot: str
    tea_type: str
    grade: str
    conformant: bool
    source: Source
    method: str
    indicators: dict[str, float]
    failed_checks: list[str]
    image_count: int | None
    class_counts: dict[str, int] | None
    score: float | None
    graded_at: datetime
    recorded_at: datetime
    operator: str
    note: str
    trace_event_id: str | None  # the signed trace event
    trace_error: str | None  # why the ledger refused it (the result is kept)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except GradingNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except GradingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except GradingConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.post(
    "/results",
    response_model=ResultPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def record_result(
    body: MadeTeaResult, session: SessionDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    """Grade a lot's made-tea sample by the rules, store the result and sign it into the lot's
    trace chain (``trace_event_id``; ``trace_error`` when the ledger refused, the result is
    kept). Re-sending the same ``result_id`` and content answers 200 with the stored result."""
    with _errors():
        stored = service.record_made_tea(session, settings, body, datetime.now(UTC))
    if not stored.created:
        response.status_code = status.HTTP_200_OK
    return service.result_public(stored.row)


@router.get("/results", response_model=list[ResultPublic])
def list_results(
    session: SessionDep,
    lot: str | None = None,
    tea_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Results, newest grading first."""
    rows = service.list_results(session, lot=lot, tea_type=tea_type, limit=limit)
    return [service.result_public(r) for r in rows]


@router.get("/results/{result_id}", response_model=ResultPublic)
def show_result(result_id: str, session: SessionDep) -> dict[str, Any]:
    with _errors():
        return service.result_public(service.get_result(session, result_id))
