"""Traceability API: organisations and keys, recording, verification, QR codes, EPCIS
export/import, and the public verification page a package's QR code opens.

Writes need the bearer token (`Writer`); verifying, the page and QR images are public. Opening a
package's page or verification logs a scan (coarse network and browser family only).
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.api.deps import SessionDep, SettingsDep, Writer
from teaplatform.settings import Settings
from teaplatform.trace import ids, page, qr
from teaplatform.trace.audit import audit_ledger
from teaplatform.trace.epcis import EventError
from teaplatform.trace.exchange import export_document, import_document
from teaplatform.trace.journey import (
    PackageReport,
    log_scan,
    package_by_digital_link,
    verify_lot,
    verify_package,
)
from teaplatform.trace.scans import agent_family, assess, coarse_place
from teaplatform.trace.service import (
    NotFound,
    TraceError,
    record_events,
    register_org,
    revoke_key,
    rotate_key,
    seal_days,
)
from teaplatform.trace.tables import TraceKey, TraceOrg, TracePackage

router = APIRouter(tags=["trace"])


class KeyPublic(BaseModel):
    key_id: str
    org: str
    public_key: str = Field(description="raw Ed25519 public key, hex")
    not_before: datetime
    not_after: datetime | None
    revoked_at: datetime | None


class OrgCreate(BaseModel):
    id: str = Field(description="a URI, typically a PGLN URN: urn:epc:id:pgln:0614141.00001")
    name: str
    name_zh: str = ""
    role: str = ""


class OrgPublic(BaseModel):
    id: str
    name: str
    name_zh: str
    role: str
    keys: list[KeyPublic]


class RevokeIn(BaseModel):
    at: datetime | None = Field(default=None, description="default: now")


class RevokeOut(BaseModel):
    revoked: KeyPublic
    replacement: KeyPublic | None


class RecordIn(BaseModel):
    org: str
    events: list[dict[str, Any]] = Field(min_length=1, description="EPCIS 2.0 JSON events")
    lots: list[str] = Field(default=[], description="extra lots (LGTIN URNs) to chain into")


class RecordedOut(BaseModel):
    seq: int
    event_id: str
    hash: str
    lots: list[str]
    created: bool


def _key(k: TraceKey) -> KeyPublic:
    return KeyPublic(
        key_id=k.key_id,
        org=k.org_id,
        public_key=k.public_key.hex(),
        not_before=k.not_before,
        not_after=k.not_after,
        revoked_at=k.revoked_at,
    )


def _org(session: Session, org: TraceOrg) -> OrgPublic:
    keys = session.scalars(
        select(TraceKey).where(TraceKey.org_id == org.id).order_by(TraceKey.not_before)
    )
    return OrgPublic(
        id=org.id, name=org.name, name_zh=org.name_zh, role=org.role, keys=[_key(k) for k in keys]
    )


def _unprocessable(exc: EventError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"problems": exc.problems})


def _trace_error(exc: TraceError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else status.HTTP_409_CONFLICT
    return HTTPException(code, str(exc))


@router.post("/api/trace/orgs", status_code=201, dependencies=[Writer])
def create_org(body: OrgCreate, session: SessionDep, settings: SettingsDep) -> OrgPublic:
    """Register an organisation with a first Ed25519 key (its private half stays in a file)."""
    try:
        org = register_org(
            session, settings, body.id, body.name, name_zh=body.name_zh, role=body.role
        )
    except EventError as exc:
        raise _unprocessable(exc) from None
    return _org(session, org)


@router.get("/api/trace/orgs")
def list_orgs(session: SessionDep) -> list[OrgPublic]:
    """Organisations with their public keys and validity periods."""
    return [_org(session, org) for org in session.scalars(select(TraceOrg).order_by(TraceOrg.id))]


@router.post("/api/trace/orgs/{org_id}/rotate", dependencies=[Writer])
def rotate(org_id: str, session: SessionDep, settings: SettingsDep) -> KeyPublic:
    """Start a new key now; the current one stops signing (its old signatures stay valid)."""
    try:
        return _key(rotate_key(session, settings, org_id))
    except TraceError as exc:
        raise _trace_error(exc) from None


@router.post("/api/trace/keys/{key_id}/revoke", dependencies=[Writer])
def revoke(key_id: str, body: RevokeIn, session: SessionDep, settings: SettingsDep) -> RevokeOut:
    """Revoke a key from `at` on; a replacement starts when the organisation has none left."""
    try:
        replacement = revoke_key(session, settings, key_id, at=body.at or datetime.now(UTC))
    except TraceError as exc:
        raise _trace_error(exc) from None
    revoked = session.get(TraceKey, key_id)
    assert revoked is not None
    return RevokeOut(revoked=_key(revoked), replacement=_key(replacement) if replacement else None)


@router.post("/api/trace/events", status_code=201, dependencies=[Writer])
def record(body: RecordIn, session: SessionDep, settings: SettingsDep) -> list[RecordedOut]:
    """Validate, sign (with `org`'s current key) and chain EPCIS 2.0 events."""
    try:
        done = record_events(session, settings, body.events, org=body.org, lots=body.lots)
    except EventError as exc:
        raise _unprocessable(exc) from None
    except TraceError as exc:
        raise _trace_error(exc) from None
    return [
        RecordedOut(
            seq=r.seq, event_id=r.event_id, hash=r.digest, lots=list(r.lots), created=r.created
        )
        for r in done
    ]


@router.post("/api/trace/seal", dependencies=[Writer])
def seal(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Seal every ended ledger day into a signed Merkle checkpoint."""
    sealed = seal_days(session, settings)
    return {
        "sealed": [
            {"day": c.day.isoformat(), "events": c.count, "root": c.root.hex()} for c in sealed
        ]
    }


@router.get("/api/trace/audit", dependencies=[Writer])
def audit(session: SessionDep) -> dict[str, Any]:
    """Audit the whole ledger: every hash, chain and day root; Ed25519 where no root covers."""
    report = audit_ledger(session)
    return {
        "ok": report.ok,
        "events": report.events,
        "lots": report.lots,
        "days_sealed": report.days_sealed,
        "events_signature_checked": report.events_signature_checked,
        "findings": [f.to_json() for f in report.findings],
    }


@router.get("/api/trace/lots/{lot}/verification")
def lot_verification(lot: str, session: SessionDep) -> dict[str, Any]:
    """A lot's journey (and the lots it was made from), every event and link verified."""
    report = verify_lot(session, lot)
    if report is None:
        raise HTTPException(404, f"no lot {lot!r} in the ledger")
    return report.to_json()


def _scanned(request: Request, session: Session, settings: Settings, code: str) -> PackageReport:
    """Log this request as a scan of `code` (a known package: unknown codes are not stored,
    so nobody can fill the table), then verify the package."""
    if session.get(TracePackage, code) is None:
        return verify_package(session, code, settings.trace_scan_limit)
    client = request.client.host if request.client else None
    log_scan(
        session,
        code,
        coarse_place(client),
        agent_family(request.headers.get("user-agent")),
        datetime.now(UTC),
    )
    return verify_package(session, code, settings.trace_scan_limit)


@router.get("/api/trace/packages/{code}/verification")
def package_verification(
    code: str, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """What a scan of the package's QR code shows, as JSON (the scan is logged)."""
    return _scanned(request, session, settings, code).to_json()


@router.get(
    "/api/trace/packages/{code}/qr.{kind}",
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
    response_class=Response,
)
def package_qr(
    code: str, kind: Literal["png", "svg"], session: SessionDep, settings: SettingsDep
) -> Response:
    """The package's QR code: its GS1 Digital Link verification URL."""
    package = session.get(TracePackage, code)
    if package is None:
        raise HTTPException(404, f"no package {code!r}")
    url = qr.package_url(settings.public_url, package.sgtin, package.lot)
    media = "image/png" if kind == "png" else "image/svg+xml"
    return Response(qr.qr_image(url, kind), media_type=media)


@router.get("/api/trace/export")
def export(
    session: SessionDep,
    lot: Annotated[list[str], Query(min_length=1, description="lots (LGTIN URNs)")],
) -> dict[str, Any]:
    """An EPCIS 2.0 JSON document of the lots' journeys (complete chains, verifiable alone)."""
    return export_document(session, lot)


@router.get("/api/trace/ledger/export", dependencies=[Writer])
def export_ledger(session: SessionDep) -> dict[str, Any]:
    """The whole ledger as one EPCIS 2.0 JSON document."""
    return export_document(session, None)


@router.post("/api/trace/import", dependencies=[Writer])
def import_(
    doc: dict[str, Any],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    trust_keys: bool = False,
) -> dict[str, Any]:
    """Import an EPCIS 2.0 document of signed events: all verified, all appended, or none
    (422 with the failing events). `trust_keys` accepts public keys only the document knows."""
    try:
        report = import_document(session, settings, doc, trust_keys=trust_keys)
    except EventError as exc:
        raise _unprocessable(exc) from None
    if not report.ok:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return report.to_json()


# --- the page a QR code opens ------------------------------------------------------------


def _lang(request: Request, lang: str | None) -> page.Lang:
    if lang in ("zh", "en"):
        return "zh" if lang == "zh" else "en"
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "zh"


def _package_page(
    request: Request, session: Session, settings: Settings, code: str | None, lang: str | None
) -> HTMLResponse:
    """The page of package `code`; None: a code that matches no package (nothing logged)."""
    report = (
        _scanned(request, session, settings, code)
        if code is not None
        else PackageReport("", None, None, None, assess([], settings.trace_scan_limit), [])
    )
    chosen = _lang(request, lang)
    other = "en" if chosen == "zh" else "zh"
    html = page.render(
        report,
        lang=chosen,
        switch_url=f"{request.url.path}?lang={other}",
        json_url=f"/api/trace/packages/{quote(report.code, safe='')}/verification",
        export_url=f"/api/trace/export?lot={quote(report.lot.lot, safe='')}"
        if report.lot
        else None,
    )
    return HTMLResponse(html, status_code=404 if report.status == "unknown" else 200)


@router.get("/trace/p/{code}", response_class=HTMLResponse)
def package_page(
    code: str, request: Request, session: SessionDep, settings: SettingsDep, lang: str | None = None
) -> HTMLResponse:
    """The verification page of a package (what its QR code opens)."""
    return _package_page(request, session, settings, code, lang)


@router.get("/01/{gtin}/10/{lot}/21/{serial}", response_class=HTMLResponse)
def digital_link(
    gtin: str,
    lot: str,
    serial: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: str | None = None,
) -> HTMLResponse:
    """GS1 Digital Link resolver for our packages: GTIN + lot + serial → the package's page.
    A GTIN or lot that does not match the serial's package is treated as an unknown code."""
    package = package_by_digital_link(session, gtin, serial)
    if package is not None and ids.parse_lgtin(package.lot).lot != lot:
        package = None
    return _package_page(request, session, settings, serial if package else None, lang)


@router.get("/trace/lots/{lot}", response_class=HTMLResponse)
def lot_page(
    lot: str, request: Request, session: SessionDep, lang: str | None = None
) -> HTMLResponse:
    """The verification page of a lot (for regulators: no scan is logged)."""
    report = verify_lot(session, lot)
    if report is None:
        raise HTTPException(404, f"no lot {lot!r} in the ledger")
    chosen = _lang(request, lang)
    html = page.render(
        report,
        lang=chosen,
        switch_url=f"{request.url.path}?lang={'en' if chosen == 'zh' else 'zh'}",
        json_url=f"/api/trace/lots/{quote(lot, safe='')}/verification",
        export_url=f"/api/trace/export?lot={quote(lot, safe='')}",
    )
    return HTMLResponse(html)
