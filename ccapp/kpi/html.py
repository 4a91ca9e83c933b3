"""The KPI report as one self-contained HTML page: the report's table and three charts.

The page needs nothing else: inline CSS, inline SVG (`ccapp.kpi.svg`), no script, no URL of any
kind (a Content-Security-Policy forbids loading anything). Charts:

* service level and abandonment per interval — the report's own rows when it is by interval only,
  else an extra report over the same period by the report's interval or, without one, by hour for
  periods up to 2 days, by day up to 120 days and by week beyond;
* the handle-time distribution (``handle_time_histogram`` over `HISTOGRAM_EDGES`);
* occupancy and utilization per agent (an extra report by agent).

`render_page` is pure; `html_report` runs the extra reports through the engine and renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html import escape
from typing import Any

from ccapp.kpi.definitions import KPI_BY_NAME, Dimension, Interval, Report, ReportRequest
from ccapp.kpi.render import (
    format_kpi,
    interval_texts,
    key_cells,
    key_columns,
    period_text,
    thresholds_text,
    total_cells,
)
from ccapp.kpi.svg import Series, bar_chart, nice_max, percent, whole

#: handle-time histogram bucket edges, seconds (the last bucket is open-ended)
HISTOGRAM_EDGES: tuple[float, ...] = (0, 30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200)
#: chart colours, distinct enough to be found in a screenshot
SL_COLOUR = "#1f77b4"
ABANDON_COLOUR = "#d62728"
AHT_COLOUR = "#2ca02c"
OCCUPANCY_COLOUR = "#9467bd"
UTILIZATION_COLOUR = "#ff7f0e"

TREND_KPIS = ("service_level", "abandon_rate")
AGENT_KPIS = ("occupancy", "utilization")

Histogram = Sequence[tuple[float, float | None, int]]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;color:#222;background:#fff;margin:0}
main{max-width:1040px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:0 0 4px}
p.meta{margin:0 0 12px;color:#555}
table.kpi{border-collapse:collapse;margin:8px 0 4px;font-variant-numeric:tabular-nums}
table.kpi th,table.kpi td{padding:3px 10px;border-bottom:1px solid #ddd;white-space:nowrap}
table.kpi th{background:#f3f3f3;text-align:left}
table.kpi .num{text-align:right}
table.kpi tfoot td{font-weight:600;border-top:2px solid #999}
figure.chart{margin:18px 0 0}
figure.chart figcaption{font-weight:600;font-size:16px;margin-bottom:4px}
figure.chart svg{display:block;max-width:100%;height:auto}
svg .grid{stroke:#e4e4e4}
svg .axis{stroke:#666}
svg text{font-size:12px;fill:#333}
p.empty{padding:24px;border:1px dashed #bbb;color:#555;background:#fafafa}
"""


@dataclass(slots=True)
class Extras:
    """What the charts need beyond the report: a by-interval report (None: the report itself is
    one), the handle-time histogram and a by-agent report."""

    trend: Report | None = None
    histogram: Histogram = field(default_factory=list)
    agents: Report | None = None


def is_trend(request: ReportRequest) -> bool:
    """True when a report is by interval only and has service level and abandonment."""
    return (
        request.interval is not None
        and not request.dimensions
        and all(name in request.kpis for name in TREND_KPIS)
    )


def auto_interval(request: ReportRequest) -> Interval:
    """The report's interval, else hour for up to 2 days, day up to 120 days, week beyond."""
    if request.interval is not None:
        return request.interval
    length = request.end - request.start
    if length <= timedelta(days=2):
        return Interval.HOUR
    return Interval.DAY if length <= timedelta(days=120) else Interval.WEEK


def trend_request(request: ReportRequest) -> ReportRequest:
    """The extra by-interval report of the service-level chart."""
    return replace(request, dimensions=(), interval=auto_interval(request), kpis=TREND_KPIS)


def agents_request(request: ReportRequest) -> ReportRequest:
    """The extra by-agent report of the occupancy chart (agent time has no queue: only an agent
    filter applies)."""
    where = {key: value for key, value in request.where.items() if key == Dimension.AGENT}
    return replace(request, dimensions=(Dimension.AGENT,), interval=None, kpis=AGENT_KPIS, where=where)


