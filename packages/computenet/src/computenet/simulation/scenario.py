"""Scenario files: a network, a workload, policies and a seed in one YAML file.

    name: philly-high-load
    network: philly-like           # a built-in name, a YAML path, or alibaba-nodes:PATH
    network_scale: 0.23            # optional: scale every pool's node count
    workload:
      trace: philly:${SHARED_DATA}/compute/philly_jobs.csv   # or synthetic:jobs=...
      limit: 20000                 # optional: the first N jobs
      load_scale: 1.0              # optional: arrivals come this many times faster
      precision: fp16              # optional assumptions: see simulation/assumptions.py
    tenants:                       # optional fair-share weights and quotas
      - {name: 6214e9, weight: 2, quota: {"*": 64}, borrowing_limit: {"*": 32}}
    policies: [fifo, sjf+backfill, las, sjf+backfill+green]
    profiles:                      # optional: policy profiles (weights) by name
      greener: {base: green, carbon: 8}
    tradeoff:                      # optional: sweep one weight of a profile
      {base: sjf+backfill, profile: green, weight: carbon, values: [0, 1, 3, 10]}
    start: 2017-09-04T10:30:41     # local time (UTC+8) of time 0; default: the trace's
    seed: 0
    fill_to: 1.3                   # optional: run the packing experiment instead

Relative paths resolve against the scenario file; `${VAR}` expands environment variables.
"""

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from computenet.data import load_catalog, load_network
from computenet.domain.economics import Calendar
from computenet.domain.errors import DomainError
from computenet.domain.hardware import AcceleratorModel, Catalog
from computenet.domain.jobs import JobSpec
from computenet.domain.network import Network
from computenet.domain.tenants import Tenant
from computenet.scheduling.policies import PROFILES
from computenet.scheduling.scoring import TERMS, Weights
from computenet.simulation.assumptions import KEYS as ASSUMPTIONS
from computenet.simulation.assumptions import apply_assumptions
from computenet.simulation.traces import (
    load_workload,
    parse_trace_arg,
    read_alibaba_nodes,
)

DEFAULT_NETWORK = "philly-like"


@dataclass(frozen=True)
class Tradeoff:
    """Sweep one weight of a profile on top of a base policy (the trade-off curve)."""

    base: str
    profile: str
    weight: str
    values: tuple[float, ...]

    def policy(self, value: float) -> str:
        return f"{self.base}+{self.profile}:{self.weight}={value:g}"


@dataclass
class Scenario:
    name: str
    network: Network
    catalog: Catalog
    jobs: list[JobSpec]
    workload_label: str
    policies: list[str] = field(default_factory=lambda: ["fifo", "backfill"])
    tenants: tuple[Tenant, ...] = ()
    seed: int = 0
    fill_to: float | None = None
    sample_points: int = 2000
    calendar: Calendar | None = None
    profiles: dict[str, Weights] = field(default_factory=dict)
    tradeoff: Tradeoff | None = None


def expand(text: str, base: Path | None) -> str:
    """Expand ${VAR} and make a relative path absolute against `base`."""
    value = os.path.expandvars(os.path.expanduser(text))
    if base is not None and value and not os.path.isabs(value) and ("/" in value or "." in value):
        candidate = base / value
        if candidate.exists():
            return str(candidate)
    return value


def resolve_network(
    spec: str, catalog: Catalog, base: Path | None = None
) -> tuple[Network, Catalog]:
    """A built-in name, a network YAML path, or `alibaba-nodes:PATH`. Accelerator models
    a trace names but the catalog lacks are added as placeholders (V100-like speed) so
    a foreign cluster can still be replayed; their notes say so."""
    fmt, sep, rest = spec.partition(":")
    if sep and fmt == "alibaba-nodes":
        network = read_alibaba_nodes(expand(rest, base))
        return network, with_placeholder_models(network, catalog)
    if sep and fmt not in ("network", "yaml"):
        raise DomainError(
            f"cluster {spec!r}: formats are alibaba-nodes:PATH or a network name/path"
        )
    return load_network(expand(rest if sep else spec, base)), catalog


