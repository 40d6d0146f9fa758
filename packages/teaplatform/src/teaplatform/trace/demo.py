"""Demo data (SYNTHETIC): two lots of each of the five teas from plot to shop, with QR codes.

Four made-up organisations sign their own steps — a growers' cooperative (picking), a factory
(processing, grading, packaging), a carrier (shipping) and a tea house (receiving, sales) —
over a made-up spring 2026; the factory rotates its key half-way. Package codes come from a
seeded generator, so the same demo always has the same codes (`DEMO_CODE` is one of them).
"""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.trace import builders, ids
from teaplatform.trace.catalog import DEMO_PREFIX, TEAS
from teaplatform.trace.service import (
    add_location,
    add_product,
    record_event,
    register_org,
    rotate_key,
    seal_days,
)
from teaplatform.trace.tables import TraceCheckpoint, TraceEvent, TracePackage

GROWER = ids.pgln(DEMO_PREFIX, "00001")
FACTORY = ids.pgln(DEMO_PREFIX, "00002")
CARRIER = ids.pgln(DEMO_PREFIX, "00003")
SHOP = ids.pgln(DEMO_PREFIX, "00004")
ORGS = (
    (GROWER, "Hunan Tea Growers' Cooperative (SYNTHETIC)", "湖南茶农合作社（合成数据）", "grower"),
    (FACTORY, "Five-colour Tea Factory (SYNTHETIC)", "五彩茶厂（合成数据）", "processor"),
    (CARRIER, "Xiang Logistics (SYNTHETIC)", "湘运物流（合成数据）", "carrier"),
    (SHOP, "Changsha Tea House (SYNTHETIC)", "长沙茶馆（合成数据）", "retailer"),
)
FACTORY_SITE = ids.sgln(DEMO_PREFIX, "20001")
WAREHOUSE = ids.sgln(DEMO_PREFIX, "30001")
TEA_HOUSE = ids.sgln(DEMO_PREFIX, "40001")
PLOT_NAMES = {
    "green": ("Plot A · Xiaoxiang green (SYNTHETIC)", "A区 · 潇湘绿茶茶园（合成）"),
    "black": ("Plot B · Hunan black (SYNTHETIC)", "B区 · 湖南红茶茶园（合成）"),
    "dark": ("Plot C · Anhua dark (SYNTHETIC)", "C区 · 安化黑茶茶园（合成）"),
    "white": ("Plot D · Sangzhi white (SYNTHETIC)", "D区 · 桑植白茶茶园（合成）"),
    "yellow": ("Plot E · Yueyang yellow (SYNTHETIC)", "E区 · 岳阳黄茶茶园（合成）"),
}
GRADES = ("特级 Special", "一级 Grade 1")
SEASON = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)  # 09:00 in Hunan
ROTATION = SEASON + timedelta(days=12)
PACKAGES_PER_LOT = 6
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely


def _codes(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(_ALPHABET) for _ in range(10)) for _ in range(count)]


def _plot(index: int) -> str:
    return ids.sgln(DEMO_PREFIX, f"1000{index + 1}")


