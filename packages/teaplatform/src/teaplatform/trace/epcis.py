"""The GS1 EPCIS 2.0 event model (JSON/JSON-LD binding) and CBV 2.0 vocabulary, as we use it.

Events stay plain JSON dicts — what is signed is exactly what is exported — and `validate_event`
checks one against the EPCIS 2.0 rules we rely on (types, required fields, CBV words, EPC URNs)
with pydantic, raising `EventError` with every problem. Extension fields use the ``tea:``
prefix declared in the document's ``@context`` (EPCIS 2.0 user extensions).
"""

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
TEA_NS = "https://teaplatform.dev/ns/trace#"  # our extension namespace (a name, never fetched)
CONTEXT: list[Any] = [EPCIS_CONTEXT, {"tea": TEA_NS}]

# our extension fields inside an event
CHAIN = "tea:chain"  # [{lot, seq, prev}] — signed: the event's place in each lot's hash chain
SIGNER = "tea:signer"  # {org, keyId} — signed: who signs
PROOF = "tea:proof"  # {hash, signature} — the only unsigned field, present in exports

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransformationEvent")


class BizStep(StrEnum):
    """CBV 2.0 business steps (the bare-word form EPCIS 2.0 JSON-LD allows)."""

    ACCEPTING = "accepting"
    ARRIVING = "arriving"
    ASSEMBLING = "assembling"
    COLLECTING = "collecting"
    COMMISSIONING = "commissioning"
    CONSIGNING = "consigning"
    CREATING_CLASS_INSTANCE = "creating_class_instance"
    CYCLE_COUNTING = "cycle_counting"
    DECOMMISSIONING = "decommissioning"
    DEPARTING = "departing"
    DESTROYING = "destroying"
    DISASSEMBLING = "disassembling"
    DISPENSING = "dispensing"
    ENCODING = "encoding"
    ENTERING_EXITING = "entering_exiting"
    HOLDING = "holding"
    INSPECTING = "inspecting"
    INSTALLING = "installing"
    KILLING = "killing"
    LOADING = "loading"
    OTHER = "other"
    PACKING = "packing"
    PICKING = "picking"
    RECEIVING = "receiving"
    REMOVING = "removing"
    REPACKAGING = "repackaging"
    REPAIRING = "repairing"
    REPLACING = "replacing"
    RESERVING = "reserving"
    RETAIL_SELLING = "retail_selling"
    SENSOR_REPORTING = "sensor_reporting"
    SHIPPING = "shipping"
    STAGING_OUTBOUND = "staging_outbound"
    STOCK_TAKING = "stock_taking"
    STOCKING = "stocking"
    STORING = "storing"
    TRANSPORTING = "transporting"
    UNLOADING = "unloading"
    UNPACKING = "unpacking"
    VOID_SHIPPING = "void_shipping"


class Disposition(StrEnum):
    """CBV 2.0 dispositions."""

    ACTIVE = "active"
    AVAILABLE = "available"
    COMPLETENESS_INFERRED = "completeness_inferred"
    COMPLETENESS_VERIFIED = "completeness_verified"
    CONFORMANT = "conformant"
    CONTAINER_CLOSED = "container_closed"
    CONTAINER_OPEN = "container_open"
    DAMAGED = "damaged"
    DESTROYED = "destroyed"
    DISPENSED = "dispensed"
    DISPOSED = "disposed"
    ENCODED = "encoded"
    EXPIRED = "expired"
    IN_PROGRESS = "in_progress"
    IN_TRANSIT = "in_transit"
    INACTIVE = "inactive"
    MISMATCH_CLASS = "mismatch_class"
    MISMATCH_INSTANCE = "mismatch_instance"
    MISMATCH_QUANTITY = "mismatch_quantity"
    NEEDS_REPLACEMENT = "needs_replacement"
    NO_PEDIGREE_MATCH = "no_pedigree_match"
    NON_CONFORMANT = "non_conformant"
    NON_SELLABLE_OTHER = "non_sellable_other"
    PARTIALLY_DISPENSED = "partially_dispensed"
    RECALLED = "recalled"
    RESERVED = "reserved"
    RETAIL_SOLD = "retail_sold"
    RETURNED = "returned"
    SELLABLE_ACCESSIBLE = "sellable_accessible"
    SELLABLE_NOT_ACCESSIBLE = "sellable_not_accessible"
    STOLEN = "stolen"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


