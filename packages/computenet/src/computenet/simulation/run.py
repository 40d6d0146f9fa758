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
            notes.append(f"The network '{s.network.name}' is illustrative, not a real inventory.")
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
        )


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
                        make_policy(name),
                        scenario.jobs,
                        fill_to=scenario.fill_to,
                        seed=scenario.seed,
                    )
                )
                bar.update(task, completed=1)
                continue
            task = bar.add_task(f"{name:>16}", total=len(scenario.jobs))
            sim = Simulation(
                scenario.network,
                scenario.catalog,
                make_policy(name),
                scenario.jobs,
                tenants=scenario.tenants,
                sample_points=scenario.sample_points,
            )

            def advance(done: int, total: int, task_id: TaskID = task) -> None:
                bar.update(task_id, completed=done)

            comparison.results.append(sim.run(progress=advance))
    return comparison
