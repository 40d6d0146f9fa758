"""GS1 identifiers as EPC URNs (Tag Data Standard) and GS1 Digital Link URIs.

* a lot of a product:      ``urn:epc:class:lgtin:CompanyPrefix.ItemRef.Lot``  (LGTIN)
* one package:             ``urn:epc:id:sgtin:CompanyPrefix.ItemRef.Serial``  (SGTIN)
* a case or pallet:        ``urn:epc:id:sscc:CompanyPrefix.SerialRef``        (SSCC)
* a place (plot, factory): ``urn:epc:id:sgln:CompanyPrefix.LocationRef.Ext``  (SGLN)
* an organisation:         ``urn:epc:id:pgln:CompanyPrefix.PartyRef``         (PGLN)

ItemRef carries the GTIN's indicator digit first, so company prefix + item reference are 12
digits and the GTIN-14 is indicator + prefix + item + check digit.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

# GS1 AI 10/21 characters (GS1 General Specifications, "AI encodable character set 82"),
# restricted here to the URL- and URN-safe subset our codes use.
_ATTR = r"[A-Za-z0-9\-._]{1,20}"
_LGTIN = re.compile(rf"^urn:epc:class:lgtin:(\d{{6,12}})\.(\d{{1,7}})\.({_ATTR})$")
_SGTIN = re.compile(rf"^urn:epc:id:sgtin:(\d{{6,12}})\.(\d{{1,7}})\.({_ATTR})$")
_SSCC = re.compile(r"^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$")
_SGLN = re.compile(rf"^urn:epc:id:sgln:(\d{{6,12}})\.(\d{{0,6}})\.({_ATTR}|0)$")
_PGLN = re.compile(r"^urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})$")
_SERIAL = re.compile(rf"^{_ATTR}$")


class IdentifierError(ValueError):
    """A malformed GS1 identifier."""


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of `digits` (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Product:
    """A trade item: GS1 company prefix and item reference (indicator digit first)."""

    company_prefix: str
    item_ref: str

    def __post_init__(self) -> None:
        if not (self.company_prefix + self.item_ref).isdigit() or (
            len(self.company_prefix) + len(self.item_ref) != 13
        ):
            raise IdentifierError("company prefix + item reference must be 13 digits")

    @property
    def gtin(self) -> str:
        """The GTIN-14."""
        body = self.item_ref[0] + self.company_prefix + self.item_ref[1:]
        return body + check_digit(body)

    def lgtin(self, lot: str) -> str:
        _attr(lot, "lot number")
        return f"urn:epc:class:lgtin:{self.company_prefix}.{self.item_ref}.{lot}"

    def sgtin(self, serial: str) -> str:
        _attr(serial, "serial number")
        return f"urn:epc:id:sgtin:{self.company_prefix}.{self.item_ref}.{serial}"


@dataclass(frozen=True, slots=True)
class Lgtin:
    product: Product
    lot: str

    @property
    def urn(self) -> str:
        return self.product.lgtin(self.lot)


@dataclass(frozen=True, slots=True)
class Sgtin:
    product: Product
    serial: str

    @property
    def urn(self) -> str:
        return self.product.sgtin(self.serial)


def parse_lgtin(urn: str) -> Lgtin:
    m = _LGTIN.match(urn)
    if not m:
        raise IdentifierError(f"not an LGTIN URN: {urn!r}")
    return Lgtin(Product(m[1], m[2]), m[3])


def parse_sgtin(urn: str) -> Sgtin:
    m = _SGTIN.match(urn)
    if not m:
        raise IdentifierError(f"not an SGTIN URN: {urn!r}")
    return Sgtin(Product(m[1], m[2]), m[3])


def is_lgtin(urn: str) -> bool:
    return _LGTIN.match(urn) is not None


def is_sgtin(urn: str) -> bool:
    return _SGTIN.match(urn) is not None


def is_sscc(urn: str) -> bool:
    return _SSCC.match(urn) is not None


def is_sgln(urn: str) -> bool:
    return _SGLN.match(urn) is not None


def is_pgln(urn: str) -> bool:
    return _PGLN.match(urn) is not None


def sscc(company_prefix: str, serial_ref: str) -> str:
    """An SSCC URN; `serial_ref` is extension digit + serial (17 digits with the prefix)."""
    urn = f"urn:epc:id:sscc:{company_prefix}.{serial_ref}"
    if len(company_prefix) + len(serial_ref) != 17 or not is_sscc(urn):
        raise IdentifierError(f"bad SSCC parts: {company_prefix!r}, {serial_ref!r}")
    return urn


def sgln(company_prefix: str, location_ref: str, extension: str = "0") -> str:
    urn = f"urn:epc:id:sgln:{company_prefix}.{location_ref}.{extension}"
    if len(company_prefix) + len(location_ref) != 12 or not is_sgln(urn):
        raise IdentifierError(f"bad SGLN parts: {company_prefix!r}, {location_ref!r}")
    return urn


def pgln(company_prefix: str, party_ref: str) -> str:
    urn = f"urn:epc:id:pgln:{company_prefix}.{party_ref}"
    if len(company_prefix) + len(party_ref) != 12 or not is_pgln(urn):
        raise IdentifierError(f"bad PGLN parts: {company_prefix!r}, {party_ref!r}")
    return urn


def digital_link(base_url: str, sgtin: Sgtin, lot: str | None = None) -> str:
    """GS1 Digital Link URI of one package: ``BASE/01/{GTIN}/10/{lot}/21/{serial}``."""
    path = f"/01/{sgtin.product.gtin}"
    if lot is not None:
        path += f"/10/{quote(lot, safe='')}"
    return f"{base_url.rstrip('/')}{path}/21/{quote(sgtin.serial, safe='')}"


def _attr(value: str, what: str) -> None:
    if not _SERIAL.match(value):
        raise IdentifierError(f"{what} must be 1-20 of A-Z a-z 0-9 - . _: {value!r}")
