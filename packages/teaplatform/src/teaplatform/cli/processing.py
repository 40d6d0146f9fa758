"""`teaplatform processing …`: recipes, batches, alarms and batch records.

Commands work on the store directly (`Settings` → `Store`, migrated first), like the server's
own use cases; times default to now and take ``--at`` for back-filling a paper log.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store, parse_time

processing_app = typer.Typer(help="Processing: recipes of the five teas, batches, alarms.")
batch_app = typer.Typer(help="Batches: create, start, advance, show, record.", no_args_is_help=True)
processing_app.add_typer(batch_app, name="batch")
console = Console()
T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="when it happened (ISO; naive = UTC) [default: now]")
]


def _at(text: str | None) -> datetime:
    return parse_time(text) or datetime.now(UTC)


@contextmanager
def _session() -> Iterator[Session]:
    """A unit of work on the configured store; the service's errors become exit code 2."""
    from teaplatform.processing.batch import TransitionError
    from teaplatform.processing.service import BatchInputError, BatchNotFoundError

    try:
        with migrated_store() as store, store.session() as session:
            yield session
    except (BatchInputError, BatchNotFoundError, TransitionError) as exc:
        _fail(str(exc))


def _run(action: Callable[[Session], T]) -> T:
    with _session() as session:
        return action(session)


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@processing_app.command()
def recipes(as_json: JsonOpt = False) -> None:
    """List the recipes of the five teas."""
    from teaplatform.processing.recipe import builtin

    found = builtin()
    if as_json:
        _echo_json([r.model_dump(mode="json") for r in found.values()])
        return
    table = Table(title="recipes")
    for col in ("name", "tea", "名称", "stages", "typical h"):
        table.add_column(col)
    for r in found.values():
        stages = " → ".join(s.name_zh for s in r.stages)
        table.add_row(r.name, r.tea_type, r.name_zh, stages, f"{r.typical_minutes / 60:.1f}")
    console.print(table)


@processing_app.command()
def recipe(name: str, as_json: JsonOpt = False) -> None:
    """Show one recipe: stages, durations, ranges (normative or typical) and sources."""
    from teaplatform.processing.recipe import RecipeError, get_recipe

    try:
        found = get_recipe(name)
    except RecipeError as exc:
        _fail(str(exc))
    if as_json:
        _echo_json(found.model_dump(mode="json"))
        return
    table = Table(title=f"{found.name_zh} {found.name_en} — {found.origin}")
    for col in ("#", "stage", "minutes (typical)", "ranges during the stage", "targets at its end"):
        table.add_column(col)
    for i, s in enumerate(found.stages):
        d = s.duration

        def fmt(ranges: dict[str, Any]) -> str:
            return "\n".join(f"{q} {r.describe()} ({r.basis.value})" for q, r in ranges.items())

        table.add_row(
            str(i),
            f"{s.name_zh} {s.name_en}",
            f"{d.low_min:g}–{d.high_min:g} ({d.typical_min:g})",
            fmt(s.ranges),
            fmt(s.targets),
        )
    console.print(table)
    for source in found.sources:
        console.print(escape(f"[{source.id}] {source.title} — {source.cites}"))