def with_placeholder_models(network: Network, catalog: Catalog) -> Catalog:
    """The catalog plus a placeholder (V100 figures, said in its notes) for every model
    the network names but the catalog lacks, e.g. a trace's anonymised GPU types."""
    missing = {
        p.shape.accelerator
        for s in network.sites
        for p in s.pools
        if p.shape.accelerator not in catalog
    }
    if not missing:
        return catalog
    ref = catalog.get("V100")
    return catalog.with_models(
        AcceleratorModel(
            name=m,
            vendor="unknown",
            device_class=ref.device_class,
            memory_gib=ref.memory_gib,
            tdp_w=ref.tdp_w,
            tflops=ref.tflops,
            notes=f"placeholder for trace model {m!r}: V100 figures assumed",
        )
        for m in sorted(missing)
    )


def build_workload(
    trace: str,
    network: Network,
    *,
    seed: int = 0,
    limit: int | None = None,
    load_scale: float = 1.0,
    base: Path | None = None,
) -> list[JobSpec]:
    fmt, path, params = parse_trace_arg(trace)
    if fmt == "synthetic":
        params.setdefault("capacity", str(network.accelerators))
        params.setdefault("seed", str(seed))
        trace = "synthetic:" + ",".join(f"{k}={v}" for k, v in params.items())
    else:
        trace = f"{fmt}:{expand(path, base)}"
    jobs = load_workload(trace)
    if limit is not None:
        if limit <= 0:
            raise DomainError("limit must be > 0")
        jobs = jobs[:limit]
    if load_scale != 1.0:
        if load_scale <= 0:
            raise DomainError("load_scale must be > 0")
        jobs = [dataclasses.replace(j, submit_time=j.submit_time / load_scale) for j in jobs]
    return jobs


def load_scenario(path: str | Path) -> Scenario:
    return build_scenario(Path(path))


def scenario_from_dict(
    data: Mapping[str, Any], *, base: Path | None = None, name: str = "scenario"
) -> Scenario:
    known = {
        "name",
        "network",
        "network_scale",
        "workload",
        "tenants",
        "policies",
        "profiles",
        "tradeoff",
        "start",
        "utc_offset_h",
        "seed",
        "fill_to",
        "sample_points",
        "description",
    }
    unknown = set(data) - known
    if unknown:
        raise DomainError(f"scenario: unknown field(s) {sorted(unknown)}; valid: {sorted(known)}")
    catalog = load_catalog()
    network, catalog = resolve_network(str(data.get("network", DEFAULT_NETWORK)), catalog, base)
    scale = float(data.get("network_scale", 1.0))
    if scale != 1.0:
        network = network.scaled(scale)
    workload = data.get("workload")
    if not isinstance(workload, Mapping) or "trace" not in workload:
        raise DomainError("scenario: workload.trace is required (e.g. philly:PATH or synthetic:)")
    seed = int(data.get("seed", 0))
    limit = workload.get("limit")
    unknown = set(workload) - {"trace", "limit", "load_scale", *ASSUMPTIONS}
    if unknown:
        raise DomainError(f"scenario: unknown workload field(s) {sorted(unknown)}")
    jobs = build_workload(
        str(workload["trace"]),
        network,
        seed=seed,
        limit=None if limit is None else int(limit),
        load_scale=float(workload.get("load_scale", 1.0)),
        base=base,
    )
    jobs = apply_assumptions(jobs, workload, network)
    policies = data.get("policies") or ["fifo", "backfill"]
    if isinstance(policies, str) or not isinstance(policies, Sequence):
        policies = [str(policies)]
    tenants = tuple(_tenant(t) for t in data.get("tenants") or ())
    profiles = _profiles(data.get("profiles"))
    fill_to = data.get("fill_to")
    return Scenario(
        name=str(data.get("name", name)),
        network=network,
        catalog=catalog,
        jobs=jobs,
        workload_label=str(workload["trace"]),
        policies=[str(p) for p in policies],
        tenants=tenants,
        seed=seed,
        fill_to=None if fill_to is None else float(fill_to),
        sample_points=int(data.get("sample_points", 2000)),
        calendar=_calendar(data, jobs),
        profiles=profiles,
        tradeoff=_tradeoff(data.get("tradeoff"), profiles),
    )


