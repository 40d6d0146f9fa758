"""`teaplatform trace`: record, verify, qr, export, import; organisations, keys, sealing.

Works on the local store (TEAPLATFORM_* settings), where the organisations' private keys are.
Exit codes: 0 fine, 2 bad input (unknown lot or code, invalid file), 3 tampering found,
4 intact records but a package code that looks copied (suspicious scans).
"""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.cli.common import fail as _fail
from teaplatform.cli.common import migrated_store
from teaplatform.settings import Settings

EXIT_TAMPERED = 3
EXIT_SUSPICIOUS = 4

trace_app = typer.Typer(
    help="Origin traceability: signed EPCIS 2.0 events, QR codes.", no_args_is_help=True
)
org_app = typer.Typer(help="Organisations that sign events.", no_args_is_help=True)
key_app = typer.Typer(
    help="Organisations' Ed25519 keys: rotation and revocation.", no_args_is_help=True
)
trace_app.add_typer(org_app, name="org")
trace_app.add_typer(key_app, name="key")

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
_out = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(trace_app, name="trace")


@contextmanager
def _session() -> Iterator[tuple[Settings, Session]]:
    settings = Settings()
    with migrated_store(settings) as store, store.session() as session:
        yield settings, session


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {path}: {exc}")


@trace_app.command("record")
def record(
    file: Annotated[
        Path, typer.Argument(help="JSON: one EPCIS event, a list, or an EPCISDocument")
    ],
    org: Annotated[str, typer.Option(help="organisation that signs (its id)")],
    lot: Annotated[list[str] | None, typer.Option(help="extra lot (LGTIN) to chain into")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate, sign and chain EPCIS 2.0 events."""
    from teaplatform.trace.epcis import EventError, document_events
    from teaplatform.trace.service import TraceError, record_events

    data = _read_json(file)
    try:
        events = document_events(data) if isinstance(data, dict) and "epcisBody" in data else data
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list):
            raise EventError(["expected an event, a list of events or an EPCISDocument"])
        with _session() as (settings, session):
            done = record_events(session, settings, events, org=org, lots=lot or [])
    except EventError as exc:
        _fail("; ".join(exc.problems))
    except TraceError as exc:
        _fail(str(exc))
    rows: list[dict[str, Any]] = [
        {
            "seq": r.seq,
            "event_id": r.event_id,
            "hash": r.digest,
            "lots": list(r.lots),
            "created": r.created,
        }
        for r in done
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("seq", "eventID", "hash", "lots", "new")
    for row in rows:
        table.add_row(
            str(row["seq"]),
            row["event_id"],
            row["hash"][:16] + "…",
            "\n".join(row["lots"]),
            "yes" if row["created"] else "no",
        )
    _out.print(table)


@trace_app.command("verify")
def verify(
    target: Annotated[
        str | None, typer.Argument(help="a lot (LGTIN URN) or a package code")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="audit the whole ledger")] = False,
    signatures: Annotated[
        bool, typer.Option(help="with --all: verify every event's signature")
    ] = False,
    workers: Annotated[int, typer.Option(help="processes for --signatures")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Verify a lot's or package's journey, or the whole ledger (exit 3 on tampering)."""
    from teaplatform.trace import ids
    from teaplatform.trace.audit import audit_ledger
    from teaplatform.trace.journey import verify_lot, verify_package

    if all_ == (target is not None):
        _fail("give a lot or a package code, or --all")
    with _session() as (settings, session):
        if all_:
            audit = audit_ledger(session, signatures=signatures, workers=workers)
            result: dict[str, Any] = {
                "ok": audit.ok,
                "events": audit.events,
                "lots": audit.lots,
                "days_sealed": audit.days_sealed,
                "events_signature_checked": audit.events_signature_checked,
                "findings": [f.to_json() for f in audit.findings],
            }
            status = "verified" if audit.ok else "tampered"
        elif target is not None and ids.is_lgtin(target):
            lot_report = verify_lot(session, target)
            if lot_report is None:
                _fail(f"no lot {target} in the ledger")
            result, status = lot_report.to_json(), lot_report.status
        else:
            assert target is not None
            package = verify_package(session, target, settings.trace_scan_limit)
            if package.status == "unknown":
                _fail(f"no package {target} in the ledger")
            result, status = package.to_json(), package.status
    if as_json:
        _print_json(result)
    else:
        _show(result, status, all_)
    if status == "tampered":
        raise typer.Exit(EXIT_TAMPERED)
    if status == "counterfeit_suspected":
        raise typer.Exit(EXIT_SUSPICIOUS)


def _show(result: dict[str, Any], status: str, ledger: bool) -> None:
    colour = {"verified": "green", "tampered": "red"}.get(status, "yellow")
    _out.print(f"[bold {colour}]{status.upper()}[/]")
    if ledger:
        _out.print(
            f"{result['events']} events, {result['lots']} lots, {result['days_sealed']} days sealed, "
            f"{result['events_signature_checked']} event signatures checked"
        )
    journey = result.get("journey", result) if not ledger else None
    if journey and journey.get("steps"):
        table = Table("seq", "stage", "time", "organisation", "ok")
        for step in journey["steps"]:
            table.add_row(
                str(step["seq"]),
                step["stage_en"],
                step["event_time"][:16],
                step["org_name"],
                "✔" if step["ok"] else "✖",
            )
        _out.print(table)
    for finding in result.get("findings", []) + (
        (journey or {}).get("findings", []) if not ledger and "journey" in result else []
    ):
        where = f"event #{finding['seq']} " if finding["seq"] else ""
        _out.print(
            f"[red]✖[/] {where}{finding['explanation']}: {finding['detail']}", highlight=False
        )
    if "scans" in result and result["scans"]["flagged"]:
        _out.print(f"[yellow]⚠ {'; '.join(result['scans']['reasons'])}[/]")


@trace_app.command("qr")
def qr_code(
    code: Annotated[str, typer.Argument(help="package code (the serial in its SGTIN)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="file.png or file.svg")],
    scale: Annotated[int, typer.Option(min=1, max=40, help="pixels per module")] = 8,
    as_json: JsonOpt = False,
) -> None:
    """Write a package's QR code (its GS1 Digital Link verification URL)."""
    from teaplatform.trace.qr import package_url, qr_image
    from teaplatform.trace.tables import TracePackage

    kind = output.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        _fail("the output file must end in .png or .svg")
    with _session() as (settings, session):
        package = session.get(TracePackage, code)
        if package is None:
            _fail(f"no package {code} in the ledger")
        url = package_url(settings.public_url, package.sgtin, package.lot)
    output.write_bytes(qr_image(url, "png" if kind == "png" else "svg", scale=scale))
    if as_json:
        _print_json({"code": code, "url": url, "file": str(output)})
    else:
        _out.print(f"{output}: {url}", highlight=False)


@trace_app.command("export")
def export(
    lot: Annotated[
        list[str] | None, typer.Option(help="lot (LGTIN) whose journey to export")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file (default: stdout)")
    ] = None,
) -> None:
    """Export EPCIS 2.0 JSON: the lots' journeys, or the whole ledger without --lot."""
    from teaplatform.trace.exchange import export_document

    with _session() as (_, session):
        doc = export_document(session, lot or None)
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        _out.print(f"{output}: {len(doc['epcisBody']['eventList'])} events", highlight=False)


@trace_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="an EPCIS 2.0 JSON document of signed events")],
    trust_keys: Annotated[
        bool, typer.Option(help="accept public keys only the document knows")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Verify and import signed events: all or none (exit 3 when any fails verification)."""
    from teaplatform.trace.epcis import EventError
    from teaplatform.trace.exchange import import_document

    doc = _read_json(file)
    try:
        with _session() as (settings, session):
            report = import_document(session, settings, doc, trust_keys=trust_keys)
    except EventError as exc:
        _fail("; ".join(exc.problems))
    if as_json:
        _print_json(report.to_json())
    elif report.ok:
        _out.print(
            f"imported {report.imported}, already present {report.already_present}, keys added {report.keys_added}"
        )
    else:
        for finding in report.findings:
            _out.print(
                f"[red]✖[/] {finding.event_id}: {finding.explanation()}: {finding.detail}",
                highlight=False,
            )
    if not report.ok:
        raise typer.Exit(EXIT_TAMPERED)


@trace_app.command("seal")
def seal(as_json: JsonOpt = False) -> None:
    """Seal every ended ledger day into a signed Merkle checkpoint."""
    from teaplatform.trace.service import seal_days

    with _session() as (settings, session):
        sealed = [
            {"day": c.day.isoformat(), "events": c.count, "root": c.root.hex()}
            for c in seal_days(session, settings)
        ]
    if as_json:
        _print_json(sealed)
    else:
        _out.print(
            f"{len(sealed)} days sealed"
            + "".join(f"\n  {s['day']}: {s['events']} events, root {s['root']}" for s in sealed)
        )


@org_app.command("add")
def org_add(
    org_id: Annotated[str, typer.Argument(help="a URI, e.g. urn:epc:id:pgln:0614141.00001")],
    name: Annotated[str, typer.Option(help="name")],
    name_zh: Annotated[str, typer.Option(help="Chinese name")] = "",
    role: Annotated[str, typer.Option(help="grower, processor, carrier, retailer...")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation and create its first key (private half in a 0600 file)."""
    from teaplatform.trace.epcis import EventError
    from teaplatform.trace.service import register_org
    from teaplatform.trace.tables import TraceKey

    try:
        with _session() as (settings, session):
            org = register_org(session, settings, org_id, name, name_zh=name_zh, role=role)
            keys = [
                k.key_id for k in session.scalars(select(TraceKey).where(TraceKey.org_id == org.id))
            ]
    except EventError as exc:
        _fail("; ".join(exc.problems))
    if as_json:
        _print_json({"id": org_id, "keys": keys})
    else:
        _out.print(f"{org_id}: keys {', '.join(keys)}", highlight=False)


@org_app.command("list")
def org_list(as_json: JsonOpt = False) -> None:
    """Organisations and their keys with validity periods."""
    from teaplatform.trace.tables import TraceKey, TraceOrg

    with _session() as (_, session):
        rows: list[dict[str, Any]] = [
            {
                "id": org.id,
                "name": org.name,
                "role": org.role,
                "keys": [
                    {
                        "key_id": k.key_id,
                        "not_before": k.not_before.isoformat(),
                        "not_after": k.not_after.isoformat() if k.not_after else None,
                        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    }
                    for k in session.scalars(
                        select(TraceKey)
                        .where(TraceKey.org_id == org.id)
                        .order_by(TraceKey.not_before)
                    )
                ],
            }
            for org in session.scalars(select(TraceOrg).order_by(TraceOrg.id))
        ]
    if as_json:
        _print_json(rows)
        return
    table = Table("organisation", "role", "key", "valid from", "until", "revoked")
    for org in rows:
        for key in org["keys"]:
            table.add_row(
                org["id"],
                org["role"],
                key["key_id"],
                key["not_before"][:19],
                (key["not_after"] or "")[:19],
                (key["revoked_at"] or "")[:19],
            )
    _out.print(table)


@key_app.command("rotate")
def key_rotate(
    org_id: Annotated[str, typer.Argument(help="organisation id")], as_json: JsonOpt = False
) -> None:
    """Start a new key for an organisation; the current one stops signing now."""
    from teaplatform.trace.service import TraceError, rotate_key

    try:
        with _session() as (settings, session):
            key_id = rotate_key(session, settings, org_id).key_id
    except TraceError as exc:
        _fail(str(exc))
    if as_json:
        _print_json({"org": org_id, "key_id": key_id})
    else:
        _out.print(f"{org_id}: new key {key_id}", highlight=False)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="key id")],
    at: Annotated[
        str | None, typer.Option(help="ISO 8601 time it stops being trusted (default now)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key (believed stolen): its signatures dated from `at` on fail verification."""
    from teaplatform.trace.epcis import parse_time
    from teaplatform.trace.service import TraceError, revoke_key

    try:
        moment = parse_time(at) if at else datetime.now(UTC)
    except ValueError as exc:
        _fail(str(exc))
    try:
        with _session() as (settings, session):
            replacement = revoke_key(session, settings, key_id, at=moment)
            new_id = replacement.key_id if replacement else None
    except TraceError as exc:
        _fail(str(exc))
    if as_json:
        _print_json({"revoked": key_id, "at": moment.isoformat(), "replacement": new_id})
    else:
        _out.print(
            f"revoked {key_id} from {moment.isoformat()}"
            + (f"; new key {new_id}" if new_id else ""),
            highlight=False,
        )
