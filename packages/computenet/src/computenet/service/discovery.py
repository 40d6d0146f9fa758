"""A compute center describes itself: its pools read from its Slurm or Ray cluster.

    site = slurm_site("hpc-a", conf="/etc/slurm/slurm.conf", partition="gpu")
    # {"name": "hpc-a", "pools": [...], "backend": {"kind": "slurm", ...}}: POST /v1/sites

Used by `computenet site add --from-slurm/--from-ray`, on a machine that can reach the
cluster (a Slurm submit host; a host that reaches the Ray head).
"""

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from computenet.backends.ray import RayBackend, pools_from_ray_nodes
from computenet.backends.slurm import SlurmBackend
from computenet.data import load_catalog
from computenet.domain.errors import DomainError


def _backend_entry(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, **{k: v for k, v in fields.items() if v not in (None, {}, [], ())}}


def slurm_site(
    name: str,
    *,
    conf: str | None = None,
    partition: str | None = None,
    gres_types: Mapping[str, str] | None = None,
    spool: str | None = None,
) -> dict[str, Any]:
    """The site entry of a Slurm cluster: one pool per shape of GPU node (`scontrol`)."""
    catalog = load_catalog()
    inverse = {v: k for k, v in (gres_types or {}).items()}
    by_lower = {m.name.lower(): m.name for m in catalog}

    def model(gres_type: str) -> str:
        found = inverse.get(gres_type) or by_lower.get(gres_type.lower())
        if found is None:
            raise DomainError(
                f"GRES type {gres_type!r} is no catalog model: map it with --gres-type MODEL={gres_type}"
            )
        return found

    with tempfile.TemporaryDirectory() as tmp:
        backend = SlurmBackend(Path(tmp), conf=conf, partition=partition, gres_types=gres_types)
        pools = backend.discover(model)
    if not pools:
        raise DomainError("no GPU nodes with typed GRES found (scontrol show node)")
    backend_entry = _backend_entry(
        "slurm", conf=conf, partition=partition, gres_types=dict(gres_types or {}), spool=spool
    )
    return {"name": name, "pools": pools, "backend": backend_entry}


def ray_site(
    name: str,
    *,
    address: str,
    resources: Mapping[str, str] | None = None,
    driver_prefix: Sequence[str] = (),
    spool: str | None = None,
) -> dict[str, Any]:
    """The site entry of a Ray cluster: one pool per shape of node (`ray.nodes()`); a
    resource is an accelerator when it is a catalog model or mapped to one."""
    catalog = {m.name for m in load_catalog()}
    inverse = {v: k for k, v in (resources or {}).items()}

    def model(resource: str) -> str | None:
        return inverse.get(resource) or (resource if resource in catalog else None)

    with tempfile.TemporaryDirectory() as tmp:
        backend = RayBackend(
            Path(tmp), address=address, resources=resources, driver_prefix=driver_prefix
        )
        try:
            nodes = backend.cluster_resources()["nodes"]
        finally:
            backend.close()
    pools = pools_from_ray_nodes(nodes, model)
    if not pools:
        raise DomainError("no Ray node offers an accelerator resource of the catalog")
    backend_entry = _backend_entry(
        "ray",
        address=address,
        resources=dict(resources or {}),
        driver_prefix=list(driver_prefix),
        spool=spool,
    )
    return {"name": name, "pools": pools, "backend": backend_entry}
