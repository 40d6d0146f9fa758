"""Request and response schemas, one per direction (Create / Public).

`JobCreate` is also the job-spec file format (`computenet submit JOB.yaml`); every field
is validated with a message naming it, so bad input gets a 422 that says which field.
"""

import dataclasses
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from computenet.domain.hardware import Precision
from computenet.domain.jobs import MILLI, JobKind, JobSpec, Work
from computenet.domain.tenants import Tenant

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class WorkIn(BaseModel):
    """How much work: seconds on a reference accelerator, or FLOPs."""

    model_config = ConfigDict(extra="forbid")

    reference_s: Annotated[float | None, Field(ge=0)] = None
    reference_accelerator: str = "V100"
    flops: Annotated[float | None, Field(ge=0)] = None
    efficiency: Annotated[float, Field(gt=0, le=1)] = 0.4

    @model_validator(mode="after")
    def _one_of(self) -> "WorkIn":
        if (self.reference_s is None) == (self.flops is None):
            raise ValueError("give exactly one of reference_s and flops")
        return self


class JobCreate(BaseModel):
    """A job as a tenant submits it (and as a job-spec YAML file holds it)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str | None, Field(description="unique id; generated when absent")] = None
    kind: JobKind = JobKind.TRAINING
    command: Annotated[str, Field(min_length=1, max_length=16_384)]
    accelerators: Annotated[int, Field(ge=0, le=100_000)] = 1
    accelerator_milli: Annotated[int, Field(ge=1, le=MILLI)] = MILLI
    accelerator_types: list[str] = []
    precision: Precision = Precision.FP16
    cpu_milli: Annotated[int, Field(ge=0)] = 0
    memory_mib: Annotated[int, Field(ge=0)] = 0
    work: WorkIn
    estimated_s: Annotated[float | None, Field(ge=0)] = None
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    preemptible: bool = False
    time_limit_s: Annotated[float | None, Field(gt=0)] = None
    workdir: Annotated[
        str | None, Field(description="absolute path; default: the run's own directory")
    ] = None
    env: dict[str, str] = {}
    labels: dict[str, str] = {}
    dataset_site: Annotated[
        str | None, Field(description="site where the job's input data lives")
    ] = None
    dataset_gb: Annotated[float, Field(ge=0, description="size of that data")] = 0.0
    deferrable: Annotated[bool, Field(description="may wait for a greener or cheaper hour")] = False
    deadline_s: Annotated[
        float | None, Field(gt=0, description="finish within this many seconds")
    ] = None
    checkpoint_interval_s: Annotated[
        float | None, Field(gt=0, description="saves its progress this often")
    ] = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError(
                "letters, digits, '.', '_' and '-' only, at most 128, not starting with a symbol"
            )
        return value

    @field_validator("workdir")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if name.startswith("COMPUTENET_") or name in ("CUDA_VISIBLE_DEVICES",):
                raise ValueError(f"{name} is set by the network")
        return value

    @model_validator(mode="after")
    def _shape(self) -> "JobCreate":
        if self.accelerator_milli < MILLI and self.accelerators != 1:
            raise ValueError("a fractional accelerator_milli needs accelerators: 1")
        if self.accelerators == 0 and self.cpu_milli == 0:
            raise ValueError("a job without accelerators needs cpu_milli > 0")
        if self.dataset_gb > 0 and not self.dataset_site:
            raise ValueError("dataset_gb needs a dataset_site")
        return self

    def to_spec(self, job_id: str, tenant: str, submit_time: float) -> JobSpec:
        return JobSpec(
            id=job_id,
            tenant=tenant,
            work=Work(
                reference_s=self.work.reference_s,
                reference_accelerator=self.work.reference_accelerator,
                flops=self.work.flops,
                efficiency=self.work.efficiency,
            ),
            kind=self.kind,
            submit_time=submit_time,
            accelerators=self.accelerators,
            accelerator_milli=self.accelerator_milli,
            accelerator_types=frozenset(self.accelerator_types),
            precision=self.precision,
            cpu_milli=self.cpu_milli,
            memory_mib=self.memory_mib,
            priority=self.priority,
            preemptible=self.preemptible,
            estimated_s=self.estimated_s,
            command=self.command,
            labels=dict(self.labels),
            dataset_site=self.dataset_site,
            dataset_gb=self.dataset_gb,
            deferrable=self.deferrable,
            deadline_s=self.deadline_s,
            checkpoint_interval_s=self.checkpoint_interval_s,
        )


class EventPublic(BaseModel):
    at: float
    kind: str
    detail: str = ""


class SlotPublic(BaseModel):
    node: int
    devices: list[int]
    milli: int


class PlacementPublic(BaseModel):
    site: str
    pool: str
    accelerator: str
    slots: list[SlotPublic]
    why: dict[str, Any] | None = None  # the score breakdown: why here


class JobPublic(BaseModel):
    id: str
    tenant: str
    kind: str
    state: str
    pending_reason: str
    accelerators: int
    accelerator_milli: int
    submitted_at: float
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    attempt: int = 0
    placement: PlacementPublic | None = None
    message: str = ""
    spec: dict[str, Any] = {}
    events: list[EventPublic] | None = None


class JobPage(BaseModel):
    items: list[JobPublic]
    next_offset: int | None


#: accelerator key (model name "H800", device class "npu" or "*") -> accelerators
Counts = dict[
    Annotated[str, Field(min_length=1, max_length=64)], Annotated[int, Field(ge=0, le=10_000_000)]
]
_COHORT = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class TenantCreate(BaseModel):
    """A tenant and its Kueue-style quotas (see `computenet.domain.tenants`)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    weight: Annotated[float, Field(gt=0, le=1_000)] = 1.0
    quota: Annotated[
        Counts, Field(description="nominal quota: accelerators per model, device class or '*'")
    ] = {}
    cohort: Annotated[
        str, Field(pattern=_COHORT, description="tenants that lend to and borrow from each other")
    ] = "network"
    borrowing_limit: Annotated[
        Counts, Field(description="at most this many more than the quota, borrowed")
    ] = {}
    lending_limit: Annotated[
        Counts, Field(description="at most this much of the unused quota is lent")
    ] = {}

    def to_tenant(self) -> Tenant:
        """The domain tenant; `DomainError` when the limits do not fit the quota."""
        return Tenant(
            self.name,
            self.weight,
            quota=dict(self.quota),
            cohort=self.cohort,
            borrowing_limit=dict(self.borrowing_limit),
            lending_limit=dict(self.lending_limit),
        )


