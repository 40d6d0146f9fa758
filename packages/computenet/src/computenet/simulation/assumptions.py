"""What a scenario adds to a trace that the trace does not say: stated assumptions.

Public traces record when jobs came, how big and how long they were, and nothing about
their data, their precision or their patience. A scenario's `workload` section may state:

    precision: fp16            every job runs at this precision (mixed-precision training)
    data:                      each tenant's datasets live at one home site
      home_sites: [a, b, c]    tenants, sorted by name, take these sites in turn
      gb_per_gpu: 50           dataset size: this many GB per accelerator of the job
    deferrable:                jobs with at least `min_work_h` of work (on the reference
      min_work_h: 1            accelerator) may wait for a better hour, and should finish
      slack_h: 12              within their work + `slack_h` of submission
    checkpoint_interval_s: 1800   every job saves its progress this often

Each choice is deterministic (no random draws), so a scenario replays exactly.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from computenet.domain.errors import DomainError
from computenet.domain.hardware import Precision
from computenet.domain.jobs import JobSpec
from computenet.domain.network import Network

KEYS = ("precision", "data", "deferrable", "checkpoint_interval_s")


def apply_assumptions(
    jobs: Sequence[JobSpec], workload: Mapping[str, Any], network: Network
) -> list[JobSpec]:
    changes: dict[str, Any] = {}
    if workload.get("precision") is not None:
        try:
            changes["precision"] = Precision(str(workload["precision"]).lower())
        except ValueError:
            valid = ", ".join(p.value for p in Precision)
            raise DomainError(f"workload.precision: one of {valid}") from None
    if workload.get("checkpoint_interval_s") is not None:
        changes["checkpoint_interval_s"] = _positive(workload, "checkpoint_interval_s")
    homes = _homes(jobs, workload.get("data"), network)
    gb_per_gpu = float((workload.get("data") or {}).get("gb_per_gpu", 0.0))
    deferrable = workload.get("deferrable")
    min_work_s = slack_s = 0.0
    if deferrable is not None:
        if not isinstance(deferrable, Mapping):
            raise DomainError("workload.deferrable: expected {min_work_h: H, slack_h: H}")
        min_work_s = float(deferrable.get("min_work_h", 0.0)) * 3600.0
        slack_s = _positive(deferrable, "slack_h") * 3600.0
    if not changes and not homes and deferrable is None:
        return list(jobs)
    out = []
    for job in jobs:
        extra = dict(changes)
        if homes:
            extra["dataset_site"] = homes[job.tenant]
            extra["dataset_gb"] = gb_per_gpu * max(job.accelerators, 1)
        work = job.work.reference_s
        if deferrable is not None and work is not None and work >= min_work_s:
            extra["deferrable"] = True
            extra["deadline_s"] = work + slack_s
        out.append(dataclasses.replace(job, **extra))
    return out


def _homes(jobs: Sequence[JobSpec], data: Any, network: Network) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, Mapping) or "home_sites" not in data:
        raise DomainError("workload.data: expected {home_sites: [...], gb_per_gpu: GB}")
    if float(data.get("gb_per_gpu", 0.0)) < 0:
        raise DomainError("workload.data.gb_per_gpu: must be >= 0")
    sites = [str(s) for s in data["home_sites"]]
    for site in sites:
        network.site(site)  # raises, listing the valid names
    if not sites:
        raise DomainError("workload.data.home_sites: name at least one site")
    tenants = sorted({j.tenant for j in jobs})
    return {t: sites[i % len(sites)] for i, t in enumerate(tenants)}


def _positive(data: Mapping[str, Any], key: str) -> float:
    try:
        value = float(data[key])
    except (KeyError, TypeError, ValueError):
        raise DomainError(f"{key}: expected a number") from None
    if value <= 0:
        raise DomainError(f"{key}: must be > 0")
    return value
