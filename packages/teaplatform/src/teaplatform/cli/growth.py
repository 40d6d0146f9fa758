"""`teaplatform growth …`: fit the flush model on the real series, show it, forecast windows.

``window --plot`` reads the store directly (it changes nothing); ``window --station`` and
``fit`` read the real CSV files of the shared data.
"""

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store

if TYPE_CHECKING:
    from teaplatform.garden.growth_service import WindowAnswer

growth_app = typer.Typer(help="Shoot growth and the picking window (growing degree days).")
console = Console()
DEFAULT_DATA = "../shared/data"


def _data_dir(data: Path | None) -> Path:
    return data or Path(os.environ.get("SHARED_DATA", DEFAULT_DATA))


def _when(text: str | None, option: str) -> datetime:
    if text is None:
        return datetime.now().replace(microsecond=0)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: {text!r} is not a date (YYYY-MM-DD) or a date and time")


DataOpt = Annotated[
    Path | None, typer.Option("--data", help="shared data directory [default: $SHARED_DATA]")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


@growth_app.command()
def fit(
    data: DataOpt = None,
    cutoff: Annotated[str, typer.Option(help="time split: held out from this date")] = "2024-10-01",
    out: Annotated[
        Path | None, typer.Option(help="write growth_params.json + growth_climatology.csv here")
    ] = None,
    plots: Annotated[Path | None, typer.Option(help="write growth_*.png figures here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit the flush model on the real garden series and report its held-out errors."""
    from teaplatform.garden.growth_data import GardenDataError
    from teaplatform.garden.growth_params import build, differences, shipped, write

    try:
        outcome = build(_data_dir(data), _when(cutoff, "--cutoff"))
    except (GardenDataError, ValueError) as exc:
        _fail(str(exc))
    diff = differences(outcome.document, shipped().document)
    written = [str(p) for p in write(outcome, out)] if out else []
    if plots:
        from teaplatform.garden.growth_plot import plot_base_profile, plot_fit

        written.append(str(plot_fit(outcome.data, outcome.validation, plots / "growth_fit.png")))
        written.append(str(plot_base_profile(outcome.validation, plots / "growth_base_temp.png")))
    if as_json:
        typer.echo(
            json.dumps(
                {**outcome.document, "matches_shipped": not diff, "differences": diff[:20]},
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    _print_fit(outcome.document)
    if diff:
        console.print(f"[yellow]differs from the shipped parameters[/yellow] ({len(diff)}):")
        for line in diff[:10]:
            console.print(f"  {line}")
    else:
        console.print("[green]reproduces the shipped parameters[/green]")
    for path in written:
        console.print(f"wrote {path}")


def _print_fit(doc: dict[str, Any]) -> None:
    model, validation = doc["model"], doc["validation"]
    params = Table(title="flush model (all cycles) — shipped")
    params.add_column("parameter")
    params.add_column("value", justify="right")
    params.add_column("train only", justify="right")
    for key, value in model.items():
        params.add_row(key, f"{value:g}", f"{validation['model_train_only'][key]:g}")
    console.print(params)

    errors = Table(title=f"held-out density (rising days from {validation['cutoff'][:10]})")
    for col in ("predictor", "MAE", "RMSE", "days"):
        errors.add_column(col, justify="left" if col == "predictor" else "right")
    for name, err in validation["held_out_tsdi"].items():
        if isinstance(err, dict):
            errors.add_row(name, f"{err['mae']:.2f}", f"{err['rmse']:.2f}", str(err["n"]))
    console.print(errors)

    timing = Table(title="held-out picking windows (days: predicted − observed)")
    for col in ("cycle", "observed", "predicted", "open", "peak", "close", "fcst", "cal"):
        timing.add_column(col, no_wrap=True)
    for c in validation["held_out_cycles"]:
        obs, pred = c["observed"], c["predicted"]
        timing.add_row(
            c["cycle"],
            f"{obs['opens'][5:]}→{obs['closes'][5:]}",
            f"{pred['opens'][5:]}→{pred['closes'][5:]}",
            f"{c['open_error_days']:+d}",
            f"{c['peak_error_days']:+d}",
            f"{c['close_error_days']:+d}",
            f"{c['forecast_open_error_days']:+d}",
            f"{c['days_model_open_error_days']:+d}",
        )
    mae = validation["held_out_timing_mae_days"]
    timing.add_row(
        "MAE",
        "",
        "",
        f"{mae['open_error_days']:.2f}",
        f"{mae['peak_error_days']:.2f}",
        f"{mae['close_error_days']:.2f}",
        f"{mae['forecast_open_error_days']:.2f}",
        f"{mae['days_model_open_error_days']:.2f}",
    )
    console.print(timing)
    console.print(
        "fcst = forecast issued at the cutoff with a climatology of earlier data; "
        "cal = the same curve in calendar days (baseline)"
    )


@growth_app.command()
def model(as_json: JsonOpt = False) -> None:
    """Show the shipped parameters, their validation and provenance."""
    from teaplatform.garden.growth_params import shipped

    doc = shipped().document
    if as_json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    _print_fit(doc)
    console.print(f"source: {doc['provenance']['dataset']}")


@growth_app.command()
def window(
    plot: Annotated[int | None, typer.Option(help="a plot of the store")] = None,
    station: Annotated[
        str | None, typer.Option(help="a real station file instead: WS01…WS04")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="the last pick (YYYY-MM-DD[THH:MM]), local time")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="forecast time [default: now]")
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The expected picking window of a plot (its readings) or of a real station series."""
    from teaplatform.garden.growth_data import GardenDataError
    from teaplatform.garden.growth_service import WindowAnswer, WindowRequestError, station_window

    if (plot is None) == (station is None):
        _fail("give exactly one of --plot ID or --station WS0N")
    if since is None:
        _fail("--since (the date of the last pick) is required")
    start, now = _when(since, "--since"), _when(as_of, "--as-of")
    answer: WindowAnswer
    try:
        if station is not None:
            answer = station_window(_data_dir(data), station, since=start, as_of=now)
        else:
            assert plot is not None
            answer = _plot_window(plot, start, now)
    except (WindowRequestError, GardenDataError, LookupError) as exc:
        _fail(str(exc))
    result = answer.to_dict()
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"picking window — {answer.source}")
    table.add_column("")
    table.add_column("")
    for key in ("since", "as_of", "status", "gdd_so_far", "gdd_needed", "progress"):
        table.add_row(key, str(result[key]))
    table.add_row("expected TSDI", str(result["expected_tsdi"]))
    table.add_row("opens", str(result["opens"]))
    table.add_row("peak", str(result["peak"]))
    table.add_row("closes", str(result["closes"]))
    table.add_row(
        "hours observed / filled", f"{result['observed_hours']} / {result['filled_hours']}"
    )
    table.add_row(
        "held-out opening error",
        f"{result['model']['held_out_open_mae_days']} days MAE (3 autumn cycles)",
    )
    console.print(table)


def _plot_window(plot: int, since: datetime, as_of: datetime) -> "WindowAnswer":
    from teaplatform.garden.growth_service import plot_window

    with migrated_store() as store, store.session() as session:
        return plot_window(session, plot, since=since, as_of=as_of)


def register(app: typer.Typer) -> None:
    app.add_typer(growth_app, name="growth")