@batch_app.command("create")
def batch_create(
    recipe: Annotated[str, typer.Option(help="recipe name (teaplatform processing recipes)")],
    device: Annotated[str | None, typer.Option(help="processing device key")] = None,
    plot: Annotated[int | None, typer.Option(help="plot the leaf came from")] = None,
    picked_on: Annotated[str | None, typer.Option(help="picking date YYYY-MM-DD")] = None,
    leaf_kg: Annotated[float | None, typer.Option(help="fresh leaf, kg")] = None,
    auto: Annotated[bool, typer.Option(help="advance stages at their typical durations")] = False,
    code: Annotated[str | None, typer.Option(help="lot code [default: <tea>-<id>]")] = None,
    note: str = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a batch that follows a recipe."""
    from pydantic import ValidationError

    from teaplatform.processing.service import BatchCreate, batch_public, create_batch

    try:
        picked = date.fromisoformat(picked_on) if picked_on else None
        spec = BatchCreate(
            recipe=recipe,
            code=code,
            device=device,
            plot_id=plot,
            picked_on=picked,
            leaf_kg=leaf_kg,
            auto_advance=auto,
            note=note,
        )
    except (ValueError, ValidationError) as exc:
        _fail(str(exc))
    row = _run(lambda s: batch_public(create_batch(s, spec, datetime.now(UTC))))
    if as_json:
        _echo_json(row)
    else:
        console.print(f"created batch {row['id']} ({row['code']}, {row['recipe']})")


def _change(batch_id: int, action: Callable[[Session], object], verb: str) -> None:
    from teaplatform.processing.service import batch_public, get_batch

    def run(session: Session) -> dict[str, Any]:
        action(session)
        return batch_public(get_batch(session, batch_id))

    row = _run(run)
    stage = f", stage {row['stage_index']}" if row["stage_index"] is not None else ""
    console.print(f"batch {row['id']} ({row['code']}) {verb}: {row['state']}{stage}")


@batch_app.command("start")
def batch_start(batch_id: int, at: AtOpt = None) -> None:
    """Start a planned batch (its first stage)."""
    from teaplatform.processing.service import start_batch

    when = _at(at)
    _change(batch_id, lambda s: start_batch(s, batch_id, when), "started")


@batch_app.command("advance")
def batch_advance(batch_id: int, at: AtOpt = None) -> None:
    """End the current stage; past the last one the batch completes (and goes to
    traceability)."""
    from teaplatform.processing.service import advance_batch, trace_completed
    from teaplatform.settings import Settings

    when = _at(at)

    def advance(session: Session) -> None:
        advance_batch(session, batch_id, when)
        trace_completed(session, Settings(), datetime.now(UTC))

    _change(batch_id, advance, "advanced")


@batch_app.command("abort")
def batch_abort(batch_id: int, reason: str = "", at: AtOpt = None) -> None:
    """Abort a planned or running batch."""
    from teaplatform.processing.service import abort_batch

    when = _at(at)
    _change(batch_id, lambda s: abort_batch(s, batch_id, when, reason), "aborted")


@batch_app.command("bind")
def batch_bind(batch_id: int, device: str) -> None:
    """Bind the processing device whose telemetry the batch follows."""
    from teaplatform.processing.service import bind_device

    _change(batch_id, lambda s: bind_device(s, batch_id, device), f"bound to {device}")


@batch_app.command("list")
def batch_list(
    state: Annotated[str | None, typer.Option(help="planned|running|completed|aborted")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List batches."""
    from teaplatform.processing.batch import BatchState
    from teaplatform.processing.service import batch_public, list_batches

    try:
        wanted = BatchState(state) if state else None
    except ValueError:
        _fail(f"--state: {state!r} is not one of {', '.join(s.value for s in BatchState)}")
    rows = _run(lambda s: [batch_public(b) for b in list_batches(s, wanted)])
    if as_json:
        _echo_json(rows)
        return
    table = Table(title="batches")
    for col in ("id", "code", "recipe", "state", "stage", "device", "started"):
        table.add_column(col)
    for b in rows:
        table.add_row(
            str(b["id"]),
            b["code"],
            b["recipe"],
            b["state"],
            "" if b["stage_index"] is None else str(b["stage_index"]),
            b["device"] or "",
            (b["started_at"] or "")[:16],
        )
    console.print(table)


@batch_app.command("show")
def batch_show(batch_id: int, as_json: JsonOpt = False) -> None:
    """Where a batch stands: stage, time in it, active alarms, fermentation estimate."""
    from teaplatform.processing.service import batch_status

    status = _run(lambda s: batch_status(s, batch_id, datetime.now(UTC)))
    if as_json:
        _echo_json(status)
        return
    console.print(f"[bold]{status['code']}[/bold] {status['recipe']} — {status['state']}")
    stage = status["stage"]
    if stage:
        low, high = stage["planned_min"]
        console.print(
            f"stage {stage['index'] + 1}/{stage['of']}: {stage['name_zh']} {stage['name_en']}, "
            f"{stage['elapsed_min']:.0f} min of {low:g}–{high:g} (typical {stage['typical_min']:g})"
        )
        for quantity, rng in stage["ranges"].items():
            console.print(f"  {quantity}: {rng}")
    for alarm in status["alarms"]:
        console.print(
            f"[red]alarm {alarm['id']} ({alarm['state']})[/red] {escape(alarm['message'])}"
        )
    ferm = status["fermentation"]
    if ferm:
        low, high = ferm["target"]
        console.print(
            f"fermentation degree (estimate): {ferm['degree']:.2f}, target {low}–{high} "
            f"({ferm['verdict']}), coverage {ferm['coverage']:.0%}"
        )


@batch_app.command("record")
def batch_record(
    batch_id: int,
    out: Annotated[Path | None, typer.Option(help="write the JSON here")] = None,
) -> None:
    """The batch record (JSON) that traceability uses."""
    from teaplatform.processing.service import batch_record as build

    record = _run(lambda s: build(s, batch_id, datetime.now(UTC)))
    text = json.dumps(record, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {out}")


@batch_app.command("plot")
def batch_plot(batch_id: int, out: Annotated[Path, typer.Option(help="PNG file to write")]) -> None:
    """Draw the batch: telemetry against the stage ranges, alarms, fermentation degree."""
    from teaplatform.processing.service import plot_batch

    path = _run(lambda s: plot_batch(s, batch_id, out, datetime.now(UTC)))
    console.print(f"wrote {path}")


@processing_app.command()
def alarms(
    batch: Annotated[int | None, typer.Option(help="only this batch")] = None,
    active: Annotated[bool, typer.Option("--active/--all", help="only active ones")] = True,
    as_json: JsonOpt = False,
) -> None:
    """List deviation alarms."""
    from teaplatform.processing.service import alarm_public, list_alarms

    rows = _run(
        lambda s: [
            alarm_public(a) for a in list_alarms(s, batch_id=batch, active=True if active else None)
        ]
    )
    if as_json:
        _echo_json(rows)
        return
    table = Table(title="alarms")
    for col in ("id", "batch", "state", "opened", "message"):
        table.add_column(col)
    for a in rows:
        table.add_row(
            str(a["id"]), str(a["batch_id"]), a["state"], a["opened_at"][:16], a["message"]
        )
    console.print(table)


@processing_app.command()
def ack(alarm_id: int, by: Annotated[str, typer.Option(help="who acknowledges")]) -> None:
    """Acknowledge an alarm."""
    from teaplatform.processing.service import acknowledge_alarm

    state = _run(lambda s: acknowledge_alarm(s, alarm_id, by, datetime.now(UTC)).state)
    console.print(f"alarm {alarm_id}: {state}")


@processing_app.command()
def tick() -> None:
    """Apply what the clock makes due now (auto-advances, overrun alarms); hand completed
    batches to traceability."""
    from teaplatform.processing.service import tick as run_tick
    from teaplatform.processing.service import trace_completed
    from teaplatform.settings import Settings

    def run(session: Session) -> tuple[int, int]:
        now = datetime.now(UTC)
        return run_tick(session, now), trace_completed(session, Settings(), now)

    changed, traced = _run(run)
    console.print(f"{changed} batches changed stage, {traced} handed to traceability")


def register(app: typer.Typer) -> None:
    app.add_typer(processing_app, name="processing")
