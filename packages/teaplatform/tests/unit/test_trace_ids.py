"""GS1 identifiers: check digits, EPC URNs, GS1 Digital Link."""

import pytest

from teaplatform.trace import ids

pytestmark = pytest.mark.unit


def test_check_digit_of_known_gtins() -> None:
    assert ids.check_digit("400638133393") == "1"  # GTIN-13 4006381333931
    assert ids.check_digit("0061414100001") == ids.Product("0614141", "000001").gtin[-1]
    assert ids.Product("0012345", "060001").gtin == "00012345600012"  # GS1 example GTIN-14


def test_urns_round_trip() -> None:
    product = ids.Product("0614141", "020001")
    lot = product.lgtin("G2601")
    assert lot == "urn:epc:class:lgtin:0614141.020001.G2601"
    assert ids.parse_lgtin(lot).lot == "G2601"
    sgtin = ids.parse_sgtin(product.sgtin("X4QSR7C2UX"))
    assert (sgtin.serial, sgtin.product) == ("X4QSR7C2UX", product)
    assert ids.is_sscc(ids.sscc("0614141", "0000000001"))
    assert ids.is_sgln(ids.sgln("0614141", "10001"))
    assert ids.is_pgln(ids.pgln("0614141", "00001"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: ids.Product("0614141", "12345"),  # 12 digits, not 13
        lambda: ids.Product("0614141", "02000A"),
        lambda: ids.Product("0614141", "020001").lgtin("has space"),
        lambda: ids.parse_sgtin("urn:epc:id:sgtin:0614141.020001"),
        lambda: ids.sscc("0614141", "1"),
    ],
)
def test_malformed_identifiers_are_rejected(call: object) -> None:
    with pytest.raises(ids.IdentifierError):
        call()  # type: ignore[operator]


def test_digital_link_of_a_package() -> None:
    sgtin = ids.parse_sgtin("urn:epc:id:sgtin:0614141.020001.AB12")
    assert ids.digital_link("https://tea.example/", sgtin, "G2601") == (
        "https://tea.example/01/00614141200016/10/G2601/21/AB12"
    )
