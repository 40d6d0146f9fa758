"""Placement primitives shared by the placer plugins: candidate nodes and slot building.

All functions read the cluster indexes and never change them; `ClusterState.allocate`
commits a placement.
"""

from collections.abc import Iterator

from computenet.domain.jobs import MILLI, JobSpec
from computenet.scheduling.cluster import ClusterState, Node, Placement, Pool, Slot


def host_share(spec: JobSpec, devices_here: int) -> tuple[int, int]:
    """CPU and memory a job needs on a node holding `devices_here` of its devices."""
    if spec.accelerators == 0:
        return spec.cpu_milli, spec.memory_mib
    return (
        -(-spec.cpu_milli * devices_here // spec.accelerators),
        -(-spec.memory_mib * devices_here // spec.accelerators),
    )


def host_fits(node: Node, spec: JobSpec, devices_here: int) -> bool:
    if spec.cpu_milli == 0 and spec.memory_mib == 0:
        return True
    cpu, mem = host_share(spec, devices_here)
    return node.cpu_free >= cpu and node.mem_free >= mem


def whole_slot(node: Node, spec: JobSpec, count: int) -> Slot:
    if node.free_whole == node.devices:
        devices = tuple(range(count))
    else:
        devices = tuple([d for d, f in enumerate(node.free) if f == MILLI][:count])
    cpu, mem = host_share(spec, count)
    return Slot(node.id, devices, MILLI, cpu, mem)


def nodes_with_whole(pool: Pool, at_least: int, tightest: bool = True) -> Iterator[Node]:
    """Nodes with at least `at_least` fully free devices, tightest (best-fit) first."""
    ks = range(at_least, pool.size + 1) if tightest else range(pool.size, at_least - 1, -1)
    for k in ks:
        yield from pool.buckets[k].values()


def place_whole(pool: Pool, spec: JobSpec, tightest: bool = True) -> Placement | None:
    """Whole devices, honouring node shape: a gang larger than a node takes whole nodes
    plus one node for the remainder; all or nothing."""
    g = spec.accelerators
    if g == 0 or pool.size == 0 or pool.free_milli < g * MILLI:
        return None
    if g <= pool.size:
        for node in nodes_with_whole(pool, g, tightest):
            if host_fits(node, spec, g):
                return Placement(pool.id, (whole_slot(node, spec, g),))
        return None
    full, rest = divmod(g, pool.size)
    chosen: list[Node] = []
    for node in pool.buckets[pool.size].values():
        if host_fits(node, spec, pool.size):
            chosen.append(node)
            if len(chosen) == full:
                break
    if len(chosen) < full:
        return None
    slots = [whole_slot(n, spec, pool.size) for n in chosen]
    if rest:
        taken = {n.id for n in chosen}
        extra = next(
            (
                n
                for n in nodes_with_whole(pool, rest, tightest=True)
                if n.id not in taken and host_fits(n, spec, rest)
            ),
            None,
        )
        if extra is None:
            return None
        slots.append(whole_slot(extra, spec, rest))
    return Placement(pool.id, tuple(slots))


def place_fraction(cluster: ClusterState, pool: Pool, spec: JobSpec) -> Placement | None:
    """A share of one device: the tightest partly used device first, then a fresh one on
    the node with the fewest whole devices free (keeps whole nodes for gangs)."""
    milli = spec.accelerator_milli
    if pool.size == 0 or pool.free_milli < milli:
        return None
    cpu, mem = host_share(spec, 1)
    for _, node_id, device in cluster.partial_devices(pool, milli):
        node = cluster.nodes[node_id]
        if host_fits(node, spec, 1):
            return Placement(pool.id, (Slot(node_id, (device,), milli, cpu, mem),))
    for node in nodes_with_whole(pool, 1, tightest=True):
        if host_fits(node, spec, 1):
            device = node.free.index(MILLI)
            return Placement(pool.id, (Slot(node.id, (device,), milli, cpu, mem),))
    return None


def place_host_only(pool: Pool, spec: JobSpec) -> Placement | None:
    """CPU-only work: the node with the least CPU left that still fits (best fit)."""
    best: Node | None = None
    for node in pool.nodes:
        if (
            node.cpu_free >= spec.cpu_milli
            and node.mem_free >= spec.memory_mib
            and (best is None or node.cpu_free < best.cpu_free)
        ):
            best = node
    if best is None:
        return None
    return Placement(pool.id, (Slot(best.id, (), 0, spec.cpu_milli, spec.memory_mib),))


def place_in_pool(
    cluster: ClusterState, pool: Pool, spec: JobSpec, tightest: bool = True
) -> Placement | None:
    """The default placement of `spec` in `pool`, or None when it does not fit now."""
    if not cluster.power_fits(pool, spec.device_milli):
        return None  # the site is at its power cap
    if spec.accelerators == 0:
        return place_host_only(pool, spec)
    if spec.accelerator_milli < MILLI:
        return place_fraction(cluster, pool, spec)
    return place_whole(pool, spec, tightest)


def leftover_after(cluster: ClusterState, placement: Placement) -> int:
    """Free device share left on the placement's nodes afterwards (best-fit's measure)."""
    left = 0
    for slot in placement.slots:
        node = cluster.nodes[slot.node]
        left += sum(node.free) - len(slot.devices) * slot.milli
    return left
