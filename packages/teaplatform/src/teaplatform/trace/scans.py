"""Scans of a package's QR code (pure): coarse client information and the counterfeit flag.

A genuine package is bought once and scanned by few people from one place; a code copied onto
fake packages gets scanned many times, from many places. We keep only coarse information — the
client's network (IPv4 /24, IPv6 /48) and a browser family — never the full address.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

_AGENTS = (  # first match wins: specific apps before the browsers they embed
    ("micromessenger", "WeChat"),
    ("alipay", "Alipay"),
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("android", "Android"),
    ("edg/", "Edge"),
    ("firefox", "Firefox"),
    ("chrome", "Chrome"),
    ("safari", "Safari"),
    ("curl", "curl"),
    ("python", "script"),
    ("testclient", "script"),
)


def coarse_place(address: str | None) -> str:
    """The client's network, not its address: ``203.0.113.0/24`` or ``2001:db8:1::/48``."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def agent_family(user_agent: str | None) -> str:
    lowered = (user_agent or "").lower()
    for needle, family in _AGENTS:
        if needle in lowered:
            return family
    return "other"


@dataclass(frozen=True, slots=True)
class Scan:
    at: datetime
    place: str
    agent: str


@dataclass(frozen=True, slots=True)
class ScanVerdict:
    count: int
    places: int
    flagged: bool
    reasons: tuple[str, ...]
    first_at: datetime | None


def assess(scans: Sequence[Scan], limit: int) -> ScanVerdict:
    """Flag a code scanned more than `limit` times or from more than one place."""
    places = {scan.place for scan in scans}
    reasons: list[str] = []
    if len(places) > 1:
        reasons.append(f"scanned from {len(places)} different networks")
    if len(scans) > limit:
        reasons.append(f"scanned {len(scans)} times (more than {limit})")
    return ScanVerdict(
        count=len(scans),
        places=len(places),
        flagged=bool(reasons),
        reasons=tuple(reasons),
        first_at=min((scan.at for scan in scans), default=None),
    )
