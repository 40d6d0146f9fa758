"""`teaplatform grading record | list | show`: a lot's grading results, stored and traced.

`record` grades a lot from made-tea indicators (the grade rules) or from a folder of leaf
images (the classifier's share of healthy leaves), stores the result and signs it into the
lot's trace chain. (`teaplatform made-tea-grade` and `teaplatform grade` only show a grade.)
Exit codes: 0 success (also when the ledger refused the trace event: the result is kept and the
reason printed), 2 bad input.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store, parse_indicators, parse_time
from teaplatform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from teaplatform.grading.service import LeafSample

grading_app = typer.Typer(
    help="Grading results per lot: record (made-tea indicators or leaf images), list, show.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def register(app: typer.Typer) -> None:
    app.add_typer(grading_app, name="grading")


@contextmanager
def _session() -> Iterator[tuple[Settings, "Session"]]:
    """A unit of work on the configured store; the service's errors become exit code 2."""
    from teaplatform.grading.results import GradingError
    from teaplatform.grading.service import GradingConflictError, GradingNotFoundError

    settings = Settings()
    try:
        with migrated_store(settings) as store, store.session() as session:
            yield settings, session
    except (GradingError, GradingConflictError, GradingNotFoundError) as exc:
        _fail(str(exc))


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _leaf_sample(folder: Path, model: Path | None, threads: int) -> "LeafSample":
    """Classify the images under `folder` with `model` or the serving classifier."""
    from teaplatform.grading.service import grade_leaf_folder
    from teaplatform.vision import registry, serving

    if not folder.is_dir():
        _fail(f"{folder}: not a directory")
    if model is None:
        with _session() as (_, session):
            model = registry.serving_dir(session, "classifier")
    try:
        classifier = serving.classifier(model, threads)
    except (OSError, ValueError) as exc:
        _fail(f"cannot load the classifier: {exc}")
    try:
        return grade_leaf_folder(classifier, folder)
    except OSError as exc:
        _fail(str(exc))


@grading_app.command("record")
def record(
    lot: Annotated[str, typer.Option(help="the lot (batch code) graded")],
    tea: Annotated[str, typer.Option(help="tea type: green, black, dark, white, yellow")],
    indicator: Annotated[
        list[str] | None,
        typer.Option("--indicator", "-i", help="NAME=VALUE, e.g. -i moisture=6.2 -i powder=0.8"),
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option(help="a folder of leaf images of the lot (instead of indicators)"),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="when it was graded (ISO; naive = UTC)")
    ] = None,
    operator: Annotated[str, typer.Option(help="who graded")] = "",
    note: str = "",
    result_id: Annotated[
        str | None, typer.Option(help="the result's id (re-sending it is a no-op)")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="with --images: a classifier directory")
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help="with --images: onnxruntime threads")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Grade a lot, store the result and sign it into the lot's trace chain."""
    from pydantic import ValidationError

    from teaplatform.grading.service import (
        LotSpec,
        MadeTeaResult,
        record_leaf_images,
        record_made_tea,
        result_public,
    )

    if (images is None) == (not indicator):
        _fail("give --indicator NAME=VALUE (made tea) or --images FOLDER (leaf), not both")
    fields: dict[str, Any] = {
        "lot": lot,
        "tea_type": tea,
        "graded_at": parse_time(at),
        "operator": operator,
        "note": note,
        "result_id": result_id,
    }
    try:
        spec = (
            MadeTeaResult(**fields, indicators=parse_indicators(indicator or []))
            if images is None
            else LotSpec(**fields)
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    sample = _leaf_sample(images, model, threads) if images is not None else None
    now = datetime.now(UTC)
    with _session() as (settings, session):
        if isinstance(spec, MadeTeaResult):
            stored = record_made_tea(session, settings, spec, now)
        else:
            assert sample is not None
            stored = record_leaf_images(session, settings, spec, sample, now)
        result = {**result_public(stored.row), "created": stored.created}
    if as_json:
        _echo_json(result)
    else:
        _show(result)
    if result["trace_error"]:
        err.print(f"[yellow]not traced:[/yellow] {escape(result['trace_error'])}", highlight=False)


def _show(r: dict[str, Any]) -> None:
    again = "" if r["created"] else " (stored already)"
    what = escape(f"lot {r['lot']} ({r['tea_type']}): ")
    out.print(
        f"{what}[bold]{escape(r['grade'])}[/bold] by {escape(r['method'])}{again}",
        highlight=False,
    )
    for reason in r["failed_checks"]:
        out.print(f"  {escape(reason)}", highlight=False)
    if r["class_counts"]:
        shares = ", ".join(f"{k} {v}" for k, v in r["class_counts"].items())
        out.print(f"  {r['image_count']} images: {escape(shares)}", highlight=False)
    out.print(f"  result {r['result_id']}; trace event {r['trace_event_id'] or '-'}")


@grading_app.command("list")
def list_(
    lot: Annotated[str | None, typer.Option(help="only this lot")] = None,
    tea: Annotated[str | None, typer.Option(help="only this tea type")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Stored grading results, newest first."""
    from teaplatform.grading.service import list_results, result_public

    with _session() as (_, session):
        rows = [result_public(r) for r in list_results(session, lot=lot, tea_type=tea, limit=limit)]
    if as_json:
        _echo_json(rows)
        return
    table = Table("graded at", "lot", "tea", "grade", "source", "traced", "result")
    for r in rows:
        traced = "yes" if r["trace_event_id"] else ("refused" if r["trace_error"] else "-")
        cells = (
            r["graded_at"][:16].replace("T", " "),
            r["lot"],
            r["tea_type"],
            r["grade"],
            r["source"],
        )
        table.add_row(*map(escape, cells), traced, r["result_id"])
    out.print(table)


@grading_app.command("show")
def show(result_id: str, as_json: JsonOpt = False) -> None:
    """One grading result with its indicators, failed checks and trace event."""
    from teaplatform.grading.service import get_result, result_public

    with _session() as (_, session):
        result = result_public(get_result(session, result_id))
    if as_json:
        _echo_json(result)
        return
    _show({**result, "created": True})
    for name, value in result["indicators"].items():
        out.print(f"  {name} = {value:g}", highlight=False)
    if result["trace_error"]:
        out.print(f"  not traced: {escape(result['trace_error'])}", highlight=False)
