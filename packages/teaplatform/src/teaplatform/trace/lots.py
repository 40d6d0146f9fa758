"""Which lots an event concerns (pure): the chains it is appended to.

Lots are LGTINs. An event names them directly (quantity lists) or through instance EPCs whose
lots are known: a package (SGTIN) commissioned with ``cbvmda:lotNumber`` in its ILMD belongs to
that lot; a case (SSCC) holds the lots of the children it was packed with. Commissioning and
packing register those memberships (`Roles.registrations`) for later events to look up.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teaplatform.trace import ids
from teaplatform.trace.epcis import quantities

LOT_NUMBER = "cbvmda:lotNumber"
Lookup = Callable[[str], set[str]]  # instance EPC -> its lots (empty when unknown)


@dataclass
class Roles:
    inputs: set[str] = field(default_factory=set)  # consumed by a transformation
    outputs: set[str] = field(default_factory=set)  # produced by a transformation
    subjects: set[str] = field(default_factory=set)  # what any other event is about
    registrations: list[tuple[str, str]] = field(default_factory=list)  # (epc, lot) learnt
    unknown: list[str] = field(default_factory=list)  # EPCs whose lot nobody knows

    @property
    def lots(self) -> set[str]:
        return self.inputs | self.outputs | self.subjects


def event_roles(event: Mapping[str, Any], lookup: Lookup) -> Roles:
    """The lots `event` concerns, by role, and the EPC memberships it establishes."""
    roles = Roles()
    kind = event.get("type")
    known: dict[str, set[str]] = {}

    def resolve(epc: str) -> set[str]:
        found = known.get(epc) or lookup(epc)
        if not found:
            roles.unknown.append(epc)
        return found

    def commission(epcs: list[str]) -> set[str]:
        """New packages carrying the event's lot number belong to that lot."""
        lot_number = (event.get("ilmd") or {}).get(LOT_NUMBER)
        lots: set[str] = set()
        for epc in epcs:
            if isinstance(lot_number, str) and ids.is_sgtin(epc):
                lot = ids.parse_sgtin(epc).product.lgtin(lot_number)
                roles.registrations.append((epc, lot))
                known[epc] = {lot}
                lots.add(lot)
            else:
                lots |= resolve(epc)
        return lots

    def epcs(name: str) -> list[str]:
        return [e for e in event.get(name) or () if isinstance(e, str)]

    if kind == "TransformationEvent":
        roles.inputs |= set(quantities(event, "inputQuantityList"))
        for epc in epcs("inputEPCList"):
            roles.inputs |= resolve(epc)
        roles.outputs |= set(quantities(event, "outputQuantityList"))
        roles.outputs |= commission(epcs("outputEPCList"))
    elif kind == "AggregationEvent":
        children: set[str] = set(quantities(event, "childQuantityList"))
        for epc in epcs("childEPCs"):
            children |= resolve(epc)
        parent = event.get("parentID")
        if isinstance(parent, str):
            if event.get("action") == "ADD":
                roles.registrations.extend((parent, lot) for lot in sorted(children))
            elif not children:
                children = resolve(parent)
        roles.subjects |= children
    else:
        roles.subjects |= set(quantities(event, "quantityList"))
        listed = epcs("epcList")
        if event.get("action") == "ADD":
            roles.subjects |= commission(listed)
        else:
            for epc in listed:
                roles.subjects |= resolve(epc)
    for lot in roles.lots:
        if not ids.is_lgtin(lot):
            roles.subjects.discard(lot)
            roles.inputs.discard(lot)
            roles.outputs.discard(lot)
    return roles