async def html_report(db: Any, report: Report, *, use_rollups: bool = True) -> str:
    """Run the charts' extra reports for ``report`` and render the page."""
    from ccapp.kpi import engine  # the engine pulls in storage; renderers do not need it

    request = report.request
    trend = None
    if not is_trend(request):
        trend = await engine.build_report(db, trend_request(request), use_rollups=use_rollups)
    histogram = await engine.handle_time_histogram(db, request, HISTOGRAM_EDGES)
    agents = await engine.build_report(db, agents_request(request), use_rollups=use_rollups)
    return render_page(report, Extras(trend=trend, histogram=histogram, agents=agents))


def render_page(report: Report, extras: Extras) -> str:
    """The whole page. Every text is escaped."""
    title = f"KPI report {period_text(report)}"
    body = [
        "<h1>KPI report</h1>",
        f'<p class="meta">{escape(period_text(report))} · thresholds '
        f"{escape(thresholds_text(report.request.thresholds))} · source {escape(report.source)} · "
        f"{report.elapsed_s:.2f} s</p>",
        _table(report),
        trend_chart(extras.trend or report),
        histogram_chart(extras.histogram),
        agents_chart(extras.agents),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _table(report: Report) -> str:
    kpis = report.request.kpis
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in key_columns(report) or [""])
    for name in kpis:
        kpi = KPI_BY_NAME[name]
        head += f'<th scope="col" class="num" title="{escape(kpi.doc)}">{escape(kpi.label)}</th>'

    def cells(keys: list[str], values: dict[str, float | None]) -> str:
        texts = "".join(f"<td>{escape(k)}</td>" for k in keys or [""])
        return texts + "".join(f'<td class="num">{escape(format_kpi(n, values.get(n)))}</td>' for n in kpis)

    intervals = interval_texts(report)
    rows = "".join(f"<tr>{cells(key_cells(report, row, intervals), row.kpis)}</tr>" for row in report.rows)
    total = cells(total_cells(report), report.total.kpis)
    return (
        f'<table class="kpi"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
        f"<tfoot><tr>{total}</tr></tfoot></table>"
    )


def trend_chart(trend: Report) -> str:
    """Service level and abandonment per interval (rows without an interval are left out)."""
    rows = [row for row in trend.rows if row.key.get("interval")]
    texts = interval_texts(trend)
    categories = [texts[str(row.key.get("interval"))] for row in rows]
    return bar_chart(
        "chart-sl",
        "Service level and abandonment per interval",
        categories,
        [
            Series("service level", SL_COLOUR, [row.kpis.get("service_level") for row in rows]),
            Series("abandonment", ABANDON_COLOUR, [row.kpis.get("abandon_rate") for row in rows]),
        ],
        y_max=1.0,
        y_format=percent,
        empty="No calls were offered in this period: no service level or abandonment to show.",
    )


def bucket_label(low: float, high: float | None) -> str:
    """``0–30 s`` or ``≥ 1200 s``."""
    return f"≥ {low:g} s" if high is None else f"{low:g}–{high:g} s"


def histogram_chart(histogram: Histogram) -> str:
    """Handled calls per handle-time bucket."""
    counts = [float(count) for _, _, count in histogram]
    return bar_chart(
        "chart-aht",
        "Handle time distribution (handled calls)",
        [bucket_label(low, high) for low, high, _ in histogram],
        [Series("handled calls", AHT_COLOUR, counts if any(counts) else [])],
        y_max=nice_max(max([5.0, *counts])),
        y_format=whole,
        empty="No handled calls in this period: no handle times to show.",
    )


def agents_chart(agents: Report | None) -> str:
    """Occupancy and utilization per agent."""
    rows = [] if agents is None else [row for row in agents.rows if row.key.get("agent")]
    return bar_chart(
        "chart-occupancy",
        "Agent occupancy and utilization",
        [str(row.key.get("agent")) for row in rows],
        [
            Series("occupancy", OCCUPANCY_COLOUR, [row.kpis.get("occupancy") for row in rows]),
            Series("utilization", UTILIZATION_COLOUR, [row.kpis.get("utilization") for row in rows]),
        ],
        y_max=1.0,
        y_format=percent,
        empty="No agent was logged in during this period: no occupancy to show.",
    )
