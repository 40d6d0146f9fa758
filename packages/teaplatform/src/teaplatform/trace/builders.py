"""EPCIS 2.0 events of a tea's journey (pure): plot → picking → processing → grading →
packaging → shipping → retail, with CBV 2.0 business steps and dispositions.

Each builder returns a plain event dict ready for `service.record_event`. Event IDs are
UUIDv5 of a caller-given stable name (e.g. ``processing:<batch id>``), so recording the same
fact twice is a no-op rather than a second event.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from teaplatform.trace.epcis import BizStep, Disposition, format_time
from teaplatform.trace.lots import LOT_NUMBER

TZ = "+08:00"  # Hunan
_NAMESPACE = uuid.UUID("5b0f6b9e-3c55-4a43-9a53-2f7d1c1f7a11")  # our UUIDv5 namespace


def event_id(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def _base(
    kind: str, at: datetime, name: str, step: BizStep, disposition: Disposition
) -> dict[str, Any]:
    return {
        "type": kind,
        "eventTime": format_time(at, TZ),
        "eventTimeZoneOffset": TZ,
        "eventID": event_id(name),
        "bizStep": step.value,
        "disposition": disposition.value,
    }


def _place(event: dict[str, Any], place: str | None) -> dict[str, Any]:
    if place:
        event["readPoint"] = {"id": place}
        event["bizLocation"] = {"id": place}
    return event


def _kg(epc_class: str, kg: float | None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": epc_class}
    if kg is not None:
        element["quantity"] = round(float(kg), 3)
        element["uom"] = "KGM"
    return element


def harvest(
    *,
    name: str,
    leaf_lot: str,
    lot_number: str,
    kg: float,
    at: datetime,
    plot: str | None,
    started: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Picking: a fresh-leaf lot comes into being on a plot (class-level, by weight)."""
    event = _base("ObjectEvent", at, name, BizStep.CREATING_CLASS_INSTANCE, Disposition.ACTIVE)
    event["action"] = "ADD"
    event["quantityList"] = [_kg(leaf_lot, kg)]
    event["ilmd"] = {
        LOT_NUMBER: lot_number,
        "cbvmda:countryOfOrigin": "CN",
        "cbvmda:harvestStartDate": format_time(started or at, TZ),
        "cbvmda:harvestEndDate": format_time(at, TZ),
    }
    if details:
        event["tea:picking"] = dict(details)
    return _place(event, plot)


def processing(
    *,
    name: str,
    inputs: Sequence[tuple[str, float | None]],
    output_lot: str,
    lot_number: str,
    kg: float | None,
    at: datetime,
    site: str | None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A processing batch: fresh-leaf lots in, a made-tea lot out."""
    event = _base(
        "TransformationEvent", at, name, BizStep.CREATING_CLASS_INSTANCE, Disposition.ACTIVE
    )
    event["inputQuantityList"] = [_kg(lot, amount) for lot, amount in inputs]
    event["outputQuantityList"] = [_kg(output_lot, kg)]
    event["ilmd"] = {LOT_NUMBER: lot_number, "cbvmda:countryOfOrigin": "CN"}
    if details:
        event["tea:batch"] = dict(details)
    return _place(event, site)


def grading(
    *,
    name: str,
    lot: str,
    grade: str,
    conformant: bool,
    at: datetime,
    site: str | None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Grading: the made-tea lot inspected and given a grade."""
    disposition = Disposition.CONFORMANT if conformant else Disposition.NON_CONFORMANT
    event = _base("ObjectEvent", at, name, BizStep.INSPECTING, disposition)
    event["action"] = "OBSERVE"
    event["quantityList"] = [_kg(lot, None)]
    event["tea:grade"] = {"grade": grade, **dict(details or {})}
    return _place(event, site)


def packaging(
    *,
    name: str,
    packages: Sequence[str],
    lot_number: str,
    at: datetime,
    site: str | None,
    best_before: str | None = None,
) -> dict[str, Any]:
    """Packaging: serialised packages (SGTINs) commissioned with the lot number."""
    event = _base("ObjectEvent", at, name, BizStep.COMMISSIONING, Disposition.ACTIVE)
    event["action"] = "ADD"
    event["epcList"] = list(packages)
    event["ilmd"] = {LOT_NUMBER: lot_number, "cbvmda:countryOfOrigin": "CN"}
    if best_before:
        event["ilmd"]["cbvmda:bestBeforeDate"] = best_before
    return _place(event, site)


def packing(
    *, name: str, case: str, packages: Sequence[str], at: datetime, site: str | None
) -> dict[str, Any]:
    """Packages into a case (SSCC)."""
    event = _base("AggregationEvent", at, name, BizStep.PACKING, Disposition.CONTAINER_CLOSED)
    event["action"] = "ADD"
    event["parentID"] = case
    event["childEPCs"] = list(packages)
    return _place(event, site)


def shipping(
    *, name: str, epcs: Sequence[str], at: datetime, site: str | None, source: str, destination: str
) -> dict[str, Any]:
    """A case leaves for the shop; owning parties as CBV source/destination (PGLN)."""
    event = _base("ObjectEvent", at, name, BizStep.SHIPPING, Disposition.IN_TRANSIT)
    event["action"] = "OBSERVE"
    event["epcList"] = list(epcs)
    event["sourceList"] = [{"type": "owning_party", "source": source}]
    event["destinationList"] = [{"type": "owning_party", "destination": destination}]
    return _place(event, site)


def receiving(*, name: str, epcs: Sequence[str], at: datetime, site: str | None) -> dict[str, Any]:
    event = _base("ObjectEvent", at, name, BizStep.RECEIVING, Disposition.SELLABLE_ACCESSIBLE)
    event["action"] = "OBSERVE"
    event["epcList"] = list(epcs)
    return _place(event, site)


def retail_sale(*, name: str, package: str, at: datetime, site: str | None) -> dict[str, Any]:
    event = _base("ObjectEvent", at, name, BizStep.RETAIL_SELLING, Disposition.RETAIL_SOLD)
    event["action"] = "OBSERVE"
    event["epcList"] = [package]
    return _place(event, site)
