"""The verification page (server-rendered HTML, Chinese and English, no external assets)."""

from datetime import timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from teaplatform.trace import ids
from teaplatform.trace.journey import LotReport, PackageReport

Lang = Literal["zh", "en"]
TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
HUNAN = timezone(timedelta(hours=8))

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "brand": "五彩湘茶",
        "title": "溯源验证",
        "switch": "English",
        "status_verified": "✔ 验证通过",
        "status_verified_hint": "每一步记录都由相应机构签名，哈希链完整，未发现篡改。",
        "status_tampered": "✖ 检测到篡改",
        "status_tampered_hint": "部分溯源记录在签名后被修改、缺失或签名无效，详见下方。",
        "status_counterfeit_suspected": "⚠ 疑似仿冒",
        "status_counterfeit_suspected_hint": "记录完整，但此包装码被多次或在多地扫描，可能被复制。",
        "status_unknown": "? 未知编码",
        "status_unknown_hint": "系统中没有此包装码：可能是仿冒产品。",
        "product": "产品",
        "name": "名称",
        "lot": "批次",
        "code": "包装码",
        "scans": "扫码记录",
        "scans_line": "此包装码已被扫描 {count} 次，来自 {places} 个网络。",
        "first_scan": "首次扫描于",
        "scans_flag": "扫描次数或地点异常",
        "findings": "发现的问题",
        "event": "事件",
        "journey": "从茶园到茶杯",
        "technical": "技术细节",
        "hash": "哈希",
        "key": "签名密钥",
        "merkle": "默克尔证明",
        "included": "已包含在签名的当日根中",
        "not_included": "不在签名的当日根中",
        "unsealed": "当日尚未封存：由事件签名与哈希链保护",
        "other_package": "同批次的其他包装",
        "footer": "每条记录均为 GS1 EPCIS 2.0 事件，经 RFC 8785 规范化后以 Ed25519 签名，"
        "按批次哈希链接，并按日汇总为签名的默克尔根。演示数据为合成数据（SYNTHETIC）。",
    },
    "en": {
        "brand": "Five-colour Hunan tea",
        "title": "Origin verification",
        "switch": "中文",
        "status_verified": "✔ Verified",
        "status_verified_hint": "Every step is signed by the organisation that did it; the hash "
        "chain is complete; nothing was altered.",
        "status_tampered": "✖ Tampering detected",
        "status_tampered_hint": "Some records were changed after signing, are missing, or carry "
        "an invalid signature; see below.",
        "status_counterfeit_suspected": "⚠ Possible counterfeit",
        "status_counterfeit_suspected_hint": "The records are intact, but this package code was "
        "scanned unusually often or from several places: it may have been copied.",
        "status_unknown": "? Unknown code",
        "status_unknown_hint": "This package code is not in the ledger: the product may be fake.",
        "product": "Product",
        "name": "Name",
        "lot": "Lot",
        "code": "Package code",
        "scans": "Scans",
        "scans_line": "This code was scanned {count} times from {places} networks.",
        "first_scan": "First scan",
        "scans_flag": "Unusual scans",
        "findings": "Problems found",
        "event": "event",
        "journey": "From garden to cup",
        "technical": "Technical details",
        "hash": "Hash",
        "key": "Signing key",
        "merkle": "Merkle proof",
        "included": "included in the day's signed root",
        "not_included": "NOT in the day's signed root",
        "unsealed": "Day not sealed yet: protected by the event signature and hash chain",
        "other_package": "other packages of this lot",
        "footer": "Each record is a GS1 EPCIS 2.0 event, canonicalised with RFC 8785, signed with "
        "Ed25519, hash-chained per lot and rolled up into a signed Merkle root per day. "
        "Demo data is SYNTHETIC.",
    },
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    report: PackageReport | LotReport,
    *,
    lang: Lang,
    switch_url: str,
    json_url: str,
    export_url: str | None,
) -> str:
    """The page for a package (with its scans) or a lot."""
    if isinstance(report, PackageReport):
        package, lot, scans = report, report.lot, report.scans
        findings = report.findings + (report.lot.findings if report.lot else [])
    else:
        package, lot, scans, findings = None, report, None, report.findings
    lot_number = ids.parse_lgtin(lot.lot).lot if lot and ids.is_lgtin(lot.lot) else ""
    return (
        _environment()
        .get_template("trace/verify.html")
        .render(
            t=TEXTS[lang],
            lang=lang,
            other_lang="en" if lang == "zh" else "zh",
            switch_url=switch_url,
            status=report.status,
            package=package,
            lot=lot,
            lot_number=lot_number,
            scans=scans,
            findings=findings,
            json_url=json_url,
            export_url=export_url,
            tz=HUNAN,
        )
    )
