"""The HTML/PNG report of simulated policy runs."""

import dataclasses
import re
from pathlib import Path

import pytest

from computenet.simulation.report import (
    FGD_LABEL,
    PACKING_COLUMNS,
    SUMMARY_COLUMNS,
    packing_table_rows,
    summary_table_rows,
    write_report,
)
from computenet.simulation.results import PackingResult, PolicyResult, TenantUsage

pytestmark = pytest.mark.unit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = {"jct.png", "jct_cdf.png", "wait.png", "utilization.png", "fairness.png"}


def make_result(
    policy: str,
    *,
    scale: float = 1.0,
    series: bool = True,
    fragmentation: float | None = 0.12,
) -> PolicyResult:
    tenants = (
        TenantUsage("alpha", 0.5, 0.6, 3, 7200.0 * scale),
        TenantUsage("beta", 0.3, 0.3, 2, 3600.0 * scale),
        TenantUsage("gamma", 0.2, 0.1, 1, 1800.0 * scale),
    )
    util = tuple((i * 3600.0, min(1.0, 0.1 * i)) for i in range(12)) if series else ()
    queue = tuple((i * 3600.0, max(0, 6 - i)) for i in range(12)) if series else ()
    jct = tuple(x * scale for x in (600.0, 1800.0, 3600.0, 7200.0, 36000.0)) if series else ()
    return PolicyResult(
        policy=policy,
        jobs_total=6,
        jobs_finished=5,
        avg_jct_s=9840.0 * scale,
        p50_jct_s=3600.0 * scale,
        p99_jct_s=36000.0 * scale,
        avg_wait_s=1800.0 * scale,
        p50_wait_s=0.0,
        p99_wait_s=7200.0 * scale,
        makespan_s=2 * 86400.0,
        utilization=0.734,
        gpu_allocation_ratio=0.8123,
        fragmentation=fragmentation,
        jain_fairness=0.8771,
        preemptions=4,
        wall_s=1.234,
        tenants=tenants if series else (),
        utilization_series=util,
        queue_series=queue,
        jct_s=jct,
        wait_s=jct,
    )


def make_packing(policy: str, final: float) -> PackingResult:
    curve = tuple((x / 10, min(x / 10, final)) for x in range(13))
    return PackingResult(
        policy=policy,
        fill_to=1.3,
        capacity_milli=8000_000,
        requested_milli=10400_000,
        allocated_milli=int(8000_000 * final),
        jobs_arrived=1000,
        jobs_placed=900,
        wall_s=0.5,
        curve=curve,
    )


def referenced_images(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page)


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE)
    assert data.startswith(PNG_SIGNATURE)


def test_full_report(tmp_path: Path) -> None:
    results = [
        make_result("fifo"),
        make_result("drf", scale=3.0),
        make_result("gandiva", scale=0.5, fragmentation=None),
    ]
    packing = [make_packing("best-fit", 0.91), make_packing("fgd", 0.95)]
    out = tmp_path / "nested" / "report"
    index = write_report(
        out,
        results,
        title="Philly replay",
        workload="philly, 6 jobs",
        network="china-east-west / 东数西算",
        packing=packing,
        notes=["first note", "第二条 note"],
    )
    assert index == out / "index.html"
    page = index.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "Philly replay" in page
    assert "东数西算" in page
    assert "作业完成时间" in page
    for note in ("first note", "第二条 note"):
        assert f"<li>{note}</li>" in page
    for result, row in zip(results, summary_table_rows(results), strict=True):
        assert result.policy in page
        assert row[1] == f"{result.avg_jct_s / 3600:.2f}"
        assert f">{row[1]}<" in page
    # avg JCT 9840 s = 2.73 h; makespan 2 days; utilisation and ratio in percent
    assert ">2.73<" in page
    assert ">2.00<" in page
    assert ">73.4%<" in page
    assert ">81.2%<" in page
    assert ">—<" in page  # gandiva has no fragmentation figure
    assert ">5/6<" in page
    for p in packing:
        assert p.policy in page
    assert FGD_LABEL.replace("'", "&#x27;") in page
    images = referenced_images(page)
    assert set(images) == ALL_PLOTS | {"packing.png"}
    for name in images:
        assert_png(out / name)
    assert "http://" not in page and "https://" not in page


