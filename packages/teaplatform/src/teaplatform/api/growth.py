"""Growth API: the shipped flush model and a plot's expected picking window."""

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from teaplatform.api.deps import SessionDep
from teaplatform.garden.catalog import NotFoundError
from teaplatform.garden.growth_params import shipped
from teaplatform.garden.growth_service import WindowRequestError, plot_window

router = APIRouter(prefix="/garden", tags=["growth"])


class WindowModelPublic(BaseModel):
    base_temp_c: float
    picking_gdd: float
    picking_fraction: float
    held_out_open_mae_days: float  # on the held-out autumn cycles; untested in other seasons


class PickingWindowPublic(BaseModel):
    plot_id: int
    since: str
    as_of: str
    status: str  # growing | open | closed | beyond-horizon
    gdd_so_far: float
    gdd_needed: float
    progress: float  # share of the degree days needed that have accumulated (0 → 1)
    expected_tsdi: float
    opens: date | None
    peak: date | None
    closes: date | None
    observed_hours: int
    filled_hours: int  # past hours without readings, taken from the climatology
    source: str
    model: WindowModelPublic


@router.get("/growth/model")
def growth_model() -> dict[str, Any]:
    """The shipped flush model: parameters, held-out validation and provenance."""
    return shipped().document


@router.get("/plots/{plot_id}/picking-window", response_model=PickingWindowPublic)
def picking_window(
    plot_id: int,
    session: SessionDep,
    since: Annotated[
        datetime | date,
        Query(description="the last pick (or pruning): a date or a date-time; naive = garden time"),
    ],
    as_of: Annotated[datetime | None, Query(description="forecast time [default: now]")] = None,
) -> dict[str, Any]:
    """When the plot's shoots are expected to reach picking stage (from its air temperature)."""
    start = since if isinstance(since, datetime) else datetime.combine(since, time())
    try:
        answer = plot_window(session, plot_id, since=start, as_of=as_of or datetime.now(UTC))
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except WindowRequestError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {"plot_id": plot_id, **answer.to_dict()}
