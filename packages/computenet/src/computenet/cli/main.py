"""`computenet`: the command-line interface.

Exit codes: 0 success, 1 unexpected failure, 2 bad input (usage, files, values).
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from computenet import __version__
from computenet.cli.service_commands import register as register_service_commands
from computenet.domain.errors import DomainError

app = typer.Typer(
    name="computenet",
    help="AI compute network (智算网络): scheduling across compute centers, and a trace-driven simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"computenet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """AI compute network (智算网络)."""


@app.command()
def simulate(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario YAML (network, workload, policies, seed).")
    ] = None,
    trace: Annotated[
        str | None,
        typer.Option(
            help="Workload FORMAT:PATH — philly:FILE, alibaba-pods:FILE, synthetic:jobs=N,tenants=K,load=X"
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Network: a built-in name, a network YAML, or alibaba-nodes:FILE (default philly-like)."
        ),
    ] = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy", "-p", help="Policy name; repeat to compare (e.g. fifo, sjf+backfill, las)."
        ),
    ] = None,
    fill_to: Annotated[
        float | None,
        typer.Option(
            help="Packing experiment: arrivals only, until requests reach PCT % of capacity (e.g. 130)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (synthetic workloads, packing draws).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Use only the first N jobs of the workload.")
    ] = None,
    load_scale: Annotated[
        float | None, typer.Option(help="Arrivals come this many times faster (raises load).")
    ] = None,
    network_scale: Annotated[
        float | None, typer.Option(help="Scale every pool's node count by this factor.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write PNG plots and index.html into this directory.")
    ] = None,
    tradeoff: Annotated[
        bool,
        typer.Option(
            "--tradeoff/--no-tradeoff", help="Run the scenario's trade-off sweep, if it has one."
        ),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON on stdout.")
    ] = False,
) -> None:
    """Replay a workload on a network under one or more policies and compare them."""
    from computenet.scheduling.policies import make_policy
    from computenet.simulation.run import Comparison, policy_names, run_comparison
    from computenet.simulation.scenario import build_scenario

    try:
        scen = build_scenario(
            scenario,
            trace=trace,
            cluster=cluster,
            policies=policy,
            seed=seed,
            limit=limit,
            load_scale=load_scale,
            network_scale=network_scale,
            fill_to=None if fill_to is None else fill_to / 100.0,
        )
        if not tradeoff:
            scen.tradeoff = None
        for name in policy_names(scen):
            make_policy(name, scen.profiles)  # fail on a bad name before any long work
    except (DomainError, OSError) as exc:
        raise _fail(str(exc)) from None

    quiet = as_json or not sys.stderr.isatty()
    comparison: Comparison = run_comparison(scen, progress=not quiet, console=err)
    if report is not None:
        index = comparison.write_report(report)
        err.print(f"report: {index}")
    if as_json:
        typer.echo(json.dumps(comparison.to_json(), indent=2, sort_keys=True))
        return
    _print_table(comparison.table_header(), comparison.table_rows(), title=comparison.title)


def _print_table(header: list[str], rows: list[list[str]], title: str) -> None:
    table = Table(title=title, title_justify="left", expand=False)
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(escape(row[0]), *row[1:])
    # a pipe or a file gets the whole table, not one cut to 80 columns
    Console(width=None if sys.stdout.isatty() else 400).print(table)


@app.command()
def catalog(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the accelerator catalog (datasheet peaks in TFLOPS, dense)."""
    from computenet.data import load_catalog

    models = list(load_catalog())
    precisions = ["fp64", "fp32", "tf32", "bf16", "fp16", "int8"]
    if as_json:
        out: list[dict[str, Any]] = [
            {
                "name": m.name,
                "vendor": m.vendor,
                "class": m.device_class.value,
                "memory_gib": m.memory_gib,
                "tdp_w": m.tdp_w,
                "tflops": {p.value: v for p, v in m.tflops.items()},
                "sources": list(m.sources),
            }
            for m in models
        ]
        typer.echo(json.dumps(out, indent=2))
        return
    rows = [
        [m.name, m.vendor, m.device_class.value, f"{m.memory_gib:g}", f"{m.tdp_w:g}"]
        + [next((f"{v:g}" for p, v in m.tflops.items() if p.value == q), "—") for q in precisions]
        for m in models
    ]
    _print_table(
        ["model", "vendor", "class", "GiB", "TDP W", *precisions], rows, "Accelerator catalog"
    )


@app.command()
def networks(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the built-in example networks."""
    from computenet.data import load_network, network_names

    nets = [load_network(n) for n in network_names()]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": n.name,
                        "sites": len(n.sites),
                        "accelerators": n.accelerators,
                        "illustrative": n.illustrative,
                    }
                    for n in nets
                ],
                indent=2,
            )
        )
        return
    rows = [
        [n.name, str(len(n.sites)), str(n.accelerators), "yes" if n.illustrative else "no"]
        for n in nets
    ]
    _print_table(["network", "sites", "accelerators", "illustrative"], rows, "Built-in networks")


register_service_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
