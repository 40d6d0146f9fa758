"""Domain objects to and from the plain mappings stored in JSON columns.

`job_spec_to_dict` writes what `JobSpec.from_dict` reads; `site_to_dict` writes one entry of
the ``sites`` list that `Network.from_dict` reads (the YAML network file format).
"""

from collections.abc import Mapping
from typing import Any

from computenet.domain.jobs import JobSpec
from computenet.domain.network import Network, Site


def job_spec_to_dict(spec: JobSpec) -> dict[str, Any]:
    work: dict[str, Any] = {
        "reference_accelerator": spec.work.reference_accelerator,
        "efficiency": spec.work.efficiency,
    }
    if spec.work.reference_s is not None:
        work["reference_s"] = spec.work.reference_s
    if spec.work.flops is not None:
        work["flops"] = spec.work.flops
    return {
        "id": spec.id,
        "tenant": spec.tenant,
        "kind": spec.kind.value,
        "submit_time": spec.submit_time,
        "work": work,
        "accelerators": spec.accelerators,
        "accelerator_milli": spec.accelerator_milli,
        "accelerator_types": sorted(spec.accelerator_types),
        "precision": spec.precision.value,
        "cpu_milli": spec.cpu_milli,
        "memory_mib": spec.memory_mib,
        "priority": spec.priority,
        "preemptible": spec.preemptible,
        "estimated_s": spec.estimated_s,
        "command": spec.command,
        "labels": dict(spec.labels),
        # placement hints: only when set, so specs stored before they existed compare equal
        **{k: v for k, v in _hints(spec).items() if v not in (None, False, 0.0)},
    }


def _hints(spec: JobSpec) -> dict[str, Any]:
    return {
        "dataset_site": spec.dataset_site,
        "dataset_gb": spec.dataset_gb,
        "deferrable": spec.deferrable,
        "deadline_s": spec.deadline_s,
        "checkpoint_interval_s": spec.checkpoint_interval_s,
    }


def job_spec_from_dict(data: Mapping[str, Any]) -> JobSpec:
    return JobSpec.from_dict(data)


def site_to_dict(site: Site) -> dict[str, Any]:
    data: dict[str, Any] = {"name": site.name}
    if site.description:
        data["description"] = site.description
    if site.region:
        data["region"] = site.region
    if site.latitude is not None or site.longitude is not None:
        data["coordinates"] = [site.latitude, site.longitude]
    data["pue"] = site.pue
    if site.power_cap_kw is not None:
        data["power_cap_kw"] = site.power_cap_kw
    data["pools"] = [
        {
            "name": pool.name,
            "accelerator": pool.shape.accelerator,
            "accelerators_per_node": pool.shape.accelerators,
            "cpus_per_node": pool.shape.cpus,
            "memory_gib_per_node": pool.shape.memory_gib,
            "interconnect": pool.shape.interconnect,
            "nodes": pool.nodes,
        }
        for pool in site.pools
    ]
    return data


def site_from_dict(data: Mapping[str, Any]) -> Site:
    """Parse one site mapping (validated as `Network.from_dict` validates it)."""
    return Network.from_dict({"name": "store", "sites": [data]}).sites[0]
