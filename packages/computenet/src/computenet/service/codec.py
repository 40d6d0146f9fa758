"""Placements to and from the plain mappings the store keeps (JSON columns)."""

from typing import Any

from computenet.scheduling.cluster import ClusterState, Placement, Slot


def placement_to_dict(placement: Placement, cluster: ClusterState) -> dict[str, Any]:
    pool = cluster.pools[placement.pool]
    first = pool.nodes[0].id if pool.nodes else 0
    return {
        "site": pool.site,
        "pool": pool.name,
        "accelerator": pool.model.name,
        "slots": [
            {
                "node": slot.node - first,  # index within the pool: stable across restarts
                "devices": list(slot.devices),
                "milli": slot.milli,
                "cpu_milli": slot.cpu_milli,
                "memory_mib": slot.memory_mib,
            }
            for slot in placement.slots
        ],
    }


def placement_from_dict(data: dict[str, Any], cluster: ClusterState) -> Placement:
    """The placement a stored mapping names in `cluster` (KeyError when the site or pool
    is gone)."""
    for pool in cluster.pools:
        if pool.site == data["site"] and pool.name == data["pool"]:
            first = pool.nodes[0].id
            slots = tuple(
                Slot(
                    first + int(s["node"]),
                    tuple(int(d) for d in s["devices"]),
                    int(s["milli"]),
                    int(s.get("cpu_milli", 0)),
                    int(s.get("memory_mib", 0)),
                )
                for s in data["slots"]
            )
            return Placement(pool.id, slots)
    raise KeyError(f"{data['site']}/{data['pool']}")
