"""Capacity state of the network: nodes, pools, and indexes by free capacity.

Every allocation goes through `allocate` and is undone by `release` (the reserve /
unreserve pair). Indexes are kept incrementally so a placement never rescans the cluster:
per pool, nodes are bucketed by their count of fully free devices, and partially used
devices are indexed by their free share. Each site's power headroom under its cap is kept
the same way, in integer milliwatts (devices at load x PUE), so it never drifts.
"""

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from computenet.domain.hardware import AcceleratorModel, Catalog
from computenet.domain.jobs import MILLI
from computenet.domain.network import Network, Site

NO_CAP_MW = 1 << 62  # a site without a power cap


@dataclass(frozen=True, slots=True)
class Slot:
    """A job's share of one node: device indexes, the share of each, and host resources."""

    node: int
    devices: tuple[int, ...]
    milli: int  # share of each listed device
    cpu_milli: int
    memory_mib: int


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a job runs: one pool of one site (gangs never span sites or models)."""

    pool: int
    slots: tuple[Slot, ...]

    @property
    def nodes(self) -> tuple[int, ...]:
        return tuple(s.node for s in self.slots)

    @property
    def device_milli(self) -> int:
        return sum(len(s.devices) * s.milli for s in self.slots)


class Node:
    __slots__ = (
        "cpu_cap",
        "cpu_free",
        "devices",
        "free",
        "free_whole",
        "id",
        "mem_cap",
        "mem_free",
        "pool",
    )

    def __init__(self, node_id: int, pool: int, devices: int, cpu_milli: int, mem_mib: int) -> None:
        self.id = node_id
        self.pool = pool
        self.devices = devices
        self.free = [MILLI] * devices  # free share of each device
        self.free_whole = devices
        self.cpu_cap = self.cpu_free = cpu_milli
        self.mem_cap = self.mem_free = mem_mib


class Pool:
    __slots__ = (
        "buckets",
        "capacity_milli",
        "free_milli",
        "id",
        "model",
        "mw_per_milli",
        "name",
        "nodes",
        "partial",
        "partial_levels",
        "site",
        "site_index",
        "size",
    )

    def __init__(
        self,
        pool_id: int,
        site: str,
        name: str,
        model: AcceleratorModel,
        size: int,
        *,
        site_index: int = 0,
        mw_per_milli: int = 0,
    ) -> None:
        self.id = pool_id
        self.site = site
        self.site_index = site_index
        self.mw_per_milli = mw_per_milli  # facility power per thousandth of a device
        self.name = name
        self.model = model
        self.size = size  # devices per node
        self.nodes: list[Node] = []
        # buckets[k]: nodes with exactly k fully free devices (dicts as ordered sets keep
        # iteration deterministic)
        self.buckets: list[dict[int, Node]] = [{} for _ in range(size + 1)]
        # partial[f]: (node, device) pairs whose free share is f, 0 < f < MILLI
        self.partial: dict[int, dict[tuple[int, int], None]] = {}
        self.partial_levels: list[int] = []  # sorted keys of `partial`
        self.capacity_milli = 0
        self.free_milli = 0

    @property
    def key(self) -> str:
        return f"{self.site}/{self.name}"


class ClusterState:
    """Nodes and pools of a network with free-capacity indexes."""

    def __init__(self, network: Network, catalog: Catalog) -> None:
        self.network = network
        self.pools: list[Pool] = []
        self.nodes: list[Node] = []
        self.capacity_milli = self.free_milli = 0
        self.site_free_mw: list[int] = []  # power headroom under each site's cap
        self.site_cap_mw: list[int] = []
        for site in network.sites:
            self.add_site(site, catalog)

    def add_site(self, site: Site, catalog: Catalog) -> list[Pool]:
        """Append a site's pools and nodes (ids of existing ones never change)."""
        added = []
        site_index = len(self.site_free_mw)
        cap = site.power_cap_kw
        self.site_cap_mw.append(NO_CAP_MW if cap is None else round(cap * 1_000_000))
        self.site_free_mw.append(self.site_cap_mw[-1])
        for pool_spec in site.pools:
            shape = pool_spec.shape
            model = catalog.get(shape.accelerator)
            pool = Pool(
                len(self.pools),
                site.name,
                pool_spec.name,
                model,
                shape.accelerators,
                site_index=site_index,
                mw_per_milli=round(model.power_w * site.pue),
            )
            self.pools.append(pool)
            for _ in range(pool_spec.nodes):
                node = Node(
                    len(self.nodes),
                    pool.id,
                    shape.accelerators,
                    shape.cpus * 1000,
                    shape.memory_gib * 1024,
                )
                self.nodes.append(node)
                pool.nodes.append(node)
                pool.buckets[node.free_whole][node.id] = node
            pool.capacity_milli = pool.free_milli = pool_spec.nodes * shape.accelerators * MILLI
            self.capacity_milli += pool.capacity_milli
            self.free_milli += pool.capacity_milli
            added.append(pool)
        return added

    def clone_pool(self, pool_id: int) -> "ClusterState":
        """A what-if copy in which only `pool_id` may change (other pools are shared)."""
        clone = ClusterState.__new__(ClusterState)
        clone.network = self.network
        clone.pools = list(self.pools)
        clone.nodes = list(self.nodes)
        src = self.pools[pool_id]
        pool = Pool(
            src.id,
            src.site,
            src.name,
            src.model,
            src.size,
            site_index=src.site_index,
            mw_per_milli=src.mw_per_milli,
        )
        clone.site_free_mw = list(self.site_free_mw)
        clone.site_cap_mw = self.site_cap_mw
        for node in src.nodes:
            copy = Node(node.id, node.pool, node.devices, node.cpu_cap, node.mem_cap)
            copy.free = list(node.free)
            copy.free_whole = node.free_whole
            copy.cpu_free = node.cpu_free
            copy.mem_free = node.mem_free
            clone.nodes[node.id] = copy
            pool.nodes.append(copy)
            pool.buckets[copy.free_whole][copy.id] = copy
        pool.partial = {level: dict(bucket) for level, bucket in src.partial.items()}
        pool.partial_levels = list(src.partial_levels)
        pool.capacity_milli = src.capacity_milli
        pool.free_milli = src.free_milli
        clone.pools[pool_id] = pool
        clone.capacity_milli = self.capacity_milli
        clone.free_milli = self.free_milli
        return clone

    @property
    def allocated_milli(self) -> int:
        return self.capacity_milli - self.free_milli

    def power_fits(self, pool: Pool, milli: int) -> bool:
        """Whether the pool's site can power `milli` more thousandths of a device."""
        return milli * pool.mw_per_milli <= self.site_free_mw[pool.site_index]

    # -- reserve / unreserve ----------------------------------------------------------------

    def allocate(self, placement: Placement) -> None:
        pool = self.pools[placement.pool]
        for slot in placement.slots:
            node = self.nodes[slot.node]
            self._change(pool, node, slot, -1)

    def can_allocate(self, placement: Placement) -> bool:
        """Whether every device share and host resource the placement names is free."""
        if not 0 <= placement.pool < len(self.pools):
            return False
        if not self.power_fits(self.pools[placement.pool], placement.device_milli):
            return False
        for slot in placement.slots:
            if not 0 <= slot.node < len(self.nodes):
                return False
            node = self.nodes[slot.node]
            if (
                node.pool != placement.pool
                or node.cpu_free < slot.cpu_milli
                or node.mem_free < slot.memory_mib
            ):
                return False
            if any(d >= node.devices or node.free[d] < slot.milli for d in slot.devices):
                return False
            if len(set(slot.devices)) != len(slot.devices):
                return False
        return True

    def release(self, placement: Placement) -> None:
        pool = self.pools[placement.pool]
        for slot in placement.slots:
            node = self.nodes[slot.node]
            self._change(pool, node, slot, +1)

    def _change(self, pool: Pool, node: Node, slot: Slot, sign: int) -> None:
        old_whole = node.free_whole
        free = node.free
        delta = sign * slot.milli
        for d in slot.devices:
            before = free[d]
            after = before + delta
            if after < 0 or after > MILLI:
                raise AssertionError(f"device {node.id}:{d} over- or under-booked ({after})")
            free[d] = after
            if 0 < before < MILLI:
                self._partial_remove(pool, before, node.id, d)
            if 0 < after < MILLI:
                self._partial_add(pool, after, node.id, d)
            if before == MILLI:
                node.free_whole -= 1
            if after == MILLI:
                node.free_whole += 1
        node.cpu_free += sign * slot.cpu_milli
        node.mem_free += sign * slot.memory_mib
        if (
            node.cpu_free < 0
            or node.mem_free < 0
            or node.cpu_free > node.cpu_cap
            or node.mem_free > node.mem_cap
        ):
            raise AssertionError(f"node {node.id}: host resources over- or under-booked")
        total = len(slot.devices) * delta
        pool.free_milli += total
        self.free_milli += total
        self.site_free_mw[pool.site_index] += total * pool.mw_per_milli
        if node.free_whole != old_whole:
            del pool.buckets[old_whole][node.id]
            pool.buckets[node.free_whole][node.id] = node

    @staticmethod
    def _partial_add(pool: Pool, level: int, node: int, device: int) -> None:
        bucket = pool.partial.get(level)
        if bucket is None:
            bucket = pool.partial[level] = {}
            insort(pool.partial_levels, level)
        bucket[(node, device)] = None

    @staticmethod
    def _partial_remove(pool: Pool, level: int, node: int, device: int) -> None:
        bucket = pool.partial[level]
        del bucket[(node, device)]
        if not bucket:
            del pool.partial[level]
            levels = pool.partial_levels
            del levels[bisect_left(levels, level)]

    # -- masking ----------------------------------------------------------------------------

    def hide(self, node_ids: Iterable[int]) -> list[Node]:
        """Take nodes out of the free-capacity indexes so placements skip them (used to
        place a backfill job around the head's reserved nodes); `unhide` puts them back."""
        hidden = []
        for node_id in node_ids:
            node = self.nodes[node_id]
            pool = self.pools[node.pool]
            if pool.buckets[node.free_whole].pop(node.id, None) is None:
                continue
            for d, f in enumerate(node.free):
                if 0 < f < MILLI:
                    self._partial_remove(pool, f, node.id, d)
            hidden.append(node)
        return hidden

    def unhide(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            pool = self.pools[node.pool]
            pool.buckets[node.free_whole][node.id] = node
            for d, f in enumerate(node.free):
                if 0 < f < MILLI:
                    self._partial_add(pool, f, node.id, d)

    # -- queries ----------------------------------------------------------------------------

    def partial_devices(self, pool: Pool, min_free: int) -> Iterator[tuple[int, int, int]]:
        """Partially used devices with at least `min_free` free, tightest first."""
        levels = pool.partial_levels
        for i in range(bisect_left(levels, min_free), len(levels)):
            level = levels[i]
            for node, device in pool.partial[level]:
                yield level, node, device

    def check_invariants(self) -> None:
        """Recompute every index from scratch and compare (tests and debugging)."""
        total_free = 0
        drawn = [0] * len(self.site_cap_mw)
        for pool in self.pools:
            drawn[pool.site_index] += (pool.capacity_milli - pool.free_milli) * pool.mw_per_milli
        for i, cap in enumerate(self.site_cap_mw):
            assert cap - drawn[i] == self.site_free_mw[i], f"site {i} power headroom"
        for pool in self.pools:
            pool_free = 0
            for node in pool.nodes:
                whole = sum(1 for f in node.free if f == MILLI)
                assert whole == node.free_whole, f"node {node.id} free_whole"
                assert node.id in pool.buckets[whole], f"node {node.id} bucket"
                assert all(0 <= f <= MILLI for f in node.free)
                assert 0 <= node.cpu_free <= node.cpu_cap and 0 <= node.mem_free <= node.mem_cap
                for d, f in enumerate(node.free):
                    if 0 < f < MILLI:
                        assert (node.id, d) in pool.partial[f]
                pool_free += sum(node.free)
            assert sum(len(b) for b in pool.buckets) == len(pool.nodes)
            assert pool_free == pool.free_milli, f"pool {pool.key} free_milli"
            assert pool.partial_levels == sorted(pool.partial), "partial levels"
            total_free += pool_free
        assert total_free == self.free_milli
