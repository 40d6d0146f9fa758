"""Running a scenario under each of its policies, with a progress bar, and presenting the
comparison (table rows, JSON, report)."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from computenet.scheduling.policies import make_policy
from computenet.simulation.engine import Simulation
from computenet.simulation.packing import pack
from computenet.simulation.results import PackingResult, PolicyResult
from computenet.simulation.scenario import Scenario


@dataclass
class Comparison:
    scenario: Scenario
    results: list[PolicyResult] = field(default_factory=list)
    packing: list[PackingResult] = field(default_factory=list)
    tradeoff: list[PolicyResult] = field(default_factory=list)  # one per swept value

    @property
    def title(self) -> str:
        s = self.scenario
        what = "packing" if s.fill_to is not None else "simulation"
        return (
            f"{s.name}: {what} of {len(s.jobs):,} jobs ({s.workload_label}) on "
            f"{s.network.name} ({s.network.accelerators:,} accelerators, {len(s.network.sites)} sites)"
        )

    def to_json(self) -> dict[str, Any]:
        s = self.scenario
        out: dict[str, Any] = {
            "scenario": s.name,
            "workload": s.workload_label,
            "jobs": len(s.jobs),
            "network": s.network.name,
            "accelerators": s.network.accelerators,
            "seed": s.seed,
        }
        if s.fill_to is not None:
            out["experiment"] = "packing"
            out["policies"] = {p.policy: p.summary() for p in self.packing}
        else:
            out["experiment"] = "simulation"
            out["policies"] = {r.policy: r.summary() for r in self.results}
        if s.tradeoff is not None and self.tradeoff:
            out["tradeoff"] = {
                "base": s.tradeoff.base,
                "profile": s.tradeoff.profile,
                "weight": s.tradeoff.weight,
                "points": [
                    {"value": v, "policy": r.policy, **_point(r)}
                    for v, r in zip(s.tradeoff.values, self.tradeoff, strict=True)
                ],
            }
        plain: dict[str, Any] = json.loads(json.dumps(out))  # plain types only
        return plain

    def table_header(self) -> list[str]:
        from computenet.simulation.report import PACKING_COLUMNS, SUMMARY_COLUMNS

        return list(PACKING_COLUMNS if self.scenario.fill_to is not None else SUMMARY_COLUMNS)

    def table_rows(self) -> list[list[str]]:
        from computenet.simulation.report import packing_table_rows, summary_table_rows

        if self.scenario.fill_to is not None:
            return packing_table_rows(self.packing)
        return summary_table_rows(self.results)

    def write_report(self, out_dir: Path) -> Path:
        from computenet.simulation.report import write_report

        s = self.scenario
        notes = []
        if s.network.illustrative:
            notes.append(
                f"The network '{s.network.name}' is illustrative, not a real inventory "
                "(energy mix and prices included, where it has them)."
            )
        if any(j.labels.get("synthetic") == "true" for j in s.jobs[:1]):
            notes.append("The workload is synthetic (generated), not a real trace.")
        return write_report(
            out_dir,
            self.results,
            title=self.title,
            workload=s.workload_label,
            network=f"{s.network.name}: {s.network.accelerators:,} accelerators in {len(s.network.sites)} sites",
            packing=self.packing,
            notes=notes,
            tradeoff=None
            if s.tradeoff is None or not self.tradeoff
            else (s.tradeoff.weight, list(zip(s.tradeoff.values, self.tradeoff, strict=True))),
        )


def _point(r: PolicyResult) -> dict[str, Any]:
    s = r.summary()
    keys = ("avg_jct_s", "avg_wait_s", "energy_kwh", "carbon_kg", "cost", "green_share")
    extra = ("deferred_jobs", "site_waits", "avg_site_wait_s", "deadline_misses", "wall_s")
    return {k: s[k] for k in (*keys, *extra)}


def run_comparison(
    scenario: Scenario, *, progress: bool = True, console: Console | None = None
) -> Comparison:
    """Every policy of the scenario on the same workload, one after another."""
    comparison = Comparison(scenario)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    )
    with bar:
        for name in scenario.policies:
            if scenario.fill_to is not None:
                task = bar.add_task(f"packing {name}", total=1)
                comparison.packing.append(
                    pack(
                        scenario.network,
                        scenario.catalog,
                        make_policy(name, scenario.profiles),
                        scenario.jobs,
                        fill_to=scenario.fill_to,
                        seed=scenario.seed,
                    )
                )
                bar.update(task, completed=1)
                continue
            comparison.results.append(_simulate(scenario, name, bar))
        if scenario.tradeoff is not None and scenario.fill_to is None:
            for value in scenario.tradeoff.values:
                name = scenario.tradeoff.policy(value)
                comparison.tradeoff.append(_simulate(scenario, name, bar))
    return comparison


def policy_names(scenario: Scenario) -> list[str]:
    """Every policy the scenario runs (the comparison's, then the trade-off sweep's)."""
    names = list(scenario.policies)
    if scenario.tradeoff is not None and scenario.fill_to is None:
        names += [scenario.tradeoff.policy(v) for v in scenario.tradeoff.values]
    return names


def _simulate(scenario: Scenario, name: str, bar: Progress) -> PolicyResult:
    task = bar.add_task(f"{name:>16}", total=len(scenario.jobs))
    sim = Simulation(
        scenario.network,
        scenario.catalog,
        make_policy(name, scenario.profiles),
        scenario.jobs,
        tenants=scenario.tenants,
        sample_points=scenario.sample_points,
        calendar=scenario.calendar,
    )

    def advance(done: int, total: int, task_id: TaskID = task) -> None:
        bar.update(task_id, completed=done)

    return sim.run(progress=advance)
