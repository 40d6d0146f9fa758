"""EASY backfill: the head job's reservation and the test a backfill candidate must pass.

The reservation is found on a what-if copy of one pool: running jobs are released in the
order of their expected ends until the head fits. The head's nodes at that moment are
reserved: a later job may start now only if it ends by the reservation (on its estimate)
or leaves enough of every reserved node for the head.

The same estimate gives a scoring placer the expected start of a job in a busy pool, and
the same reservation holds that pool for a job that waits for it (`Scheduler.expected_start`).
"""

import math
from dataclasses import dataclass, field

from computenet.domain.jobs import MILLI
from computenet.scheduling.cluster import ClusterState, Placement
from computenet.scheduling.placement import place_in_pool
from computenet.scheduling.records import JobRecord


@dataclass
class Reservation:
    job: JobRecord
    pool: int
    start: float  # the shadow time: when the head is guaranteed to fit
    # per reserved node: whole devices, CPU and memory left over for others at `start`
    spare_whole: dict[int, int] = field(default_factory=dict)
    spare_cpu: dict[int, int] = field(default_factory=dict)
    spare_mem: dict[int, int] = field(default_factory=dict)
    fractional_head: bool = False

    def admits(self, placement: Placement, expected_end: float) -> bool:
        """Whether starting a job with this placement now keeps the head's start."""
        if placement.pool != self.pool or expected_end <= self.start:
            return True
        for slot in placement.slots:
            if slot.node not in self.spare_whole:
                continue
            if self.fractional_head:
                return False
            if (
                len(slot.devices) > self.spare_whole[slot.node]
                or slot.cpu_milli > self.spare_cpu[slot.node]
                or slot.memory_mib > self.spare_mem[slot.node]
            ):
                return False
        return True

    def copy_for(self, job: JobRecord) -> "Reservation":
        """The same nodes and start, held by `job` (a job of the same shape), to consume
        on its own."""
        return Reservation(
            job,
            self.pool,
            self.start,
            dict(self.spare_whole),
            dict(self.spare_cpu),
            dict(self.spare_mem),
            self.fractional_head,
        )

    def consume(self, placement: Placement, expected_end: float) -> None:
        """Account for an admitted job that is still running at the shadow time."""
        if placement.pool != self.pool or expected_end <= self.start:
            return
        for slot in placement.slots:
            if slot.node in self.spare_whole:
                self.spare_whole[slot.node] -= len(slot.devices)
                self.spare_cpu[slot.node] -= slot.cpu_milli
                self.spare_mem[slot.node] -= slot.memory_mib


def reserve(
    head: JobRecord, pool_id: int, cluster: ClusterState, running: list[JobRecord], now: float
) -> Reservation | None:
    """The earliest time `head` fits in `pool_id` as running jobs end; None if never."""
    ends = sorted((max(r.expected_end, now), r.seq, r) for r in running if r.placement is not None)
    if not ends or math.isinf(ends[0][0]):
        return None
    what_if = cluster.clone_pool(pool_id)
    pool = what_if.pools[pool_id]
    i = 0
    while i < len(ends):
        at = ends[i][0]
        if math.isinf(at):
            return None
        # release every job ending at the same instant together
        while i < len(ends) and ends[i][0] == at:
            placement = ends[i][2].placement
            assert placement is not None
            what_if.release(placement)
            i += 1
        placement = place_in_pool(what_if, pool, head.spec)
        if placement is None:
            continue
        what_if.allocate(placement)
        res = Reservation(head, pool_id, at, fractional_head=head.spec.accelerator_milli < MILLI)
        for slot in placement.slots:
            node = what_if.nodes[slot.node]
            res.spare_whole[node.id] = node.free_whole
            res.spare_cpu[node.id] = node.cpu_free
            res.spare_mem[node.id] = node.mem_free
        return res
    return None