def test_table_rows() -> None:
    results = [make_result("fifo", fragmentation=None)]
    rows = summary_table_rows(results)
    assert len(rows) == 1
    assert len(rows[0]) == len(SUMMARY_COLUMNS)
    assert rows[0] == [
        "fifo",
        "2.73",
        "1.00",
        "10.00",
        "0.50",
        "0.00",
        "2.00",
        "2.00",
        "73.4%",
        "81.2%",
        "—",
        "0.877",
        "4",
        "5/6",
        "0.00",  # energy (MWh): none recorded
        "—",  # carbon, cost and green share: no energy data
        "—",
        "—",
        "1.23",
    ]
    packing = packing_table_rows([make_packing("fgd", 0.954)])
    assert len(packing[0]) == len(PACKING_COLUMNS)
    assert packing[0][0] == "fgd"
    assert packing[0][5] == "95.4%"


def test_nan_figures_show_a_dash() -> None:
    r = make_result("empty")
    nan = dataclasses.replace(r, avg_jct_s=float("nan"), gpu_allocation_ratio=None)
    row = summary_table_rows([nan])[0]
    assert row[1] == "—"
    assert row[9] == "—"


def test_empty_series_are_skipped(tmp_path: Path) -> None:
    results = [make_result("lonely", series=False)]
    index = write_report(tmp_path, results, title="t", workload="w", network="n")
    page = index.read_text(encoding="utf-8")
    images = referenced_images(page)
    # bars come from the summary figures; the rest needs series, tenants or packing
    assert set(images) == {"jct.png", "wait.png"}
    for name in images:
        assert_png(tmp_path / name)
    for name in ("jct_cdf.png", "utilization.png", "fairness.png", "packing.png"):
        assert not (tmp_path / name).exists()
    assert "lonely" in page


def test_mixed_empty_and_full_series(tmp_path: Path) -> None:
    results = [make_result("full"), make_result("bare", series=False)]
    index = write_report(tmp_path, results, title="t", workload="w", network="n")
    images = referenced_images(index.read_text(encoding="utf-8"))
    assert set(images) == ALL_PLOTS
    for name in images:
        assert_png(tmp_path / name)


def test_no_results_at_all(tmp_path: Path) -> None:
    index = write_report(tmp_path, [], title="nothing", workload="w", network="n")
    page = index.read_text(encoding="utf-8")
    assert referenced_images(page) == []
    assert "nothing" in page


def test_stale_plots_are_removed(tmp_path: Path) -> None:
    write_report(tmp_path, [make_result("full")], title="t", workload="w", network="n")
    assert (tmp_path / "jct_cdf.png").exists()
    write_report(
        tmp_path, [make_result("bare", series=False)], title="t", workload="w", network="n"
    )
    assert not (tmp_path / "jct_cdf.png").exists()


def test_packing_without_curve_is_skipped(tmp_path: Path) -> None:
    flat = PackingResult("fgd", 1.3, 8000, 9000, 7600, 10, 9, 0.1)
    index = write_report(tmp_path, [], title="t", workload="w", network="n", packing=[flat])
    page = index.read_text(encoding="utf-8")
    assert "packing.png" not in referenced_images(page)
    assert ">95.0%<" in page


def test_text_is_escaped(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    results = [make_result(evil), make_result("$math$ _hidden 调度")]
    index = write_report(
        tmp_path,
        results,
        title="<b>title</b> & co",
        workload='"quoted" <w>',
        network="<n>",
        packing=[make_packing(evil, 0.9)],
        notes=["<i>note</i>"],
    )
    page = index.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>title</b>" not in page
    assert "&lt;b&gt;title&lt;/b&gt; &amp; co" in page
    assert "&quot;quoted&quot; &lt;w&gt;" in page
    assert "<i>note</i>" not in page
    assert "调度" in page
    for name in referenced_images(page):
        assert_png(tmp_path / name)


def test_log_scale_spread(tmp_path: Path) -> None:
    results = [make_result("fast", scale=0.01), make_result("slow", scale=100.0)]
    index = write_report(tmp_path, results, title="t", workload="w", network="n")
    for name in referenced_images(index.read_text(encoding="utf-8")):
        assert_png(tmp_path / name)
