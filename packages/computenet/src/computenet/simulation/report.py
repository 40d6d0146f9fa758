"""An offline HTML report of simulated policy runs: PNG plots and one self-contained page.

Plots are drawn with matplotlib's object API (`Figure` on the Agg canvas), so no global
pyplot state is touched and no display is needed. Every text drawn into a plot is reduced
to ASCII (no CJK fonts are installed on the machines that run this); the HTML page itself
is UTF-8 and bilingual.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from computenet.simulation.results import PackingResult, PolicyResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FGD_OPENB_ALLOCATION",
    "PACKING_COLUMNS",
    "SUMMARY_COLUMNS",
    "TRADEOFF_COLUMNS",
    "packing_table_rows",
    "summary_table_rows",
    "write_report",
]

# Published GPU allocation ratio of FGD on the openb trace (Weng et al., ATC'23).
FGD_OPENB_ALLOCATION = 0.954
FGD_LABEL = "FGD (ATC'23) on openb: 95.4%"

HOUR = 3600.0
DAY = 86400.0
DASH = "—"  # shown for figures that do not exist (None, NaN)
LOG_SPREAD = 100.0  # bar charts switch to a log scale above this max/min ratio

SUMMARY_COLUMNS: list[str] = [
    "Policy",
    "Avg JCT (h)",
    "P50 JCT (h)",
    "P99 JCT (h)",
    "Avg wait (h)",
    "P50 wait (h)",
    "P99 wait (h)",
    "Makespan (d)",
    "Utilization",
    "GPU alloc ratio",
    "Fragmentation",
    "Jain",
    "Preemptions",
    "Jobs finished/total",
    "Energy (MWh)",
    "Carbon (t CO2)",
    "Cost (k)",
    "Green share",
    "Wall (s)",
]

TRADEOFF_COLUMNS: list[str] = [
    "Weight",
    "Policy",
    "Avg JCT (h)",
    "Avg wait (h)",
    "Energy (MWh)",
    "Carbon (t CO2)",
    "Cost (k)",
    "Green share",
    "Deferred jobs",
    "Waited for a site",
]

PACKING_COLUMNS: list[str] = [
    "Policy",
    "Fill to",
    "Capacity (GPUs)",
    "Requested (GPUs)",
    "Allocated (GPUs)",
    "GPU alloc ratio",
    "Jobs placed/arrived",
    "Wall (s)",
]

# --------------------------------------------------------------------------- formatting


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(x: Any, scale: float = 1.0, digits: int = 2) -> str:
    v = _finite(x)
    return DASH if v is None else f"{v / scale:,.{digits}f}"


def _pct(x: Any, digits: int = 1) -> str:
    v = _finite(x)
    return DASH if v is None else f"{v * 100:.{digits}f}%"


def summary_table_rows(results: Sequence[PolicyResult]) -> list[list[str]]:
    """One formatted row per policy, in `SUMMARY_COLUMNS` order (the HTML table and the CLI
    print the same strings). Times in hours (makespan in days), shares in percent, and
    "—" where a figure does not exist."""
    rows: list[list[str]] = []
    for r in results:
        s = r.summary()
        rows.append(
            [
                r.policy,
                _fmt(s["avg_jct_s"], HOUR),
                _fmt(s["p50_jct_s"], HOUR),
                _fmt(s["p99_jct_s"], HOUR),
                _fmt(s["avg_wait_s"], HOUR),
                _fmt(s["p50_wait_s"], HOUR),
                _fmt(s["p99_wait_s"], HOUR),
                _fmt(s["makespan_s"], DAY),
                _pct(s["utilization"]),
                _pct(s["gpu_allocation_ratio"]),
                _pct(s["fragmentation"]),
                _fmt(s["jain_fairness"], digits=3),
                f"{s['preemptions']:,}",
                f"{s['jobs_finished']:,}/{s['jobs_total']:,}",
                *_energy_cells(s),
                _fmt(s["wall_s"]),
            ]
        )
    return rows


def _energy_cells(s: dict[str, Any]) -> list[str]:
    """Energy in MWh, carbon in tonnes, cost in thousands, green share in percent."""
    return [
        _fmt(s["energy_kwh"], 1000.0),
        _fmt(s["carbon_kg"], 1000.0),
        _fmt(s["cost"], 1000.0),
        _pct(s["green_share"]),
    ]


def tradeoff_table_rows(
    weight: str, points: Sequence[tuple[float, PolicyResult]]
) -> list[list[str]]:
    rows = []
    for value, r in points:
        s = r.summary()
        rows.append(
            [
                f"{weight} = {value:g}",
                r.policy,
                _fmt(s["avg_jct_s"], HOUR),
                _fmt(s["avg_wait_s"], HOUR),
                *_energy_cells(s),
                f"{s['deferred_jobs']:,}",
                f"{s['site_waits']:,}",
            ]
        )
    return rows


def packing_table_rows(packing: Sequence[PackingResult]) -> list[list[str]]:
    """One formatted row per packing run, in `PACKING_COLUMNS` order."""
    rows: list[list[str]] = []
    for p in packing:
        s = p.summary()
        rows.append(
            [
                p.policy,
                _pct(s["fill_to"], 0),
                _fmt(s["capacity_gpus"], digits=1),
                _fmt(s["requested_gpus"], digits=1),
                _fmt(s["allocated_gpus"], digits=1),
                _pct(s["gpu_allocation_ratio"]),
                f"{s['jobs_placed']:,}/{s['jobs_arrived']:,}",
                _fmt(s["wall_s"]),
            ]
        )
    return rows


def _tenant_rows(results: Sequence[PolicyResult]) -> list[list[str]]:
    return [
        [
            r.policy,
            t.tenant,
            _pct(t.entitlement),
            _pct(t.received),
            f"{t.jobs:,}",
            _fmt(t.avg_jct_s, HOUR),
            _fmt(t.energy_kwh, 1000.0),
            _fmt(t.carbon_kg, 1000.0),
            _fmt(t.cost, 1000.0),
        ]
        for r in results
        for t in r.tenants
    ]


def _site_rows(results: Sequence[PolicyResult]) -> list[list[str]]:
    return [
        [
            r.policy,
            u.site,
            _fmt(u.device_hours, digits=0),
            _fmt(u.energy_kwh, 1000.0),
            _fmt(u.carbon_kg, 1000.0),
            _fmt(u.cost, 1000.0),
            _pct(u.green_share),
        ]
        for r in results
        for u in r.sites
    ]


# --------------------------------------------------------------------------- plotting


def _ascii(text: str) -> str:
    """Plot-safe text: ASCII only (no glyph warnings), no mathtext, no hidden legend label."""
    out = text.encode("ascii", "backslashreplace").decode("ascii").replace("$", r"\$")
    return " " + out if out.startswith("_") else out


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})


def _use_log(values: Sequence[float]) -> bool:
    return bool(values) and min(values) > 0 and max(values) / min(values) > LOG_SPREAD


def _grouped_bars(
    ax: Axes,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    ylabel: str,
) -> None:
    """Bars of each series side by side within each group (one group per policy)."""
    n = max(len(series), 1)
    width = 0.8 / n
    heights = [h for _, values in series for h in values]
    for i, (label, values) in enumerate(series):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width=width, label=_ascii(label))
    ax.set_xticks(range(len(groups)), [_ascii(g) for g in groups])
    if len(groups) > 4:
        ax.tick_params(axis="x", labelrotation=30)
    if _use_log(heights):
        ax.set_yscale("log")
        ylabel += " (log scale)"
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")


def _bar_values(xs: Sequence[float | None], scale: float) -> list[float]:
    return [(v / scale) if v is not None and v > 0 else 0.0 for v in xs]


def _plot_jct(path: Path, results: Sequence[PolicyResult]) -> bool:
    stats = [[_finite(r.avg_jct_s), _finite(r.p50_jct_s), _finite(r.p99_jct_s)] for r in results]
    if not results or all(v is None for row in stats for v in row):
        return False
    fig = _new_figure(max(6.0, 1.3 * len(results) + 3), 4.2)
    ax = fig.add_subplot()
    names = ("avg", "p50", "p99")
    _grouped_bars(
        ax,
        [r.policy for r in results],
        [(name, _bar_values([row[i] for row in stats], HOUR)) for i, name in enumerate(names)],
        "job completion time (h)",
    )
    ax.set_title("Job completion time per policy")
    _save(fig, path)
    return True


def _plot_wait(path: Path, results: Sequence[PolicyResult]) -> bool:
    stats = [[_finite(r.avg_wait_s), _finite(r.p99_wait_s)] for r in results]
    if not results or all(v is None for row in stats for v in row):
        return False
    fig = _new_figure(max(6.0, 1.1 * len(results) + 3), 4.2)
    ax = fig.add_subplot()
    _grouped_bars(
        ax,
        [r.policy for r in results],
        [
            ("avg", _bar_values([row[0] for row in stats], HOUR)),
            ("p99", _bar_values([row[1] for row in stats], HOUR)),
        ],
        "queueing delay (h)",
    )
    ax.set_title("Queueing delay per policy")
    _save(fig, path)
    return True


def _plot_jct_cdf(path: Path, results: Sequence[PolicyResult]) -> bool:
    curves: list[tuple[str, list[float]]] = []
    for r in results:
        hours = sorted(x / HOUR for x in r.jct_s if math.isfinite(x) and x > 0)
        if hours:
            curves.append((r.policy, hours))
    if not curves:
        return False
    fig = _new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    for policy, hours in curves:
        n = len(hours)
        ax.step(hours, [(i + 1) / n for i in range(n)], where="post", label=_ascii(policy))
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("job completion time (h, log scale)")
    ax.set_ylabel("fraction of finished jobs")
    ax.set_title("CDF of job completion time")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="lower right")
    _save(fig, path)
    return True


def _clean_series(
    series: Sequence[tuple[float, float]], xscale: float = DAY
) -> tuple[list[float], list[float]]:
    """Finite points only, x divided by `xscale`."""
    xs: list[float] = []
    ys: list[float] = []
    for t, v in series:
        if math.isfinite(t) and math.isfinite(v):
            xs.append(t / xscale)
            ys.append(v)
    return xs, ys


def _plot_utilization(path: Path, results: Sequence[PolicyResult]) -> bool:
    util = [(r.policy, _clean_series(r.utilization_series)) for r in results]
    queue = [(r.policy, _clean_series([(t, float(q)) for t, q in r.queue_series])) for r in results]
    util = [(p, s) for p, s in util if s[0]]
    queue = [(p, s) for p, s in queue if s[0]]
    if not util and not queue:
        return False
    panels: list[tuple[str, str, list[tuple[str, tuple[list[float], list[float]]]]]] = []
    if util:
        panels.append(("Accelerator utilization over time", "busy share (%)", util))
    if queue:
        panels.append(("Pending queue length over time", "pending jobs", queue))
    fig = _new_figure(8.0, 3.4 * len(panels))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    for (title, ylabel, lines), row in zip(panels, axes, strict=True):
        ax: Axes = row[0]
        pct = ylabel.endswith("(%)")
        for policy, (xs, ys) in lines:
            values = [y * 100 for y in ys] if pct else ys
            ax.step(xs, values, where="post", label=_ascii(policy), linewidth=1.0)
        if pct:
            ax.set_ylim(0, 105)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    axes[-1][0].set_xlabel("simulated time (days)")
    _save(fig, path)
    return True


def _plot_fairness(path: Path, results: Sequence[PolicyResult]) -> bool:
    with_tenants = [r for r in results if r.tenants]
    if not with_tenants:
        return False
    tenants: list[str] = []
    entitlement: dict[str, float] = {}
    for r in with_tenants:
        for t in r.tenants:
            if t.tenant not in entitlement:
                tenants.append(t.tenant)
                entitlement[t.tenant] = t.entitlement
    n = len(with_tenants)
    width = 0.8 / n
    fig = _new_figure(max(7.0, 0.5 * len(tenants) * (n + 1) + 3), 4.6)
    ax = fig.add_subplot()
    for i, r in enumerate(with_tenants):
        got = {t.tenant: t.received for t in r.tenants}
        xs = [k + (i - (n - 1) / 2) * width for k in range(len(tenants))]
        ys = [100 * (_finite(got.get(t)) or 0.0) for t in tenants]
        ax.bar(xs, ys, width=width, label=_ascii(f"{r.policy} (Jain {r.jain_fairness:.3f})"))
    ax.hlines(
        [100 * (_finite(entitlement[t]) or 0.0) for t in tenants],
        [k - 0.45 for k in range(len(tenants))],
        [k + 0.45 for k in range(len(tenants))],
        colors="black",
        linestyles="dashed",
        label="entitlement",
    )
    ax.set_xticks(range(len(tenants)), [_ascii(t) for t in tenants])
    if len(tenants) > 5:
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_ylabel("share of accelerator-seconds (%)")
    ax.set_xlabel("tenant")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    jain = ", ".join(f"{r.policy} {r.jain_fairness:.3f}" for r in with_tenants)
    ax.set_title(
        "\n".join(
            textwrap.wrap(_ascii(f"Received share vs entitlement - Jain's index: {jain}"), 90)
        )
    )
    _save(fig, path)
    return True


def _plot_energy(path: Path, results: Sequence[PolicyResult]) -> bool:
    """Energy, carbon and cost per policy, one panel each (their units differ)."""
    panels = [
        ("energy (MWh)", [r.energy_kwh / 1000.0 for r in results]),
        ("carbon (t CO2)", [(_finite(r.carbon_kg) or 0.0) / 1000.0 for r in results]),
        ("electricity cost (thousands)", [(_finite(r.cost) or 0.0) / 1000.0 for r in results]),
        ("green share (%)", [100 * (_finite(r.green_share) or 0.0) for r in results]),
    ]
    panels = [(label, values) for label, values in panels if any(v > 0 for v in values)]
    if not results or not panels:
        return False
    fig = _new_figure(max(7.0, 1.0 * len(results) + 4), 2.3 * len(panels) + 0.8)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    names = [_ascii(r.policy) for r in results]
    for (label, values), row in zip(panels, axes, strict=True):
        ax: Axes = row[0]
        ax.bar(range(len(values)), values, color="tab:green" if "green" in label else None)
        ax.set_ylabel(_ascii(label))
        ax.grid(axis="y", alpha=0.3)
    bottom: Axes = axes[-1][0]
    bottom.set_xticks(range(len(names)), names)
    bottom.tick_params(axis="x", labelrotation=30)
    axes[0][0].set_title("Energy, carbon and cost per policy")
    _save(fig, path)
    return True


def _plot_tradeoff(
    path: Path,
    weight: str,
    points: Sequence[tuple[float, PolicyResult]],
    others: Sequence[PolicyResult] = (),
) -> bool:
    """Carbon against average JCT as one weight rises (the trade-off curve), with the
    compared policies as grey crosses on the same axes."""
    pts = [
        (v, r.avg_jct_s / HOUR, (_finite(r.carbon_kg) or 0.0) / 1000.0, r.green_share)
        for v, r in points
        if _finite(r.carbon_kg) is not None
    ]
    if len(pts) < 2:
        return False
    fig = _new_figure(8.0, 5.0)
    ax = fig.add_subplot()
    xs = [p[1] for p in pts]
    ys = [p[2] for p in pts]
    ax.plot(xs, ys, marker="o", color="tab:green", label=_ascii(f"{weight} weight sweep"))
    for i, (v, x, y, green) in enumerate(pts):
        share = f", {100 * green:.0f}% green" if green is not None else ""
        ax.annotate(
            _ascii(f"{weight}={v:g}{share}"),
            (x, y),
            textcoords="offset points",
            xytext=(8, 6) if i % 2 == 0 else (8, -14),  # alternate: close points stay legible
            fontsize="small",
        )
    for r in others:
        carbon = _finite(r.carbon_kg)
        if carbon is None:
            continue
        ax.plot([r.avg_jct_s / HOUR], [carbon / 1000.0], marker="x", color="grey")
        ax.annotate(
            _ascii(r.policy),
            (r.avg_jct_s / HOUR, carbon / 1000.0),
            textcoords="offset points",
            xytext=(-8, 8),
            ha="right",
            fontsize="x-small",
            color="dimgrey",
        )
    ax.legend(fontsize="small", loc="upper right")
    ax.set_xlabel("average job completion time (h)")
    ax.set_ylabel("carbon (t CO2)")
    ax.set_title(_ascii(f"Carbon vs JCT as the {weight} weight rises"))
    ax.grid(alpha=0.3)
    _save(fig, path)
    return True


def _plot_packing(path: Path, packing: Sequence[PackingResult]) -> bool:
    curves = [(p.policy, _clean_series(p.curve, 1.0)) for p in packing]
    curves = [(p, s) for p, s in curves if s[0]]
    if not curves:
        return False
    fig = _new_figure(7.5, 4.6)
    ax = fig.add_subplot()
    top = max(max(xs) for _, (xs, _) in curves)
    top = max(top, 1.0)
    ax.plot(
        [0.0, 1.0, top],
        [0.0, 1.0, 1.0],
        color="grey",
        linewidth=0.8,
        alpha=0.6,
        label="ideal (every request placed)",
    )
    for policy, (xs, ys) in curves:
        ax.plot(xs, ys, label=_ascii(policy), linewidth=1.4)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1.0, label="capacity")
    ax.axhline(FGD_OPENB_ALLOCATION, color="tab:red", linestyle=":", linewidth=1.2, label=FGD_LABEL)
    ax.set_xlim(0.0, top * 1.02)
    ax.set_ylim(0.0, 1.08)
    ax.set_xlabel("requested share of capacity")
    ax.set_ylabel("allocated share of capacity")
    ax.set_title("GPU allocation as requests arrive")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    _save(fig, path)
    return True


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", "PingFang SC",
       "Microsoft YaHei", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; white-space: pre-wrap; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in columns)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{_e(row[0])}</th>']
        cells += [f'<td class="num">{_e(c)}</td>' for c in row[1:]]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(body)}\n</tbody>\n</table></div>"
    )


_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("jct.png", "Job completion time / 作业完成时间", "avg, p50 and p99 per policy"),
    ("jct_cdf.png", "JCT distribution / 作业完成时间分布", "CDF of finished jobs' JCT"),
    ("wait.png", "Queueing delay / 排队等待时间", "avg and p99 per policy"),
    (
        "utilization.png",
        "Utilization and queue / 利用率与排队长度",
        "busy share of accelerators and pending jobs over simulated time",
    ),
    (
        "fairness.png",
        "Fairness / 租户公平性",
        "received share of accelerator-seconds vs entitlement per tenant",
    ),
    (
        "packing.png",
        "Packing / 装箱实验",
        f"allocated vs requested share of capacity; dotted line: {FGD_LABEL}",
    ),
    (
        "energy.png",
        "Energy, carbon, cost / 能耗、碳排放与电费",
        "facility energy, carbon, electricity cost and green share per policy",
    ),
    (
        "tradeoff.png",
        "Trade-off / 权衡曲线",
        "carbon against average JCT as one profile weight rises",
    ),
)


def _html(
    *,
    title: str,
    workload: str,
    network: str,
    results: Sequence[PolicyResult],
    packing: Sequence[PackingResult],
    notes: Sequence[str],
    images: Sequence[str],
    tradeoff: tuple[str, Sequence[tuple[float, PolicyResult]]] | None = None,
) -> str:
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        '<dl class="meta">',
        f"<dt>Workload / 工作负载</dt><dd>{_e(workload)}</dd>",
        f"<dt>Network / 算力网络</dt><dd>{_e(network)}</dd>",
        "</dl>",
        "<h2>Summary / 结果汇总</h2>",
    ]
    if results:
        parts.append(_table(SUMMARY_COLUMNS, summary_table_rows(results)))
        parts.append(
            "<p>JCT and wait in hours, makespan in days; shares in percent; "
            f"{_e(DASH)} where a figure does not exist.</p>"
        )
    else:
        parts.append("<p>No policy results. / 无结果。</p>")
    tenant_rows = _tenant_rows(results)
    if tenant_rows:
        parts.append("<h2>Tenants / 租户</h2>")
        parts.append(
            _table(
                [
                    "Policy",
                    "Tenant",
                    "Entitlement",
                    "Received",
                    "Jobs",
                    "Avg JCT (h)",
                    "Energy (MWh)",
                    "Carbon (t)",
                    "Cost (k)",
                ],
                tenant_rows,
            )
        )
    site_rows = _site_rows(results)
    if site_rows:
        parts.append("<h2>Sites / 算力中心</h2>")
        parts.append(
            _table(
                [
                    "Policy",
                    "Site",
                    "Device-hours",
                    "Energy (MWh)",
                    "Carbon (t)",
                    "Cost (k)",
                    "Green share",
                ],
                site_rows,
            )
        )
    if tradeoff is not None:
        parts.append("<h2>Trade-off / 权衡曲线</h2>")
        parts.append(_table(TRADEOFF_COLUMNS, tradeoff_table_rows(*tradeoff)))
    if packing:
        parts.append("<h2>Packing / 装箱实验</h2>")
        parts.append(_table(PACKING_COLUMNS, packing_table_rows(packing)))
        parts.append(f"<p>Reference: {_e(FGD_LABEL)}.</p>")
    if notes:
        parts.append("<h2>Notes / 说明</h2>")
        parts.append("<ul>")
        parts.extend(f"<li>{_e(n)}</li>" for n in notes)
        parts.append("</ul>")
    if images:
        parts.append("<h2>Plots / 图表</h2>")
        for name, heading, caption in _FIGURES:
            if name in images:
                parts.append(
                    f'<figure><img src="{_e(name)}" alt="{_e(heading)}">'
                    f"<figcaption><strong>{_e(heading)}</strong>: {_e(caption)}</figcaption>"
                    "</figure>"
                )
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- entry point


def write_report(
    out_dir: Path,
    results: Sequence[PolicyResult],
    *,
    title: str,
    workload: str,
    network: str,
    packing: Sequence[PackingResult] = (),
    notes: Sequence[str] = (),
    tradeoff: tuple[str, Sequence[tuple[float, PolicyResult]]] | None = None,
) -> Path:
    """Write the plots and `index.html` into `out_dir` (created if missing); return the
    index path. A plot whose data is empty is not drawn, not linked, and any file of its
    name left in `out_dir` by an earlier report is removed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[tuple[str, Callable[[Path], bool]]] = [
        ("jct.png", lambda p: _plot_jct(p, results)),
        ("jct_cdf.png", lambda p: _plot_jct_cdf(p, results)),
        ("wait.png", lambda p: _plot_wait(p, results)),
        ("utilization.png", lambda p: _plot_utilization(p, results)),
        ("fairness.png", lambda p: _plot_fairness(p, results)),
        ("packing.png", lambda p: _plot_packing(p, packing)),
        ("energy.png", lambda p: _plot_energy(p, results)),
        (
            "tradeoff.png",
            lambda p: tradeoff is not None and _plot_tradeoff(p, *tradeoff, others=results),
        ),
    ]
    images: list[str] = []
    for name, draw in plots:
        path = out_dir / name
        if draw(path):
            images.append(name)
        else:
            path.unlink(missing_ok=True)
    index = out_dir / "index.html"
    index.write_text(
        _html(
            title=title,
            workload=workload,
            network=network,
            results=results,
            packing=packing,
            notes=notes,
            images=images,
            tradeoff=tradeoff,
        ),
        encoding="utf-8",
    )
    return index
