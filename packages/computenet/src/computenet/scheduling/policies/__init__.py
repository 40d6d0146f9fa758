"""The policy registry: named plugins, combined with '+'.

A policy name lists plugins: at most one queue order, at most one placer (or profile), and
modifiers. Missing parts take defaults (queue `fifo`, placer `fastest`). A profile or
`aging` takes parameters after a colon. Examples:

    fifo                  strict first-in-first-out, fastest accelerator first
    backfill              fifo + EASY backfill
    sjf+backfill          shortest estimated job first, with backfill
    las                   Tiresias-like least attained service, preempting more-served jobs
    drf+best-fit          weighted fair share, tightest packing
    fgd                   fifo with the fragmentation-aware packer (fractional GPUs)
    sjf+backfill+green    ... placing by score: time against carbon, time-shifting
    sjf+backfill+score:time=1,carbon=8
    priority+aging:hours=2   a priority point per two hours waited (no starvation)
"""

from collections.abc import Callable, Mapping

from computenet.domain.errors import DomainError, UnknownNameError
from computenet.scheduling.framework import Placer, Policy, Preemptor, QueueOrder, Shifter
from computenet.scheduling.policies.placers import BestFit, Fastest, FragmentationGradient
from computenet.scheduling.policies.preemption import LasPreemption, PriorityPreemption
from computenet.scheduling.policies.profiles import PROFILES, ProfilePlacer, TimeShifter
from computenet.scheduling.policies.queues import (
    DominantResourceFairness,
    Fifo,
    LeastAttainedService,
    PriorityOrder,
    ShortestJobFirst,
)
from computenet.scheduling.scoring import Weights

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
MODIFIERS = ("backfill", "preempt", "no-preempt", "aging")
DEFAULT_AGING_H = 1.0  # one priority point per hour waited
# Queue orders that preempt by nature (a modifier can turn it off).
_PREEMPTORS: dict[str, Callable[[], Preemptor]] = {
    "las": LasPreemption,
    "priority": PriorityPreemption,
}


def plugin_names(profiles: Mapping[str, Weights] | None = None) -> list[str]:
    return [*QUEUE_ORDERS, *PLACERS, *PROFILES, *(profiles or {}), *MODIFIERS]


def _params(part: str, text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DomainError(f"policy part {part!r}: parameters are key=value, comma-separated")
        params[key.strip().lower()] = value.strip()
    return params


def make_policy(name: str, profiles: Mapping[str, Weights] | None = None) -> Policy:
    """Build a fresh policy (plugins may keep state) from a '+'-joined name; `profiles`
    adds or overrides profiles (a scenario file's, the service's settings)."""
    known_profiles = {**PROFILES, **(profiles or {})}
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise DomainError("policy name is empty")
    queues: list[str] = []
    placers: list[Placer] = []
    shifter: Shifter | None = None
    aging_s: float | None = None
    modifiers: set[str] = set()
    canonical: list[str] = []
    for part in parts:
        base, sep, rest = part.partition(":")
        base = base.strip().lower()
        params = _params(part, rest) if sep else {}
        canonical.append(base + (":" + rest.strip() if sep else ""))
        if params and base not in known_profiles and base != "aging":
            raise DomainError(f"policy part {base!r} takes no parameters")
        if base in QUEUE_ORDERS:
            queues.append(base)
        elif base in PLACERS:
            placers.append(PLACERS[base]())
        elif base in known_profiles:
            weights = known_profiles[base].with_params(params)
            label = canonical[-1]
            placers.append(ProfilePlacer(label, weights))
            if weights.shift:
                shifter = TimeShifter(label, weights)
        elif base in MODIFIERS:
            modifiers.add(base)
            if base == "aging":
                aging_s = _aging_s(part, params)
        else:
            raise UnknownNameError("policy part", base, plugin_names(profiles))
    if len(queues) > 1 or len(placers) > 1:
        raise DomainError(f"policy {name!r}: at most one queue order and one placer")
    queue_name = queues[0] if queues else "fifo"
    queue: QueueOrder
    if queue_name == "priority":
        queue = PriorityOrder(aging_s)
    elif queue_name == "sjf":
        queue = ShortestJobFirst(aging_s)
    else:
        queue = QUEUE_ORDERS[queue_name]()
    preemptor: Preemptor | None = None
    if "no-preempt" not in modifiers:
        if queue_name == "priority":
            preemptor = PriorityPreemption(aging_s)
        elif queue_name in _PREEMPTORS:
            preemptor = _PREEMPTORS[queue_name]()
        elif "preempt" in modifiers:
            preemptor = PriorityPreemption(aging_s)
    return Policy(
        name="+".join(canonical),
        queue=queue,
        placer=placers[0] if placers else Fastest(),
        backfill="backfill" in modifiers,
        preemptor=preemptor,
        shifter=shifter,
    )


def _aging_s(part: str, params: Mapping[str, str]) -> float:
    unknown = set(params) - {"hours"}
    if unknown:
        raise DomainError(f"policy part {part!r}: aging takes hours=H")
    try:
        hours = float(params.get("hours", DEFAULT_AGING_H))
    except ValueError:
        raise DomainError(f"policy part {part!r}: hours must be a number") from None
    if hours <= 0:
        raise DomainError(f"policy part {part!r}: hours must be > 0")
    return hours * 3600.0


__all__ = ["MODIFIERS", "PLACERS", "PROFILES", "QUEUE_ORDERS", "make_policy", "plugin_names"]
