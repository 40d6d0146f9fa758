"""QR codes (segno) of a package's verification URL, a GS1 Digital Link URI."""

import io
from typing import Literal

import segno

from teaplatform.trace import ids

Kind = Literal["png", "svg"]


def package_url(public_url: str, sgtin: str, lot: str) -> str:
    """``{public_url}/01/{GTIN}/10/{lot}/21/{serial}``: the page that verifies this package."""
    lot_number = ids.parse_lgtin(lot).lot
    return ids.digital_link(public_url, ids.parse_sgtin(sgtin), lot_number)


def qr_image(url: str, kind: Kind = "png", *, scale: int = 8) -> bytes:
    """The QR code of `url` (error correction M: survives ~15 % damage) as PNG or SVG."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind=kind, scale=scale, border=4)
    return out.getvalue()