def journeys() -> list[tuple[datetime, str, dict[str, Any]]]:
    """Every demo event as (record time, signing org, event), in record order."""
    rng = random.Random(20260402)
    out: list[tuple[datetime, str, dict[str, Any]]] = []
    for round_ in range(2):
        for index, (code, tea) in enumerate(TEAS.items()):
            start = SEASON + timedelta(days=round_ * 14 + index)
            number = f"{code[0].upper()}26{round_ + 1:02d}"
            leaf_lot = tea.leaf.lgtin(f"L{number}")
            made_lot = tea.made.lgtin(number)
            packages = [tea.made.sgtin(serial) for serial in _codes(rng, PACKAGES_PER_LOT)]
            case = ids.sscc(DEMO_PREFIX, f"0{round_ * 10 + index + 1:09d}")
            picked_kg = round(rng.uniform(80, 160), 1)
            made_kg = round(picked_kg * rng.uniform(0.21, 0.25), 1)
            day = timedelta(days=1)
            steps: list[tuple[timedelta, str, dict[str, Any]]] = [
                (timedelta(hours=2), GROWER, builders.harvest(
                    name=f"demo:{number}:picking", leaf_lot=leaf_lot, lot_number=f"L{number}",
                    kg=picked_kg, at=start + timedelta(hours=2), started=start, plot=_plot(index),
                    details={"pickers": rng.randint(8, 15), "standard": "one bud, two leaves 一芽二叶"},
                )),
                (day, FACTORY, builders.processing(
                    name=f"demo:{number}:processing", inputs=[(leaf_lot, picked_kg)],
                    output_lot=made_lot, lot_number=number, kg=made_kg, at=start + day,
                    site=FACTORY_SITE,
                    details={"id": f"B-{number}", "tea_type": code, "recipe": f"{code}-standard", "deviations": 0},
                )),
                (2 * day, FACTORY, builders.grading(
                    name=f"demo:{number}:grading", lot=made_lot, grade=GRADES[round_],
                    conformant=True, at=start + 2 * day, site=FACTORY_SITE,
                    details={"score": round(rng.uniform(88, 96), 1), "method": "panel + image model"},
                )),
                (3 * day, FACTORY, builders.packaging(
                    name=f"demo:{number}:packaging", packages=packages, lot_number=number,
                    at=start + 3 * day, site=FACTORY_SITE, best_before="2028-04-30",
                )),
                (3 * day + timedelta(hours=1), FACTORY, builders.packing(
                    name=f"demo:{number}:packing", case=case, packages=packages,
                    at=start + 3 * day + timedelta(hours=1), site=FACTORY_SITE,
                )),
                (5 * day, CARRIER, builders.shipping(
                    name=f"demo:{number}:shipping", epcs=[case], at=start + 5 * day,
                    site=WAREHOUSE, source=FACTORY, destination=SHOP,
                )),
                (6 * day, SHOP, builders.receiving(
                    name=f"demo:{number}:receiving", epcs=[case], at=start + 6 * day, site=TEA_HOUSE,
                )),
                (9 * day, SHOP, builders.retail_sale(
                    name=f"demo:{number}:sale", package=packages[-1], at=start + 9 * day, site=TEA_HOUSE,
                )),
            ]  # fmt: skip
            # recorded ten minutes after the fact
            out.extend(
                (start + after + timedelta(minutes=10), org, event) for after, org, event in steps
            )
    return sorted(out, key=lambda item: item[0])


def seed_demo(settings: Settings, store: Store) -> str:
    """Load the demo journeys (idempotent) and seal their days; return a summary."""
    with store.session() as session:
        if session.scalar(
            select(func.count()).select_from(TraceEvent).where(TraceEvent.org_id == FACTORY)
        ):
            packages = session.scalar(select(func.count()).select_from(TracePackage)) or 0
            return f"already seeded ({packages} packages); e.g. /trace/p/{demo_code()}"
        for org, name, name_zh, role in ORGS:
            register_org(session, settings, org, name, name_zh=name_zh, role=role, now=SEASON)
        for index, code in enumerate(TEAS):
            add_location(
                session,
                _plot(index),
                PLOT_NAMES[code][0],
                name_zh=PLOT_NAMES[code][1],
                org_id=GROWER,
            )
        add_location(
            session,
            FACTORY_SITE,
            "Five-colour Tea Factory, Anhua (SYNTHETIC)",
            name_zh="安化五彩茶厂（合成）",
            org_id=FACTORY,
        )
        add_location(
            session,
            WAREHOUSE,
            "Changsha logistics hub (SYNTHETIC)",
            name_zh="长沙物流中心（合成）",
            org_id=CARRIER,
        )
        add_location(
            session,
            TEA_HOUSE,
            "Changsha Tea House, Furong Rd (SYNTHETIC)",
            name_zh="长沙茶馆芙蓉路店（合成）",
            org_id=SHOP,
        )
        for tea in TEAS.values():
            add_product(session, tea.leaf, f"{tea.name}, fresh leaf", name_zh=f"{tea.name_zh}鲜叶")
            add_product(session, tea.made, f"{tea.name}, 100 g", name_zh=f"{tea.name_zh} 100克")
    rotated = False
    events = journeys()
    for moment, org, event in events:
        with store.session() as session:
            if not rotated and moment >= ROTATION:
                rotate_key(session, settings, FACTORY, now=ROTATION)
                rotated = True
            record_event(session, settings, event, org=org, now=moment)
    with store.session() as session:
        seal_days(session, settings)
        days = session.scalar(select(func.count()).select_from(TraceCheckpoint)) or 0
    lots = 2 * len(TEAS)
    return (
        f"SYNTHETIC: {lots} lots, {lots * PACKAGES_PER_LOT} packages, {len(events)} signed events, "
        f"{days} ledger days sealed; e.g. /trace/p/{demo_code()}"
    )


def demo_code() -> str:
    """A package code of the demo (the first package of the first lot)."""
    return _codes(random.Random(20260402), 1)[0]