class TenantUpdate(BaseModel):
    """Changes to a tenant: each field given replaces the stored one (a mapping as a whole;
    `{}` clears it); fields left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid")
    weight: Annotated[float | None, Field(gt=0, le=1_000)] = None
    quota: Counts | None = None
    cohort: Annotated[str | None, Field(pattern=_COHORT)] = None
    borrowing_limit: Counts | None = None
    lending_limit: Counts | None = None

    def apply(self, tenant: Tenant) -> Tenant:
        """`tenant` with these changes; `DomainError` when the result is not valid."""
        return dataclasses.replace(tenant, **self.model_dump(exclude_none=True))


class TenantPublic(BaseModel):
    name: str
    weight: float
    quota: dict[str, int]
    cohort: str = "network"
    borrowing_limit: dict[str, int] = {}
    lending_limit: dict[str, int] = {}

    @classmethod
    def of(cls, tenant: Tenant) -> "TenantPublic":
        return cls(
            name=tenant.name,
            weight=tenant.weight,
            quota=dict(tenant.quota),
            cohort=tenant.cohort,
            borrowing_limit=dict(tenant.borrowing_limit),
            lending_limit=dict(tenant.lending_limit),
        )


class TenantCreated(TenantPublic):
    token: str  # shown once; stored only as a hash


class UsagePublic(BaseModel):
    tenant: str
    jobs: dict[str, int]
    device_hours: float


class SitePublic(BaseModel):
    name: str
    region: str
    accelerators: int
    pools: list[dict[str, Any]]


class ErrorPublic(BaseModel):
    detail: str


Direction = Literal["asc", "desc"]
