"""Garden API: gardens, plots, devices, readings in (JSON batches, CSV) and out, ingest counts."""

import codecs
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Body, File, Form, HTTPException, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict

from teaplatform.api.deps import SessionDep, Writer
from teaplatform.garden import catalog, repository
from teaplatform.garden.catalog import (
    ConflictError,
    DeviceCreate,
    DeviceKind,
    GardenCreate,
    NotFoundError,
    PlotCreate,
    TeaType,
)
from teaplatform.garden.csvimport import CsvLayoutError, parse_csv
from teaplatform.garden.ingest import IngestResult, ingest
from teaplatform.garden.payload import parse_records
from teaplatform.garden.readings import QUANTITIES

router = APIRouter(prefix="/garden", tags=["garden"])

MAX_BATCH = 50_000
MAX_CSV_BYTES = 64 << 20
MAX_REJECTS_SHOWN = 100


class GardenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    region: str
    latitude: float | None
    longitude: float | None
    timezone: str
    note: str


class PlotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    garden_id: int
    name: str
    latitude: float | None
    longitude: float | None
    area_ha: float | None
    cultivar: str
    tea_type: TeaType
    note: str


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    kind: DeviceKind
    plot_id: int | None
    line: str | None
    sensors: list[str]
    last_seen_at: datetime | None


class QuantityPublic(BaseModel):
    name: str
    unit: str
    low: float
    high: float
    description: str
    scope: str


class ReadingIn(BaseModel):
    """One reading as sent (documentation: the endpoint parses each reading on its own)."""

    device: str
    quantity: str
    ts: datetime | float
    value: float
    unit: str


class ReadingPublic(BaseModel):
    device: str
    quantity: str
    ts: datetime
    value: float
    unit: str


class RejectPublic(BaseModel):
    index: int
    reason: str
    detail: str
    device: str | None


class IngestPublic(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int
    reject_counts: dict[str, int]
    rejects: list[RejectPublic]  # the first 100


class IngestCountPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    outcome: str
    count: int
    last_at: datetime | None
    last_detail: str


def _not_found(exc: NotFoundError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def _conflict(exc: ConflictError) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


def _ingest_public(result: IngestResult) -> IngestPublic:
    return IngestPublic(
        received=result.received,
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=len(result.rejected),
        reject_counts=result.reject_counts(),
        rejects=[
            RejectPublic(index=i, reason=r.reason.value, detail=r.detail, device=r.device)
            for i, r in result.rejected[:MAX_REJECTS_SHOWN]
        ],
    )


@router.get("/quantities", response_model=list[QuantityPublic])
def quantities() -> list[QuantityPublic]:
    """What sensors may report: each quantity's unit and physical range."""
    return [
        QuantityPublic(
            name=q.name,
            unit=q.unit,
            low=q.low,
            high=q.high,
            description=q.description,
            scope=q.scope,
        )
        for q in QUANTITIES.values()
    ]


@router.post(
    "/gardens",
    response_model=GardenPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def create_garden(body: GardenCreate, session: SessionDep) -> Any:
    try:
        return catalog.create_garden(session, body)
    except ConflictError as exc:
        raise _conflict(exc) from exc


@router.get("/gardens", response_model=list[GardenPublic])
def list_gardens(session: SessionDep) -> Any:
    return catalog.list_gardens(session)


@router.get("/gardens/{garden_id}", response_model=GardenPublic)
def get_garden(garden_id: int, session: SessionDep) -> Any:
    try:
        return catalog.get_garden(session, garden_id)
    except NotFoundError as exc:
        raise _not_found(exc) from exc


@router.post(
    "/plots", response_model=PlotPublic, status_code=status.HTTP_201_CREATED, dependencies=[Writer]
)
def create_plot(body: PlotCreate, session: SessionDep) -> Any:
    try:
        return catalog.create_plot(session, body)
    except NotFoundError as exc:
        raise _not_found(exc) from exc
    except ConflictError as exc:
        raise _conflict(exc) from exc


@router.get("/plots", response_model=list[PlotPublic])
def list_plots(session: SessionDep, garden_id: int | None = None) -> Any:
    return catalog.list_plots(session, garden_id)


@router.get("/plots/{plot_id}", response_model=PlotPublic)
def get_plot(plot_id: int, session: SessionDep) -> Any:
    try:
        return catalog.get_plot(session, plot_id)
    except NotFoundError as exc:
        raise _not_found(exc) from exc


@router.post(
    "/devices",
    response_model=DevicePublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def create_device(body: DeviceCreate, session: SessionDep) -> Any:
    try:
        return catalog.create_device(session, body)
    except NotFoundError as exc:
        raise _not_found(exc) from exc
    except ConflictError as exc:
        raise _conflict(exc) from exc


@router.get("/devices", response_model=list[DevicePublic])
def list_devices(
    session: SessionDep, plot_id: int | None = None, kind: DeviceKind | None = None
) -> Any:
    return catalog.list_devices(session, plot_id=plot_id, kind=kind)


@router.get("/devices/{key}", response_model=DevicePublic)
def get_device(key: str, session: SessionDep) -> Any:
    try:
        return catalog.get_device(session, key)
    except NotFoundError as exc:
        raise _not_found(exc) from exc


_READING_LIST = {"type": "array", "items": ReadingIn.model_json_schema()}
_BATCH_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _READING_LIST,
                        {"type": "object", "properties": {"readings": _READING_LIST}},
                    ]
                }
            }
        },
    }
}


