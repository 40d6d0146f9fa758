"""Sites (compute centers), their node pools, and the links between sites."""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from computenet.domain.economics import SiteEnergy
from computenet.domain.errors import DomainError, UnknownNameError


@dataclass(frozen=True, slots=True)
class NodeShape:
    """What one node of a pool carries."""

    accelerator: str  # a catalog model name
    accelerators: int  # devices per node (0 for CPU-only nodes)
    cpus: int = 64  # cores
    memory_gib: int = 512
    interconnect: str = ""  # e.g. "NVLink", "HCCS", "PCIe"

    def __post_init__(self) -> None:
        if self.accelerators < 0 or self.cpus < 0 or self.memory_gib < 0:
            raise DomainError(f"node shape {self.accelerator}: counts must be >= 0")


@dataclass(frozen=True, slots=True)
class NodePool:
    """A set of identical nodes in one site."""

    name: str
    shape: NodeShape
    nodes: int

    def __post_init__(self) -> None:
        if self.nodes <= 0:
            raise DomainError(f"pool {self.name}: nodes must be > 0")

    @property
    def accelerators(self) -> int:
        return self.nodes * self.shape.accelerators


@dataclass(frozen=True, slots=True)
class Site:
    """A compute center."""

    name: str
    pools: tuple[NodePool, ...]
    region: str = ""
    latitude: float | None = None
    longitude: float | None = None
    pue: float = 1.3
    power_cap_kw: float | None = None  # facility power (IT x PUE) the site may draw
    description: str = ""
    rack_kw: float | None = None  # power one rack can feed and cool (rack density)
    energy: SiteEnergy | None = None  # energy mix and price by hour; None: unknown

    def __post_init__(self) -> None:
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise DomainError(f"site {self.name}: pool names must be unique")
        if self.pue < 1.0:
            raise DomainError(f"site {self.name}: PUE must be >= 1.0")
        if self.power_cap_kw is not None and self.power_cap_kw <= 0:
            raise DomainError(f"site {self.name}: power_cap_kw must be > 0")
        if self.rack_kw is not None and self.rack_kw <= 0:
            raise DomainError(f"site {self.name}: rack_kw must be > 0")

    @property
    def accelerators(self) -> int:
        return sum(p.accelerators for p in self.pools)


@dataclass(frozen=True, slots=True)
class Link:
    a: str
    b: str
    bandwidth_gbps: float
    latency_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.bandwidth_gbps <= 0 or self.latency_ms < 0:
            raise DomainError(f"link {self.a}-{self.b}: bandwidth must be > 0, latency >= 0")


@dataclass(frozen=True)
class Network:
    """The compute network: sites and the links between them."""

    name: str
    sites: tuple[Site, ...]
    links: tuple[Link, ...] = ()
    description: str = ""
    illustrative: bool = False  # built-in examples are models, not real inventories
    _by_name: dict[str, Site] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {s.name: s for s in self.sites}
        if len(by_name) != len(self.sites):
            raise DomainError(f"network {self.name}: site names must be unique")
        if not self.sites:
            raise DomainError(f"network {self.name}: needs at least one site")
        for link in self.links:
            for end in (link.a, link.b):
                if end not in by_name:
                    raise DomainError(f"link {link.a}-{link.b}: unknown site {end!r}")
        object.__setattr__(self, "_by_name", by_name)

    def site(self, name: str) -> Site:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownNameError("site", name, self._by_name) from None

    @property
    def accelerators(self) -> int:
        return sum(s.accelerators for s in self.sites)

    def scaled(self, factor: float) -> "Network":
        """The same network with every pool's node count scaled (at least one node)."""
        sites = tuple(
            dataclasses.replace(
                s,
                pools=tuple(
                    NodePool(p.name, p.shape, max(1, round(p.nodes * factor))) for p in s.pools
                ),
                # the facility shrinks with its pools
                power_cap_kw=None if s.power_cap_kw is None else s.power_cap_kw * factor,
            )
            for s in self.sites
        )
        return Network(self.name, sites, self.links, self.description, self.illustrative)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Network":
        try:
            profiles = data.get("profiles") or {}
            if not isinstance(profiles, Mapping):
                raise DomainError("network: profiles must map names to profiles")
            sites = tuple(_site_from_dict(s, profiles) for s in data["sites"])
            links = tuple(
                Link(
                    str(lk["a"]),
                    str(lk["b"]),
                    float(lk["bandwidth_gbps"]),
                    float(lk.get("latency_ms", 10.0)),
                )
                for lk in data.get("links", ())
            )
            return cls(
                name=str(data.get("name", "network")),
                sites=sites,
                links=links,
                description=str(data.get("description", "")),
                illustrative=bool(data.get("illustrative", False)),
            )
        except KeyError as exc:
            raise DomainError(f"network: missing field {exc}") from exc
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DomainError):
                raise
            raise DomainError(f"network: {exc}") from exc


def _site_from_dict(data: Mapping[str, Any], profiles: Mapping[str, Any]) -> Site:
    name = str(data["name"])
    try:
        pools: Sequence[Mapping[str, Any]] = data["pools"]
        coords = data.get("coordinates") or [None, None]
        return Site(
            name=name,
            pools=tuple(
                NodePool(
                    name=str(p["name"]),
                    shape=NodeShape(
                        accelerator=str(p["accelerator"]),
                        accelerators=int(p["accelerators_per_node"]),
                        cpus=int(p.get("cpus_per_node", 64)),
                        memory_gib=int(p.get("memory_gib_per_node", 512)),
                        interconnect=str(p.get("interconnect", "")),
                    ),
                    nodes=int(p["nodes"]),
                )
                for p in pools
            ),
            region=str(data.get("region", "")),
            latitude=None if coords[0] is None else float(coords[0]),
            longitude=None if coords[1] is None else float(coords[1]),
            pue=float(data.get("pue", 1.3)),
            power_cap_kw=None if data.get("power_cap_kw") is None else float(data["power_cap_kw"]),
            description=str(data.get("description", "")),
            rack_kw=None if data.get("rack_kw") is None else float(data["rack_kw"]),
            energy=_energy(data.get("energy"), profiles, name),
        )
    except KeyError as exc:
        raise DomainError(f"site {name}: missing field {exc}") from exc


def _energy(data: Any, profiles: Mapping[str, Any], site: str) -> SiteEnergy | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise DomainError(f"site {site}: energy must be a mapping")
    try:
        return SiteEnergy.from_dict(data, profiles)
    except DomainError as exc:
        raise DomainError(f"site {site}: {exc}") from None
