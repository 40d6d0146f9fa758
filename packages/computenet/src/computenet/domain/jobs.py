"""Jobs: what a tenant asks for (the spec), their states and why they wait."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from computenet.domain.errors import DomainError
from computenet.domain.hardware import AcceleratorModel, Precision

MILLI = 1000  # one whole accelerator, in thousandths; fractional jobs ask for less


class JobKind(StrEnum):
    TRAINING = "training"
    INFERENCE = "inference"
    HPC = "hpc"


class JobState(StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    STAGING = "staging"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PREEMPTED = "preempted"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class PendingReason(StrEnum):
    """Why a job is not running, as the API and the console show it."""

    NONE = "none"
    NO_MATCHING_ACCELERATOR = "NoMatchingAccelerator"  # no pool has an accepted type/precision
    EXCEEDS_CAPACITY = "ExceedsCapacity"  # larger than any matching pool will ever be
    WAITING_FOR_RESOURCES = "WaitingForResources"  # fits in principle, not free now
    BLOCKED_BY_HEAD = "BlockedByHeadOfQueue"  # strict ordering: an earlier job waits
    RESERVED_FOR_HEAD = "WouldDelayReservation"  # backfill: would delay the head's start
    WAITING_FOR_QUOTA = "WaitingForQuota"  # the tenant's quota (and what it may borrow) is used
    PREEMPTED = "Preempted"  # was running, gave way, waits to resume
    DEFERRED = "DeferredToGreenerHour"  # deferrable: held for a greener or cheaper hour
    WAITING_FOR_SITE = "WaitingForBetterSite"  # fits elsewhere, waits for a busy better pool


@dataclass(frozen=True, slots=True)
class Work:
    """How much work a job is: a duration on a reference accelerator, or FLOPs."""

    reference_s: float | None = None
    reference_accelerator: str = "V100"
    flops: float | None = None
    efficiency: float = 0.4  # share of peak reached by real code (MFU), used with `flops`

    def __post_init__(self) -> None:
        if (self.reference_s is None) == (self.flops is None):
            raise DomainError("work: give exactly one of reference_s and flops")
        if self.reference_s is not None and self.reference_s < 0:
            raise DomainError("work: reference_s must be >= 0")
        if self.flops is not None and self.flops < 0:
            raise DomainError("work: flops must be >= 0")
        if not 0 < self.efficiency <= 1:
            raise DomainError("work: efficiency must be in (0, 1]")

    def duration_on(
        self,
        model: AcceleratorModel,
        precision: Precision,
        devices: int,
        reference: AcceleratorModel | None,
    ) -> float:
        """Seconds this work takes on `devices` of `model` at `precision`."""
        peak = model.peak(precision)
        if peak <= 0:
            raise DomainError(f"{model.name} has no {precision} throughput")
        if self.flops is not None:
            return self.flops / (max(devices, 1) * peak * 1e12 * self.efficiency)
        assert self.reference_s is not None
        if reference is None or reference.peak(precision) <= 0:
            return self.reference_s
        return self.reference_s * reference.peak(precision) / peak


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a tenant submits. Immutable; the scheduler keeps the status apart."""

    id: str
    tenant: str
    work: Work
    kind: JobKind = JobKind.TRAINING
    submit_time: float = 0.0
    accelerators: int = 1  # devices, all-or-nothing (a gang when > 1)
    accelerator_milli: int = MILLI  # share of each device; < MILLI only for one device
    accelerator_types: frozenset[str] = frozenset()  # accepted models; empty = any
    precision: Precision = Precision.FP16
    cpu_milli: int = 0  # whole job, spread over its nodes with its devices
    memory_mib: int = 0
    priority: int = 0
    preemptible: bool = False
    estimated_s: float | None = None  # estimate on the reference accelerator (SJF, backfill)
    command: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    dataset_site: str | None = None  # where the input data lives; staged elsewhere
    dataset_gb: float = 0.0
    deferrable: bool = False  # may wait for a greener or cheaper hour
    deadline_s: float | None = None  # finish within this many seconds of submission
    # a job saves its progress every this many seconds of run time; a preemption loses the
    # work since the last save. None: it saves when told to stop (nothing is lost).
    checkpoint_interval_s: float | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise DomainError("job id is empty")
        if not self.tenant:
            raise DomainError(f"job {self.id}: tenant is empty")
        if self.accelerators < 0:
            raise DomainError(f"job {self.id}: accelerators must be >= 0")
        if not 0 < self.accelerator_milli <= MILLI:
            raise DomainError(f"job {self.id}: accelerator_milli must be in 1..{MILLI}")
        if self.accelerator_milli < MILLI and self.accelerators != 1:
            raise DomainError(
                f"job {self.id}: a fractional accelerator share needs exactly one accelerator"
            )
        if self.accelerators == 0 and self.cpu_milli <= 0:
            raise DomainError(f"job {self.id}: asks for nothing (no accelerators, no CPU)")
        if self.cpu_milli < 0 or self.memory_mib < 0:
            raise DomainError(f"job {self.id}: cpu_milli and memory_mib must be >= 0")
        if self.submit_time < 0:
            raise DomainError(f"job {self.id}: submit_time must be >= 0")
        if self.estimated_s is not None and self.estimated_s < 0:
            raise DomainError(f"job {self.id}: estimated_s must be >= 0")
        if self.dataset_gb < 0:
            raise DomainError(f"job {self.id}: dataset_gb must be >= 0")
        if self.dataset_gb > 0 and not self.dataset_site:
            raise DomainError(f"job {self.id}: dataset_gb needs a dataset_site")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise DomainError(f"job {self.id}: deadline_s must be > 0")
        if self.checkpoint_interval_s is not None and self.checkpoint_interval_s <= 0:
            raise DomainError(f"job {self.id}: checkpoint_interval_s must be > 0")

    @property
    def device_milli(self) -> int:
        """Accelerator demand in thousandths of a device."""
        return self.accelerators * self.accelerator_milli

    @property
    def estimate_reference_s(self) -> float | None:
        """The estimate used for ordering and backfill: given, else the reference work."""
        if self.estimated_s is not None:
            return self.estimated_s
        return self.work.reference_s

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobSpec":
        """Build from a plain mapping (YAML job specs, scenario files)."""
        job_id = str(data.get("id", ""))
        try:
            work_data = data.get("work") or {}
            work = Work(
                reference_s=_opt_float(work_data.get("reference_s", data.get("duration_s"))),
                reference_accelerator=str(work_data.get("reference_accelerator", "V100")),
                flops=_opt_float(work_data.get("flops")),
                efficiency=float(work_data.get("efficiency", 0.4)),
            )
            types = data.get("accelerator_types") or ()
            if isinstance(types, str):
                types = [types]
            return cls(
                id=job_id,
                tenant=str(data.get("tenant", "")),
                work=work,
                kind=JobKind(data.get("kind", "training")),
                submit_time=float(data.get("submit_time", 0.0)),
                accelerators=int(data.get("accelerators", 1)),
                accelerator_milli=int(data.get("accelerator_milli", MILLI)),
                accelerator_types=frozenset(str(t) for t in types),
                precision=Precision(str(data.get("precision", "fp16")).lower()),
                cpu_milli=int(data.get("cpu_milli", 0)),
                memory_mib=int(data.get("memory_mib", 0)),
                priority=int(data.get("priority", 0)),
                preemptible=bool(data.get("preemptible", False)),
                estimated_s=_opt_float(data.get("estimated_s")),
                command=None if data.get("command") is None else str(data["command"]),
                labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
                dataset_site=None
                if data.get("dataset_site") is None
                else str(data["dataset_site"]),
                dataset_gb=float(data.get("dataset_gb", 0.0)),
                deferrable=bool(data.get("deferrable", False)),
                deadline_s=_opt_float(data.get("deadline_s")),
                checkpoint_interval_s=_opt_float(data.get("checkpoint_interval_s")),
            )
        except DomainError:
            raise
        except (TypeError, ValueError) as exc:
            raise DomainError(f"job {job_id or '?'}: {exc}") from exc


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
