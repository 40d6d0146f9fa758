"""Tenants: who submits work, with a fair-share weight and optional quotas."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from computenet.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    weight: float = 1.0  # share of the network under fair-share policies
    # Nominal quota: accelerators per accelerator model name (or "*" for any).
    quota: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise DomainError("tenant name is empty")
        if self.weight <= 0:
            raise DomainError(f"tenant {self.name}: weight must be > 0")
        for k, v in self.quota.items():
            if v < 0:
                raise DomainError(f"tenant {self.name}: quota for {k} must be >= 0")