@router.post(
    "/readings",
    response_model=IngestPublic,
    dependencies=[Writer],
    openapi_extra=_BATCH_DOC,
)
def post_readings(
    session: SessionDep, payload: Annotated[Any, Body(include_in_schema=False)]
) -> IngestPublic:
    """Store a batch: a list of readings or ``{"readings": [...]}``. Each reading is checked on
    its own: bad ones come back with a reason (and are counted), good ones are stored. A reading
    already stored (same device, quantity and ts) counts as a duplicate, not an error."""
    records = payload.get("readings") if isinstance(payload, dict) else payload
    if not isinstance(records, list):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            'expected a JSON list of readings or {"readings": [...]}',
        )
    if len(records) > MAX_BATCH:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(records)} readings: send at most {MAX_BATCH} per request",
        )
    result = ingest(session, parse_records(records), source="http", now=datetime.now(UTC))
    return _ingest_public(result)


@router.post("/readings/csv", response_model=IngestPublic, dependencies=[Writer])
def post_readings_csv(
    session: SessionDep,
    file: Annotated[
        UploadFile, File(description="CSV: device,quantity,ts,value,unit or hour,temperature_c")
    ],
    device: Annotated[str | None, Form(description="the device, when the file has none")] = None,
    tz: Annotated[str, Form(description="time zone of timestamps without an offset")] = "UTC",
) -> IngestPublic:
    """Import a CSV file of readings (see the garden docs for the two layouts)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown time zone {tz!r}"
        ) from exc
    if file.size is not None and file.size > MAX_CSV_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"CSV larger than {MAX_CSV_BYTES} bytes"
        )
    lines = codecs.iterdecode(file.file, "utf-8-sig")
    try:
        items = list(parse_csv(lines, device=device, tz=zone))
    except (CsvLayoutError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    result = ingest(session, items, source="csv", now=datetime.now(UTC))
    return _ingest_public(result)


@router.get("/readings", response_model=list[ReadingPublic])
def get_readings(
    session: SessionDep,
    quantity: str,
    device: str | None = None,
    plot_id: int | None = None,
    start: datetime = datetime(1970, 1, 1, tzinfo=UTC),
    end: datetime = datetime(9999, 1, 1, tzinfo=UTC),
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> list[ReadingPublic]:
    """Readings of one quantity with ``start <= ts < end`` (ISO 8601 with an offset), in time
    order, of one device and/or the devices of a plot."""
    if quantity not in QUANTITIES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}",
        )
    if device is None and plot_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give a device or a plot_id")
    for name, when in (("start", start), ("end", end)):
        if when.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} needs a UTC offset (e.g. Z)"
            )
    rows = repository.readings_between(
        session,
        plot_id=plot_id,
        device=device,
        quantity=quantity,
        start=start,
        end=end,
        limit=limit,
    )
    return [
        ReadingPublic(device=r.device, quantity=r.quantity, ts=r.ts, value=r.value, unit=r.unit)
        for r in rows
    ]


@router.get("/ingest/counts", response_model=list[IngestCountPublic])
def ingest_counts(session: SessionDep) -> Any:
    """Readings stored, found already stored, and rejected per reason, for each source."""
    return repository.ingest_counts(session)
