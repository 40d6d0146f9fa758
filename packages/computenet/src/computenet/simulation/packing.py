"""The packing experiment of the GPU-sharing literature (e.g. FGD, ATC'23).

Tasks are drawn from a workload and arrive one after another with no departures; each is
placed at once or dropped. Arrivals stop when the GPUs requested reach `fill_to` of the
capacity; the figure is the share of GPU capacity allocated. Fragmentation shows as the
gap between what was asked and what could be placed.
"""

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from computenet.domain.errors import DomainError
from computenet.domain.hardware import Catalog
from computenet.domain.jobs import JobSpec
from computenet.domain.network import Network
from computenet.scheduling.cycle import Scheduler
from computenet.scheduling.framework import Policy
from computenet.simulation.results import PackingResult


def pack(
    network: Network,
    catalog: Catalog,
    policy: Policy,
    workload: Sequence[JobSpec],
    *,
    fill_to: float,
    seed: int = 0,
    curve_points: int = 200,
) -> PackingResult:
    if not workload:
        raise DomainError("packing: the workload is empty")
    if fill_to <= 0:
        raise DomainError("packing: fill_to must be > 0")
    started = time.perf_counter()
    sched = Scheduler(network, catalog, policy)
    # FGD weighs fragmentation against the target workload's task shapes, known upfront
    for spec in workload:
        policy.placer.observe(spec)
    capacity = sched.cluster.capacity_milli
    target = fill_to * capacity
    rng = np.random.default_rng(seed)
    requested = 0
    arrived = placed = 0
    step = max(1, int(target / 1000 / max(curve_points, 1)))  # curve sample every ~N GPUs
    curve: list[tuple[float, float]] = []
    next_mark = 0.0
    while requested < target:
        # draws in batches: one generator call per thousand tasks keeps runs reproducible
        for index in rng.integers(0, len(workload), size=1000):
            if requested >= target:
                break
            base = workload[int(index)]
            spec = dataclasses.replace(base, id=f"{base.id}#{arrived}", submit_time=float(arrived))
            now = float(arrived)
            arrived += 1
            requested += spec.device_milli
            sched.submit(spec, now)
            if sched.schedule(now).started:
                placed += 1
            else:
                sched.cancel(spec.id, now)
            if requested / 1000 >= next_mark:
                curve.append((requested / capacity, sched.cluster.allocated_milli / capacity))
                next_mark += step
    curve.append((requested / capacity, sched.cluster.allocated_milli / capacity))
    return PackingResult(
        policy=policy.name,
        fill_to=fill_to,
        capacity_milli=capacity,
        requested_milli=requested,
        allocated_milli=sched.cluster.allocated_milli,
        jobs_arrived=arrived,
        jobs_placed=placed,
        wall_s=time.perf_counter() - started,
        curve=tuple(curve),
    )
