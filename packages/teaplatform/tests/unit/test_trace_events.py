"""EPCIS 2.0 events: validation, CBV words, the lots an event concerns; scans."""

from datetime import UTC, datetime

import pytest

from teaplatform.trace import builders
from teaplatform.trace.epcis import EventError, cbv_word, document, document_events, validate_event
from teaplatform.trace.lots import event_roles
from teaplatform.trace.scans import Scan, agent_family, assess, coarse_place

pytestmark = pytest.mark.unit

AT = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)
LEAF = "urn:epc:class:lgtin:0614141.010001.LG2601"
MADE = "urn:epc:class:lgtin:0614141.020001.G2601"
PKG = "urn:epc:id:sgtin:0614141.020001.AAA"
CASE = "urn:epc:id:sscc:0614141.0000000001"
PLOT = "urn:epc:id:sgln:0614141.10001.0"


def journey() -> list[dict[str, object]]:
    return [
        builders.harvest(name="h", leaf_lot=LEAF, lot_number="LG2601", kg=100, at=AT, plot=PLOT),
        builders.processing(
            name="p",
            inputs=[(LEAF, 100)],
            output_lot=MADE,
            lot_number="G2601",
            kg=23.5,
            at=AT,
            site=None,
        ),
        builders.grading(name="g", lot=MADE, grade="A", conformant=True, at=AT, site=None),
        builders.packaging(name="k", packages=[PKG], lot_number="G2601", at=AT, site=None),
        builders.packing(name="c", case=CASE, packages=[PKG], at=AT, site=None),
        builders.shipping(
            name="s",
            epcs=[CASE],
            at=AT,
            site=None,
            source="urn:epc:id:pgln:0614141.00002",
            destination="urn:epc:id:pgln:0614141.00004",
        ),
        builders.retail_sale(name="r", package=PKG, at=AT, site=None),
    ]


def test_the_journey_builders_make_valid_epcis_events() -> None:
    for event in journey():
        validate_event(event)
    assert journey()[1]["eventTime"] == "2026-04-02T09:00:00.000+08:00"
    assert journey()[0]["eventID"] == journey()[0]["eventID"]  # stable ids: idempotent records


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"type": "Nonsense"}, "type"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"eventTimeZoneOffset": "8h"}, "eventTimeZoneOffset"),
        ({"bizStep": "brewing"}, "bizStep"),
        ({"disposition": "tasty"}, "disposition"),
        ({"action": "UPSERT"}, "action"),
        ({"quantityList": [{"epcClass": MADE, "quantity": -1}]}, "quantityList"),
    ],
)
def test_invalid_events_are_rejected_with_the_field(change: dict[str, object], where: str) -> None:
    event = {
        **builders.grading(name="g", lot=MADE, grade="A", conformant=True, at=AT, site=None),
        **change,
    }
    with pytest.raises(EventError) as info:
        validate_event(event)
    assert any(p.startswith(where) for p in info.value.problems)


def test_cbv_words_in_all_three_forms() -> None:
    for form in (
        "shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
    ):
        assert cbv_word(form, "bizStep") == "shipping"
        validate_event({**journey()[5], "bizStep": form})
    validate_event({**journey()[5], "bizStep": "https://tea.example/steps/withering"})  # own URI


def test_roles_follow_lots_through_packages_and_cases() -> None:
    known: dict[str, set[str]] = {}
    lookup = lambda epc: known.get(epc, set())  # noqa: E731
    events = journey()
    assert event_roles(events[0], lookup).subjects == {LEAF}
    roles = event_roles(events[1], lookup)
    assert (roles.inputs, roles.outputs) == ({LEAF}, {MADE})
    roles = event_roles(events[3], lookup)  # commissioning packages with the lot number
    assert roles.subjects == {MADE} and roles.registrations == [(PKG, MADE)]
    known[PKG] = {MADE}
    roles = event_roles(events[4], lookup)  # packing: the case holds the package's lot
    assert roles.subjects == {MADE} and roles.registrations == [(CASE, MADE)]
    known[CASE] = {MADE}
    assert event_roles(events[5], lookup).subjects == {MADE}
    assert event_roles(events[6], lookup).subjects == {MADE}
    assert event_roles(events[6], lambda _: set()).unknown == [PKG]


def test_document_envelope() -> None:
    doc = document(journey(), AT, {})
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    assert len(document_events(doc)) == 7
    with pytest.raises(EventError):
        document_events({**doc, "schemaVersion": "1.2"})
    with pytest.raises(EventError):
        document_events({**doc, "@context": "https://example.com/other.jsonld"})


def test_scans_are_coarse_and_flag_copies() -> None:
    assert coarse_place("203.0.113.77") == "203.0.113.0/24"
    assert coarse_place("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert coarse_place("not an ip") == "unknown"
    assert agent_family("Mozilla/5.0 (iPhone) MicroMessenger/8.0") == "WeChat"
    one_place = [Scan(AT, "203.0.113.0/24", "iPhone")] * 3
    assert not assess(one_place, limit=10).flagged
    assert assess(one_place, limit=2).reasons == ("scanned 3 times (more than 2)",)
    moved = [*one_place, Scan(AT, "198.51.100.0/24", "Android")]
    verdict = assess(moved, limit=10)
    assert verdict.flagged and verdict.places == 2