# the three spellings of a CBV word: bare, GS1 Web URI (CBV 2.0), EPCIS 1.x URN
_CBV_FORMS = {
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"),
}
_TZ = re.compile(r"^[+-]\d{2}:\d{2}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def cbv_word(value: str, field: Literal["bizStep", "disposition"]) -> str:
    """The bare CBV word of `value` in any of its three forms; other URIs pass unchanged."""
    for prefix in _CBV_FORMS[field]:
        if value.startswith(prefix):
            return value.removeprefix(prefix)
    return value


class EventError(ValueError):
    """An event (or document) that does not follow the EPCIS 2.0 rules; `problems` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


Uri = Annotated[str, Field(pattern=_URI.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Place(_Model):
    id: Uri


class _Quantity(_Model):
    epcClass: Uri
    quantity: float | None = Field(default=None, ge=0)
    uom: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,3}$")] | None = None

    @field_validator("quantity", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("quantity must be a number")
        return float(value) if isinstance(value, int) else value


class _Event(_Model):
    type: Literal["ObjectEvent", "AggregationEvent", "TransformationEvent"]
    eventTime: str
    eventTimeZoneOffset: str
    recordTime: str | None = None
    eventID: Uri | None = None
    bizStep: str | None = None
    disposition: str | None = None
    readPoint: _Place | None = None
    bizLocation: _Place | None = None
    ilmd: dict[str, Any] | None = None

    @field_validator("eventTime", "recordTime")
    @classmethod
    def _timestamp(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time(value)
        return value

    @field_validator("eventTimeZoneOffset")
    @classmethod
    def _offset(cls, value: str) -> str:
        if not _TZ.match(value):
            raise ValueError("must look like +08:00")
        return value

    @field_validator("bizStep")
    @classmethod
    def _biz_step(cls, value: str | None) -> str | None:
        return _cbv(value, "bizStep", BizStep)

    @field_validator("disposition")
    @classmethod
    def _disposition(cls, value: str | None) -> str | None:
        return _cbv(value, "disposition", Disposition)


class _ObjectEvent(_Event):
    action: Literal["ADD", "OBSERVE", "DELETE"]
    epcList: list[Uri] = []
    quantityList: list[_Quantity] = []


class _AggregationEvent(_Event):
    action: Literal["ADD", "OBSERVE", "DELETE"]
    parentID: Uri | None = None
    childEPCs: list[Uri] = []
    childQuantityList: list[_Quantity] = []


class _TransformationEvent(_Event):
    inputEPCList: list[Uri] = []
    inputQuantityList: list[_Quantity] = []
    outputEPCList: list[Uri] = []
    outputQuantityList: list[_Quantity] = []
    transformationID: Uri | None = None


_MODELS: dict[str, type[_Event]] = {
    "ObjectEvent": _ObjectEvent,
    "AggregationEvent": _AggregationEvent,
    "TransformationEvent": _TransformationEvent,
}


def _cbv(value: str | None, field: Literal["bizStep", "disposition"], vocab: Any) -> str | None:
    if value is None:
        return None
    word = cbv_word(value, field)
    if word in vocab.__members__.values() or (word == value and ":" in value):
        return value  # a CBV word in any form, or a user-defined URI (EPCIS allows both)
    raise ValueError(f"{value!r} is not a CBV 2.0 {field} (nor a URI)")


def validate_event(event: Mapping[str, Any]) -> None:
    """Check `event` against the EPCIS 2.0 JSON rules; raise `EventError` listing every problem."""
    kind = event.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise EventError([f"type: must be one of {', '.join(EVENT_TYPES)}, not {kind!r}"])
    try:
        model.model_validate(event)
    except ValidationError as exc:
        raise EventError(
            [
                f"{'.'.join(str(p) for p in err['loc']) or '(event)'}: {err['msg']}"
                for err in exc.errors()
            ]
        ) from None
    if (
        kind == "AggregationEvent"
        and event.get("action") != "OBSERVE"
        and not event.get("parentID")
    ):
        raise EventError(["parentID: required for ADD and DELETE aggregation events"])
    if kind == "TransformationEvent" and not (
        event.get("inputEPCList") or event.get("inputQuantityList")
    ):
        raise EventError(["inputEPCList/inputQuantityList: a transformation needs an input"])


def parse_time(text: str) -> datetime:
    """An EPCIS timestamp (ISO 8601 with an offset or Z) as an aware datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"timestamp needs an offset or Z: {text!r}")
    return value


def format_time(moment: datetime, offset: str | None = None) -> str:
    """`moment` as an EPCIS timestamp with milliseconds, in UTC (Z) or at `offset` (+08:00)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one")
    if offset is None:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(timedelta(minutes=sign * (hours * 60 + minutes)))
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def quantities(event: Mapping[str, Any], *fields: str) -> Iterable[str]:
    """The epcClass of every quantity element in the given list fields."""
    for field in fields:
        for element in event.get(field) or ():
            if isinstance(element, Mapping) and isinstance(element.get("epcClass"), str):
                yield element["epcClass"]


def document(
    events: list[dict[str, Any]], created: datetime, header: dict[str, Any]
) -> dict[str, Any]:
    """An EPCISDocument around `events` (standard @context plus our ``tea`` prefix)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(created),
        "epcisBody": {"eventList": events},
    }
    if header:
        doc["epcisHeader"] = header
    return doc


def document_events(doc: Any) -> list[dict[str, Any]]:
    """The event list of an EPCISDocument, after checking its envelope."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise EventError(["document: must be a JSON object"])
    if doc.get("type") != "EPCISDocument":
        problems.append("type: must be 'EPCISDocument'")
    if doc.get("schemaVersion") != "2.0":
        problems.append("schemaVersion: must be '2.0'")
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if EPCIS_CONTEXT not in contexts:
        problems.append(f"@context: must include {EPCIS_CONTEXT}")
    body = doc.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        problems.append("epcisBody.eventList: must be a list of events")
    if problems:
        raise EventError(problems)
    assert isinstance(events, list)
    return events
