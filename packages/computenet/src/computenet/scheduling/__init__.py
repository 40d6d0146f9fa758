"""The deterministic scheduling core: no I/O, no clock (time is an argument).

Scheduler(network, catalog, make_policy("sjf+backfill"), tenants)
.submit(spec, now) / .finish(id, now) / .cancel(id, now) / .schedule(now) -> CycleResult
"""

from computenet.scheduling.cluster import ClusterState, Placement, Slot
from computenet.scheduling.cycle import CycleResult, Scheduler
from computenet.scheduling.framework import Placer, Policy, Preemptor, QueueOrder
from computenet.scheduling.policies import make_policy, plugin_names
from computenet.scheduling.records import JobRecord, PoolOption

__all__ = [
    "ClusterState",
    "CycleResult",
    "JobRecord",
    "Placement",
    "Placer",
    "Policy",
    "PoolOption",
    "Preemptor",
    "QueueOrder",
    "Scheduler",
    "Slot",
    "make_policy",
    "plugin_names",
]
