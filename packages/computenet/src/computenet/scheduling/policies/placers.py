"""Placers: which pool and nodes a job gets.

- `fastest`  heterogeneity-aware: the accelerator that runs the job fastest at its
             precision, best fit inside that pool (the default);
- `best-fit` the tightest fit across every feasible pool (fewest free devices left on the
             chosen nodes), speed as the tie-breaker;
- `fgd`      fragmentation-gradient descent (Weng et al., ATC'23): the node whose expected
             fragmentation, measured against the shapes of the workload seen so far, grows
             least; for fractional-GPU sharing.
"""

from collections import Counter
from collections.abc import Sequence

from computenet.domain.jobs import MILLI, JobSpec
from computenet.scheduling.cluster import ClusterState, Node, Placement, Slot
from computenet.scheduling.framework import PoolWait, SchedulerView
from computenet.scheduling.placement import host_fits, host_share, leftover_after, place_in_pool
from computenet.scheduling.records import JobRecord, PoolOption
from computenet.scheduling.scoring import ScoreBreakdown


class PlacerBase:
    """No-op hooks for placers that neither learn the workload nor score candidates."""

    name = "placer"
    scores = False
    waits = False

    def observe(self, spec: JobSpec) -> None:
        return None

    def begin_pass(self, view: SchedulerView, now: float) -> None:
        return None

    def wait_for(
        self, job: JobRecord, view: SchedulerView, now: float, pool: int
    ) -> PoolWait | None:
        return None

    def explain(self, job: JobRecord, pool: int, now: float) -> ScoreBreakdown | None:
        return None


class Fastest(PlacerBase):
    name = "fastest"

    def place(
        self,
        job: JobRecord,
        cluster: ClusterState,
        options: Sequence[PoolOption] | None = None,
    ) -> Placement | None:
        for opt in job.options if options is None else options:
            placement = place_in_pool(cluster, cluster.pools[opt.pool], job.spec)
            if placement is not None:
                return placement
        return None


class BestFit(PlacerBase):
    name = "best-fit"

    def place(
        self,
        job: JobRecord,
        cluster: ClusterState,
        options: Sequence[PoolOption] | None = None,
    ) -> Placement | None:
        best: Placement | None = None
        best_key: tuple[int, float] | None = None
        for opt in job.options if options is None else options:
            placement = place_in_pool(cluster, cluster.pools[opt.pool], job.spec)
            if placement is None:
                continue
            key = (leftover_after(cluster, placement), -opt.speed)
            if best_key is None or key < best_key:
                best, best_key = placement, key
                if key[0] == 0:
                    break
        return best


# A task shape for fragmentation: (devices, share of each device, cpu_milli, memory_mib).
Shape = tuple[int, int, int, int]


def shape_of(spec: JobSpec) -> Shape:
    return (spec.accelerators, spec.accelerator_milli, spec.cpu_milli, spec.memory_mib)


def node_fragmentation(free: Sequence[int], cpu: int, mem: int, shape: Shape) -> int:
    """Free device share on a node that a task of `shape` could not use (FGD's F_n(m))."""
    devices, milli, t_cpu, t_mem = shape
    total = sum(free)
    if devices == 0:
        return 0 if cpu >= t_cpu and mem >= t_mem else total
    if cpu < t_cpu or mem < t_mem:
        return total
    if milli < MILLI:
        if not any(f >= milli for f in free):
            return total
        return sum(f for f in free if f < milli)
    whole = sum(1 for f in free if f == MILLI)
    if whole < devices:
        return total
    return total - whole * MILLI


class FragmentationGradient(PlacerBase):
    """FGD: choose the placement that raises the expected fragmentation the least."""

    name = "fgd"

    def __init__(self, top_shapes: int = 16) -> None:
        self.top_shapes = top_shapes
        self.seen: Counter[Shape] = Counter()
        self._profile: list[tuple[Shape, float]] | None = None

    def observe(self, spec: JobSpec) -> None:
        self.seen[shape_of(spec)] += 1
        self._profile = None

    def profile(self) -> list[tuple[Shape, float]]:
        if self._profile is None:
            common = self.seen.most_common(self.top_shapes)
            total = sum(n for _, n in common) or 1
            self._profile = [(s, n / total) for s, n in common]
        return self._profile

    def expected(self, free: Sequence[int], cpu: int, mem: int) -> float:
        return sum(p * node_fragmentation(free, cpu, mem, s) for s, p in self.profile())

    def place(
        self,
        job: JobRecord,
        cluster: ClusterState,
        options: Sequence[PoolOption] | None = None,
    ) -> Placement | None:
        spec = job.spec
        if spec.accelerators != 1:
            # gangs and CPU-only work: fragmentation of whole devices is best fit's job
            return BestFit().place(job, cluster, options)
        best: tuple[float, float, int, int] | None = None
        best_slot: tuple[int, Slot] | None = None
        cpu, mem = host_share(spec, 1)
        milli = spec.accelerator_milli
        for opt in job.options if options is None else options:
            pool = cluster.pools[opt.pool]
            if pool.size == 0 or pool.free_milli < milli or not cluster.power_fits(pool, milli):
                continue
            seen: dict[tuple[tuple[int, ...], int, int, int], float] = {}
            for node in pool.nodes:
                if not host_fits(node, spec, 1):
                    continue
                for device in _candidate_devices(node, milli):
                    sig = (
                        tuple(sorted(node.free)),
                        node.cpu_free,
                        node.mem_free,
                        node.free[device],
                    )
                    delta = seen.get(sig)
                    if delta is None:
                        after = list(node.free)
                        after[device] -= milli
                        delta = self.expected(
                            after, node.cpu_free - cpu, node.mem_free - mem
                        ) - self.expected(node.free, node.cpu_free, node.mem_free)
                        seen[sig] = delta
                    key = (delta, -opt.speed, node.id, device)
                    if best is None or key < best:
                        best = key
                        best_slot = (pool.id, Slot(node.id, (device,), milli, cpu, mem))
        if best_slot is None:
            return None
        return Placement(best_slot[0], (best_slot[1],))


def _candidate_devices(node: Node, milli: int) -> list[int]:
    """One device per distinct free level that can host `milli` (others are equivalent)."""
    chosen: dict[int, int] = {}
    for d, f in enumerate(node.free):
        if f >= milli and f not in chosen:
            chosen[f] = d
    return list(chosen.values())