def _tenant(data: Any) -> Tenant:
    if not isinstance(data, Mapping) or "name" not in data:
        raise DomainError("scenario: each tenant needs a name")

    def counts(key: str) -> dict[str, int]:
        value = data.get(key) or {}
        if not isinstance(value, Mapping):
            raise DomainError(f"tenant {data['name']}: {key} maps accelerator keys to counts")
        return {str(k): int(v) for k, v in value.items()}

    return Tenant(
        str(data["name"]),
        float(data.get("weight", 1.0)),
        quota=counts("quota"),
        cohort=str(data.get("cohort", "network")),
        borrowing_limit=counts("borrowing_limit"),
        lending_limit=counts("lending_limit"),
    )


def _profiles(data: Any) -> dict[str, Weights]:
    """Named profiles: `{name: {base: green, carbon: 8, shift: true, max_defer_h: 12}}`."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DomainError("scenario: profiles map names to weights")
    out: dict[str, Weights] = {}
    for name, given in data.items():
        params = dict(given or {})
        base = str(params.pop("base", "score"))
        known = {**PROFILES, **out}
        if base not in known:
            raise DomainError(f"profile {name}: unknown base {base!r}; valid: {sorted(known)}")
        out[str(name).lower()] = known[base].with_params(params)
    return out


def _tradeoff(data: Any, profiles: Mapping[str, Weights]) -> Tradeoff | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise DomainError("scenario: tradeoff is {base, profile, weight, values}")
    profile = str(data.get("profile", "green"))
    weight = str(data.get("weight", "carbon"))
    if profile not in {**PROFILES, **profiles}:
        raise DomainError(f"tradeoff: unknown profile {profile!r}")
    if weight not in TERMS:
        raise DomainError(f"tradeoff: weight is one of {', '.join(TERMS)}")
    values = tuple(float(v) for v in data.get("values") or ())
    if not values:
        raise DomainError("tradeoff: give the weight's values")
    return Tradeoff(str(data.get("base", "fifo")), profile, weight, values)


def _calendar(data: Mapping[str, Any], jobs: Sequence[JobSpec]) -> Calendar:
    """Local time of time 0: `start`, else the trace's first arrival, else 1970."""
    start = data.get("start") or (jobs[0].labels.get("start") if jobs else None)
    offset = float(data.get("utc_offset_h", 8.0))
    if start is None:
        return Calendar(0.0, offset)
    return Calendar.starting(str(start), offset)


def build_scenario(
    path: Path | None,
    *,
    trace: str | None = None,
    cluster: str | None = None,
    policies: Sequence[str] | None = None,
    seed: int | None = None,
    limit: int | None = None,
    load_scale: float | None = None,
    network_scale: float | None = None,
    fill_to: float | None = None,
) -> Scenario:
    """A scenario file with command-line overrides, or one made from the options alone."""
    if path is None and trace is None:
        raise DomainError("give a SCENARIO file or --trace FORMAT:PATH")
    data: dict[str, Any] = {}
    base: Path | None = None
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DomainError(f"scenario {path}: no such file") from None
        except yaml.YAMLError as exc:
            raise DomainError(f"scenario {path}: not valid YAML ({exc})") from None
        if not isinstance(loaded, Mapping):
            raise DomainError(f"scenario {path}: expected a mapping at the top")
        data = dict(loaded)
        data.setdefault("name", Path(path).stem)
        base = Path(path).parent
    # command-line values override the file's
    workload = dict(data.get("workload") or {})
    for key, value in (("trace", trace), ("limit", limit), ("load_scale", load_scale)):
        if value is not None:
            workload[key] = value
    data["workload"] = workload
    overrides = {
        "network": cluster,
        "policies": list(policies) if policies else None,
        "seed": seed,
        "network_scale": network_scale,
        "fill_to": fill_to,
    }
    data.update({k: v for k, v in overrides.items() if v is not None})
    data.setdefault("name", "simulation")
    return scenario_from_dict(data, base=base, name=str(data["name"]))
