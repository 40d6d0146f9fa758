"""The policy registry: named plugins, combined with '+'.

A policy name lists plugins: at most one queue order, at most one placer, and modifiers.
Missing parts take defaults (queue `fifo`, placer `fastest`). Examples:

    fifo                  strict first-in-first-out, fastest accelerator first
    backfill              fifo + EASY backfill
    sjf+backfill          shortest estimated job first, with backfill
    las                   Tiresias-like least attained service, preempting more-served jobs
    drf+best-fit          weighted fair share, tightest packing
    fgd                   fifo with the fragmentation-aware packer (fractional GPUs)
"""

from collections.abc import Callable

from computenet.domain.errors import DomainError, UnknownNameError
from computenet.scheduling.framework import Placer, Policy, Preemptor, QueueOrder
from computenet.scheduling.policies.placers import BestFit, Fastest, FragmentationGradient
from computenet.scheduling.policies.preemption import LasPreemption, PriorityPreemption
from computenet.scheduling.policies.queues import (
    DominantResourceFairness,
    Fifo,
    LeastAttainedService,
    PriorityOrder,
    ShortestJobFirst,
)

QUEUE_ORDERS: dict[str, Callable[[], QueueOrder]] = {
    "fifo": Fifo,
    "priority": PriorityOrder,
    "sjf": ShortestJobFirst,
    "las": LeastAttainedService,
    "drf": DominantResourceFairness,
}
PLACERS: dict[str, Callable[[], Placer]] = {
    "fastest": Fastest,
    "best-fit": BestFit,
    "fgd": FragmentationGradient,
}
MODIFIERS = ("backfill", "preempt", "no-preempt")
# Queue orders that preempt by nature (a modifier can turn it off).
_PREEMPTORS: dict[str, Callable[[], Preemptor]] = {
    "las": LasPreemption,
    "priority": PriorityPreemption,
}


def plugin_names() -> list[str]:
    return [*QUEUE_ORDERS, *PLACERS, *MODIFIERS]


def make_policy(name: str) -> Policy:
    """Build a fresh policy (plugins may keep state) from a '+'-joined name."""
    parts = [p.strip().lower() for p in name.split("+") if p.strip()]
    if not parts:
        raise DomainError("policy name is empty")
    queues = [p for p in parts if p in QUEUE_ORDERS]
    placers = [p for p in parts if p in PLACERS]
    for part in parts:
        if part not in QUEUE_ORDERS and part not in PLACERS and part not in MODIFIERS:
            raise UnknownNameError("policy part", part, plugin_names())
    if len(queues) > 1 or len(placers) > 1:
        raise DomainError(f"policy {name!r}: at most one queue order and one placer")
    queue_name = queues[0] if queues else "fifo"
    preemptor: Preemptor | None = None
    if "no-preempt" not in parts:
        if queue_name in _PREEMPTORS:
            preemptor = _PREEMPTORS[queue_name]()
        elif "preempt" in parts:
            preemptor = PriorityPreemption()
    return Policy(
        name="+".join(parts),
        queue=QUEUE_ORDERS[queue_name](),
        placer=PLACERS[placers[0] if placers else "fastest"](),
        backfill="backfill" in parts,
        preemptor=preemptor,
    )


__all__ = ["MODIFIERS", "PLACERS", "QUEUE_ORDERS", "make_policy", "plugin_names"]
