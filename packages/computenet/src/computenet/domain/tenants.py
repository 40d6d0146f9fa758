"""Tenants: who submits work, with a fair-share weight and optional quotas.

Quotas follow Kueue's cluster queues and cohorts. A quota entry is keyed by an accelerator
model name ("H800"), a device class ("npu") or "*" (any accelerator); a job on a pool
counts against the first of those keys the tenant has. Per key:

    quota            nominal quota: accelerators guaranteed to the tenant
    borrowing_limit  at most this many more, borrowed from the cohort's unused quota
                     (absent: no limit but what the cohort lends)
    lending_limit    at most this much of the tenant's unused quota is lent to the cohort
                     (absent: all of it)

Tenants in one `cohort` lend to and borrow from each other; a tenant with no quota entry at
all is not managed by quotas.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from computenet.domain.errors import DomainError

ANY = "*"


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    weight: float = 1.0  # share of the network under fair-share policies
    # Nominal quota: accelerators per accelerator model name, device class, or "*" for any.
    quota: Mapping[str, int] = field(default_factory=dict)
    cohort: str = "network"
    borrowing_limit: Mapping[str, int] = field(default_factory=dict)
    lending_limit: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise DomainError("tenant name is empty")
        if self.weight <= 0:
            raise DomainError(f"tenant {self.name}: weight must be > 0")
        for what, limits in (
            ("quota", self.quota),
            ("borrowing_limit", self.borrowing_limit),
            ("lending_limit", self.lending_limit),
        ):
            for k, v in limits.items():
                if v < 0:
                    raise DomainError(f"tenant {self.name}: {what} for {k} must be >= 0")
        for what, limits in (
            ("borrowing_limit", self.borrowing_limit),
            ("lending_limit", self.lending_limit),
        ):
            stray = set(limits) - set(self.quota)
            if stray:
                raise DomainError(f"tenant {self.name}: {what} for {sorted(stray)} has no quota")
        for k, v in self.lending_limit.items():
            if v > self.quota[k]:
                raise DomainError(f"tenant {self.name}: lending_limit for {k} exceeds its quota")

    @property
    def managed(self) -> bool:
        """Whether quotas apply to this tenant at all."""
        return bool(self.quota)

    def quota_key(self, model: str, device_class: str) -> str | None:
        """The quota entry a device of `model` counts against, or None (no quota for it)."""
        for key in (model, device_class, ANY):
            if key in self.quota:
                return key
        return None
