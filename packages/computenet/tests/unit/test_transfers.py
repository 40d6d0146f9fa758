"""Data staging over shared links: routes, estimates and the simulator's fluid model."""

import pytest

from computenet.domain.network import Link, Network, NodePool, NodeShape, Site
from computenet.scheduling.links import LinkState, Route
from computenet.simulation.transfers import Transfers

pytestmark = pytest.mark.unit


def chain() -> LinkState:
    """a - b - c at 10 Gbit/s and 5 ms each, plus a slow direct a - c link."""
    sites = tuple(Site(n, (NodePool("p", NodeShape("V100", 8), 1),)) for n in "abcd")
    links = (Link("a", "b", 10.0, 5.0), Link("b", "c", 10.0, 5.0), Link("a", "c", 1.0, 1.0))
    return LinkState(Network("chain", sites, links))


def route(state: LinkState, src: str, dst: str) -> Route:
    r = state.route(src, dst)
    assert r is not None
    return r


def run_until_done(t: Transfers, until: float = 1e6) -> dict[int, float]:
    """Event loop: completion time of each transfer."""
    done: dict[int, float] = {}
    while (at := t.next_done()) is not None and at <= until:
        for key, latency in t.finish_due(at):
            done[key] = at + latency
    return done


def test_routes_take_the_widest_path_and_estimates_share_links() -> None:
    state = chain()
    wide = route(state, "a", "c")
    assert wide.links == (0, 1)  # two 10 Gbit/s hops beat the 1 Gbit/s direct link
    assert wide.bottleneck_gbps == 10.0 and wide.latency_s == pytest.approx(0.010)
    assert route(state, "a", "a").links == ()
    assert state.route("a", "d") is None  # not connected
    assert state.staging_s(wide, 10.0) == pytest.approx(0.010 + 8.0)
    state.begin(route(state, "b", "c"))  # someone else on the second hop
    assert state.staging_s(wide, 10.0) == pytest.approx(0.010 + 16.0)
    state.end(route(state, "b", "c"))
    assert state.staging_s(wide, 10.0) == pytest.approx(0.010 + 8.0)


def test_one_transfer_goes_at_the_bottleneck_and_pays_latency_once() -> None:
    state = chain()
    t = Transfers(state)
    t.start(1, route(state, "a", "c"), 10.0, 0.0)
    t.flush(0.0)
    assert run_until_done(t) == {1: pytest.approx(8.010)}


def test_transfers_on_a_link_share_it_and_speed_up_when_one_ends() -> None:
    state = chain()
    t = Transfers(state)
    ab = route(state, "a", "b")
    t.start(1, ab, 10.0, 0.0)
    t.flush(0.0)
    assert t.next_done() == pytest.approx(8.0)
    t.start(2, ab, 10.0, 4.0)  # 1 has 5 GB left; both now at 5 Gbit/s
    t.flush(4.0)
    done = run_until_done(t)
    assert done[1] == pytest.approx(4.0 + 8.0 + 0.005)
    assert done[2] == pytest.approx(12.0 + 4.0 + 0.005)  # alone again for its last 5 GB
    assert t.moved_gb == pytest.approx(20.0) and len(t) == 0


def test_a_route_is_as_fast_as_its_most_shared_link() -> None:
    state = chain()
    t = Transfers(state)
    t.start(1, route(state, "a", "c"), 10.0, 0.0)  # over a-b and b-c
    t.start(2, route(state, "b", "c"), 10.0, 0.0)
    t.start(3, route(state, "b", "c"), 10.0, 0.0)
    t.flush(0.0)
    done = run_until_done(t)
    # b-c carries three: each at 10/3 Gbit/s for all 10 GB (they end together)
    assert done[2] == pytest.approx(24.0 + 0.005)
    assert done[1] == pytest.approx(24.0 + 0.010)


def test_a_cancelled_transfer_frees_its_share() -> None:
    state = chain()
    t = Transfers(state)
    ab = route(state, "a", "b")
    t.start(1, ab, 10.0, 0.0)
    t.start(2, ab, 10.0, 0.0)
    t.flush(0.0)
    t.cancel(2, 4.0)  # moved 2.5 GB of its 10
    t.flush(4.0)
    assert t.moved_gb == pytest.approx(12.5)
    assert run_until_done(t) == {1: pytest.approx(4.0 + 6.0 + 0.005)}
    # its key may stage again later, from scratch
    t.start(2, ab, 10.0, 20.0)
    t.flush(20.0)
    assert run_until_done(t) == {2: pytest.approx(28.005)}
