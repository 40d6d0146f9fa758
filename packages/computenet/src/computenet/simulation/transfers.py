"""Data staging in virtual time: transfers that share the links they cross.

Each transfer moves its bytes along a route; every link gives each transfer on it an
equal share of its bandwidth, and a transfer goes at the narrowest share on its route.

Transfers on the same route always go at the same rate, so they are kept as one flow per
route: the flow counts the gigabits each of its members has received so far (`served`),
and a member is done when that count reaches its own target. A start or an end changes the
rate of the flows on the links concerned only; each flow's next completion is projected
into a heap (stale entries skipped). Events cost the flows they touch — at most one per
pair of sites — however many transfers are under way. The route's latency is added once,
at the end.
"""

import heapq
from dataclasses import dataclass, field

from computenet.scheduling.links import GBIT_PER_GB, LinkState, Route

DONE_WITHIN_S = 1e-6  # float rounding never leaves a sliver of a transfer behind


@dataclass
class _Flow:
    index: int
    route: Route
    served: float = 0.0  # gigabits each member has received, as of `at`
    at: float = 0.0
    rate_gbps: float = 0.0  # per member
    version: int = 0
    members: list[tuple[float, int]] = field(default_factory=list)  # (target, key) heap
    size: int = 0  # live members (the heap may hold cancelled ones)

    def settle(self, now: float) -> None:
        if now > self.at:
            self.served += self.rate_gbps * (now - self.at)
            self.at = now


class Transfers:
    def __init__(self, links: LinkState) -> None:
        self.bandwidth = [link.bandwidth_gbps for link in links.links]
        self._count = [0] * len(self.bandwidth)  # transfers on each link
        self._flows: dict[tuple[int, ...], _Flow] = {}
        self._by_index: list[_Flow] = []
        self._on_link: list[set[int]] = [set() for _ in self.bandwidth]  # flow indexes
        self._member: dict[int, tuple[_Flow, float]] = {}  # key -> (flow, target)
        self._dirty: set[int] = set()  # links whose sharing changed since the last flush
        self._heap: list[tuple[float, int, int]] = []  # (projected end, version, flow)
        self.moved_gb = 0.0

    def __len__(self) -> int:
        return len(self._member)

    def start(self, key: int, route: Route, gb: float, now: float) -> None:
        flow = self._flows.get(route.links)
        if flow is None:
            flow = _Flow(len(self._by_index), route, at=now)
            self._flows[route.links] = flow
            self._by_index.append(flow)
            for i in route.links:
                self._on_link[i].add(flow.index)
        flow.settle(now)
        target = flow.served + gb * GBIT_PER_GB
        heapq.heappush(flow.members, (target, key))
        self._member[key] = (flow, target)
        self._join(flow, +1)
        self.moved_gb += gb

    def cancel(self, key: int, now: float) -> None:
        """A staging job was stopped: its transfer ends where it is."""
        entry = self._member.pop(key, None)
        if entry is not None:
            flow, target = entry
            flow.settle(now)
            self.moved_gb -= max(0.0, target - flow.served) / GBIT_PER_GB
            self._join(flow, -1)  # its heap entry goes stale: no longer in `_member`

    def flush(self, now: float) -> None:
        """Re-rate the flows on links whose sharing changed."""
        if not self._dirty:
            return
        touched: set[int] = set()
        for i in self._dirty:
            touched |= self._on_link[i]
        self._dirty.clear()
        bandwidth, count = self.bandwidth, self._count
        for index in sorted(touched):  # sorted: heap ties break the same way every run
            flow = self._by_index[index]
            flow.settle(now)
            flow.version += 1
            if flow.size == 0:
                flow.rate_gbps = 0.0
                continue
            flow.rate_gbps = min(bandwidth[i] / count[i] for i in flow.route.links)
            target = self._next_target(flow)
            at = now + max(0.0, target - flow.served) / flow.rate_gbps
            heapq.heappush(self._heap, (at, flow.version, index))

    def next_done(self) -> float | None:
        """When the next transfer's bytes are through (latency not included)."""
        heap = self._heap
        while heap:
            at, version, index = heap[0]
            if self._by_index[index].version == version:
                return at
            heapq.heappop(heap)
        return None

    def finish_due(self, now: float) -> list[tuple[int, float]]:
        """Transfers through by `now`: (key, route latency) each, removed."""
        done: list[tuple[int, float]] = []
        while (at := self.next_done()) is not None and at <= now + DONE_WITHIN_S:
            _, _, index = heapq.heappop(self._heap)
            flow = self._by_index[index]
            flow.settle(now)
            slack = flow.rate_gbps * DONE_WITHIN_S
            while flow.members and flow.members[0][0] <= flow.served + slack:
                target, key = heapq.heappop(flow.members)
                if self._live(flow, target, key):
                    del self._member[key]
                    self._join(flow, -1)
                    done.append((key, flow.route.latency_s))
            flow.version += 1  # re-projected by the flush below
            self._dirty.update(flow.route.links)
        self.flush(now)
        return done

    def _next_target(self, flow: _Flow) -> float:
        members = flow.members
        while not self._live(flow, *members[0]):
            heapq.heappop(members)  # cancelled
        return members[0][0]

    def _live(self, flow: _Flow, target: float, key: int) -> bool:
        """Whether a heap entry is a transfer under way (not one cancelled before)."""
        entry = self._member.get(key)
        return entry is not None and entry[0] is flow and entry[1] == target

    def _join(self, flow: _Flow, sign: int) -> None:
        flow.size += sign
        for i in flow.route.links:
            self._count[i] += sign
        self._dirty.update(flow.route.links)
