"""Which backend runs each site, and how to reach it: the `backend:` entry of a site.

In a network YAML (or the body of `POST /v1/sites`), next to the site's pools:

    backend: {kind: local}                                   # the default
    backend: {kind: slurm, conf: /etc/slurm/slurm.conf, partition: gpu,
              gres_types: {A100: a100}, sbatch_args: [--account=lab], spool: /shared/cn}
    backend: {kind: ray, address: 10.0.0.5:6379, resources: {A100: A100}, spool: /shared/cn}

`spool` is where the backend keeps its run files and where the jobs write their logs: on a
cluster backend it must be a directory the cluster's nodes share with the service (default
`DATA_DIR/sites/SITE`, right when the service runs on the cluster's login node with a
shared home). The built-in networks have no backend entries: every site runs locally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from computenet.backends.base import ExecutionBackend
from computenet.backends.local import LocalBackend
from computenet.backends.ray import RayBackend
from computenet.backends.slurm import SlurmBackend
from computenet.domain.errors import DomainError

__all__ = [
    "LocalSite",
    "RaySite",
    "SiteBackend",
    "SlurmSite",
    "backend_entries",
    "make_backend",
    "parse_backend",
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    spool: str | None = None  # run files and logs (default DATA_DIR/sites/SITE)


class LocalSite(_Entry):
    kind: Literal["local"] = "local"


class SlurmSite(_Entry):
    kind: Literal["slurm"]
    conf: str | None = None  # SLURM_CONF for the commands; None: Slurm's default
    partition: str | None = None
    gres_types: dict[str, str] = Field(default_factory=dict)  # catalog model -> GRES type
    sbatch_args: list[str] = Field(default_factory=list)  # e.g. --account=lab, --qos=high
    poll_interval_s: float = Field(default=1.0, gt=0)


class RaySite(_Entry):
    kind: Literal["ray"]
    address: str  # the cluster's GCS, host:port
    resources: dict[str, str] = Field(default_factory=dict)  # catalog model -> resource
    strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = "SPREAD"
    grace_s: float = Field(default=5.0, ge=0)
    driver_prefix: list[str] = Field(default_factory=list)  # e.g. [ssh, head-node]
    poll_interval_s: float = Field(default=0.5, gt=0)


SiteBackend = Annotated[LocalSite | SlurmSite | RaySite, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[LocalSite | SlurmSite | RaySite] = TypeAdapter(SiteBackend)


def parse_backend(
    data: Mapping[str, Any] | None, site: str = ""
) -> LocalSite | SlurmSite | RaySite:
    """The backend entry of a site (local when absent); DomainError naming the bad field."""
    if data is None:
        return LocalSite()
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DomainError(f"site {site}: backend.{where}: {first['msg']}") from None


def backend_entries(network: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The `backend:` entries of a network file's sites (none for a built-in network)."""
    path = Path(network)
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = {}
    for site in data.get("sites") or ():
        if isinstance(site, Mapping) and site.get("backend") is not None:
            parse_backend(site["backend"], str(site.get("name")))  # fail at start, not later
            entries[str(site["name"])] = dict(site["backend"])
    return entries


def make_backend(
    site: str,
    entry: LocalSite | SlurmSite | RaySite,
    data_dir: Path,
    *,
    local_devices_per_node: int = 0,
) -> ExecutionBackend:
    """The backend of one site."""
    root = Path(entry.spool) / site if entry.spool else Path(data_dir) / "sites" / site
    if isinstance(entry, SlurmSite):
        return SlurmBackend(
            root,
            conf=entry.conf,
            partition=entry.partition,
            gres_types=entry.gres_types,
            extra_args=entry.sbatch_args,
            poll_interval_s=entry.poll_interval_s,
        )
    if isinstance(entry, RaySite):
        return RayBackend(
            root,
            address=entry.address,
            resources=entry.resources,
            strategy=entry.strategy,
            grace_s=entry.grace_s,
            driver_prefix=entry.driver_prefix,
            poll_interval_s=entry.poll_interval_s,
        )
    return LocalBackend(root, devices_per_node=local_devices_per_node)
