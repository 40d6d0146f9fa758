"""The links between sites: routes for staging data, and their load.

A dataset moves over one route: the widest path (largest bottleneck bandwidth, then least
latency) between its site and the job's site. Concurrent transfers share each link
equally, so the estimate for a new transfer is the route's latency plus its size over the
narrowest share `bandwidth / (transfers + 1)` along the way. The simulator moves the
bytes with the same sharing rule (`computenet.simulation.transfers`).
"""

import heapq
from dataclasses import dataclass

from computenet.domain.network import Link, Network, Site

GBIT_PER_GB = 8.0


@dataclass(frozen=True, slots=True)
class Route:
    links: tuple[int, ...]  # link indexes, in order; empty when source = destination
    bottleneck_gbps: float
    latency_s: float


LOCAL = Route((), float("inf"), 0.0)


class LinkState:
    def __init__(self, network: Network) -> None:
        self.links: list[Link] = list(network.links)
        self.sites: list[str] = [s.name for s in network.sites]
        self.active: list[int] = [0] * len(self.links)  # transfers on each link now
        self.version = 0  # changes whenever the load does (caches of estimates key on it)
        self._routes: dict[tuple[str, str], Route | None] = {}

    def add_site(self, site: Site) -> None:
        self.sites.append(site.name)  # joins without links: data cannot reach it yet
        self._routes.clear()

    def route(self, src: str, dst: str) -> Route | None:
        """The route data takes from `src` to `dst`; None when they are not connected."""
        if src == dst:
            return LOCAL
        key = (src, dst)
        if key not in self._routes:
            self._routes[key] = self._widest(src, dst)
        return self._routes[key]

    def staging_s(self, route: Route, gb: float) -> float:
        """Estimated seconds to move `gb` gigabytes along `route` now."""
        if not route.links or gb <= 0:
            return 0.0
        share = min(self.links[i].bandwidth_gbps / (self.active[i] + 1) for i in route.links)
        return route.latency_s + gb * GBIT_PER_GB / share

    def begin(self, route: Route) -> None:
        self.version += 1
        for i in route.links:
            self.active[i] += 1

    def end(self, route: Route) -> None:
        self.version += 1
        for i in route.links:
            self.active[i] -= 1
            assert self.active[i] >= 0, "link transfer count below zero"

    def _widest(self, src: str, dst: str) -> Route | None:
        if src not in self.sites or dst not in self.sites:
            return None
        adjacent: dict[str, list[tuple[int, str]]] = {s: [] for s in self.sites}
        for i, link in enumerate(self.links):
            adjacent[link.a].append((i, link.b))
            adjacent[link.b].append((i, link.a))
        # best (-bottleneck, latency) first: a max-bottleneck Dijkstra, ties on latency
        best: dict[str, tuple[float, float]] = {src: (-float("inf"), 0.0)}
        heap: list[tuple[float, float, str, tuple[int, ...]]] = [(-float("inf"), 0.0, src, ())]
        while heap:
            neg_bw, latency, site, path = heapq.heappop(heap)
            if site == dst:
                return Route(path, -neg_bw, latency)
            if (neg_bw, latency) > best.get(site, (0.0, float("inf"))):
                continue
            for i, other in adjacent[site]:
                link = self.links[i]
                key = (max(neg_bw, -link.bandwidth_gbps), latency + link.latency_ms / 1000.0)
                if key < best.get(other, (0.0, float("inf"))):
                    best[other] = key
                    heapq.heappush(heap, (*key, other, (*path, i)))
        return None
