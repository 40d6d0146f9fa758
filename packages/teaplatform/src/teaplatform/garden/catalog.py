"""Gardens, plots and devices: what they are (validated input) and how they are kept.

A device is either in a garden plot (``kind="garden"``, `plot_id` set) or on a processing line
(``kind="processing"``, `line` set): processing telemetry comes in through the same ingestion.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.garden.readings import QUANTITIES
from teaplatform.garden.tables import DeviceRow, GardenRow, PlotRow


class TeaType(StrEnum):
    """The five colours of Hunan tea."""

    GREEN = "green"  # Xiaoxiang green
    BLACK = "black"  # Hunan black (red)
    DARK = "dark"  # Anhua dark
    WHITE = "white"  # Sangzhi white
    YELLOW = "yellow"  # Yueyang yellow


class DeviceKind(StrEnum):
    GARDEN = "garden"
    PROCESSING = "processing"


class NotFoundError(LookupError):
    pass


class ConflictError(ValueError):
    pass


class GardenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    region: str = Field(default="", max_length=120)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    note: str = ""


class PlotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    garden_id: int
    name: str = Field(min_length=1, max_length=120)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    area_ha: float | None = Field(default=None, gt=0)
    cultivar: str = Field(default="", max_length=120)
    tea_type: TeaType
    note: str = ""


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(default="", max_length=120)
    kind: DeviceKind = DeviceKind.GARDEN
    plot_id: int | None = None
    line: str | None = Field(default=None, max_length=120)
    sensors: list[str] = Field(default_factory=list)  # quantities it measures; empty: any

    @field_validator("sensors")
    @classmethod
    def _known(cls, sensors: list[str]) -> list[str]:
        unknown = sorted(set(sensors) - set(QUANTITIES))
        if unknown:
            raise ValueError(f"unknown quantities {unknown}; known: {sorted(QUANTITIES)}")
        return sorted(set(sensors))

    @model_validator(mode="after")
    def _placed(self) -> "DeviceCreate":
        if self.kind is DeviceKind.GARDEN and self.plot_id is None:
            raise ValueError("a garden device needs a plot_id")
        if self.kind is DeviceKind.PROCESSING and not self.line:
            raise ValueError("a processing device needs a line (its line or workshop)")
        return self


def create_garden(session: Session, spec: GardenCreate) -> GardenRow:
    if session.scalar(select(GardenRow.id).where(GardenRow.name == spec.name)) is not None:
        raise ConflictError(f"garden {spec.name!r} exists already")
    row = GardenRow(**spec.model_dump())
    session.add(row)
    session.flush()
    return row


def create_plot(session: Session, spec: PlotCreate) -> PlotRow:
    get_garden(session, spec.garden_id)
    taken = select(PlotRow.id).where(PlotRow.garden_id == spec.garden_id, PlotRow.name == spec.name)
    if session.scalar(taken) is not None:
        raise ConflictError(f"garden {spec.garden_id} has a plot {spec.name!r} already")
    row = PlotRow(**spec.model_dump())
    session.add(row)
    session.flush()
    return row


def create_device(session: Session, spec: DeviceCreate) -> DeviceRow:
    if spec.plot_id is not None:
        get_plot(session, spec.plot_id)
    if session.scalar(select(DeviceRow.id).where(DeviceRow.key == spec.key)) is not None:
        raise ConflictError(f"device {spec.key!r} exists already")
    row = DeviceRow(**spec.model_dump())
    session.add(row)
    session.flush()
    return row


def get_garden(session: Session, garden_id: int) -> GardenRow:
    row = session.get(GardenRow, garden_id)
    if row is None:
        raise NotFoundError(f"no garden {garden_id}")
    return row


def get_plot(session: Session, plot_id: int) -> PlotRow:
    row = session.get(PlotRow, plot_id)
    if row is None:
        raise NotFoundError(f"no plot {plot_id}")
    return row


def get_device(session: Session, key: str) -> DeviceRow:
    row = session.scalar(select(DeviceRow).where(DeviceRow.key == key))
    if row is None:
        raise NotFoundError(f"no device {key!r}")
    return row


def list_gardens(session: Session) -> list[GardenRow]:
    return list(session.scalars(select(GardenRow).order_by(GardenRow.id)))


def list_plots(session: Session, garden_id: int | None = None) -> list[PlotRow]:
    query = select(PlotRow).order_by(PlotRow.id)
    if garden_id is not None:
        query = query.where(PlotRow.garden_id == garden_id)
    return list(session.scalars(query))


def list_devices(
    session: Session, *, plot_id: int | None = None, kind: DeviceKind | None = None
) -> list[DeviceRow]:
    query = select(DeviceRow).order_by(DeviceRow.key)
    if plot_id is not None:
        query = query.where(DeviceRow.plot_id == plot_id)
    if kind is not None:
        query = query.where(DeviceRow.kind == kind.value)
    return list(session.scalars(query))


def garden_by_name(session: Session, name: str) -> GardenRow | None:
    return session.scalar(select(GardenRow).where(GardenRow.name == name))
