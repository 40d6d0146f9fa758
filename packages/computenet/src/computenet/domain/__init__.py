"""Pure domain model: hardware catalog, network, tenants, jobs, states and events.

Nothing here does I/O or reads the clock; loaders for the built-in data files live in
`computenet.data`.
"""

from computenet.domain.economics import Calendar, HourlyProfile, SiteEnergy
from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import (
    AcceleratorModel,
    Catalog,
    DeviceClass,
    Precision,
)
from computenet.domain.jobs import (
    MILLI,
    JobKind,
    JobSpec,
    JobState,
    PendingReason,
    Work,
)
from computenet.domain.network import Link, Network, NodePool, NodeShape, Site
from computenet.domain.tenants import Tenant

__all__ = [
    "MILLI",
    "AcceleratorModel",
    "Calendar",
    "Catalog",
    "DeviceClass",
    "DomainError",
    "HourlyProfile",
    "JobKind",
    "JobSpec",
    "JobState",
    "Link",
    "Network",
    "NodePool",
    "NodeShape",
    "PendingReason",
    "Precision",
    "Site",
    "SiteEnergy",
    "Tenant",
    "UnknownNameError",
    "Work",
]
