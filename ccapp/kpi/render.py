"""A computed `Report` as text: an aligned table, CSV and JSON. Pure.

The table is for people (ratios as percents, seconds with one decimal, ``—`` where a KPI has no
value); CSV and JSON are for programs (raw numbers: ratios as fractions, full precision, empty or
``null`` where a KPI has no value). Each ends with the total over all rows.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from ccapp.kpi.definitions import KPI_BY_NAME, Interval, Report, ReportRow, Thresholds

NONE = "—"
TOTAL = "total"
INTERVAL_KEY = "interval"


def key_columns(report: Report) -> list[str]:
    """The names of a report's group-key columns: its dimensions, then ``interval`` if it has one."""
    request = report.request
    names = [str(d) for d in request.dimensions]
    if request.interval is not None:
        names.append(INTERVAL_KEY)
    return names


def format_kpi(name: str, value: float | None) -> str:
    """One KPI value for people: a ratio as a percent with one decimal, seconds and rates with one
    decimal, a count as a whole number, ``—`` when there is no value."""
    if value is None:
        return NONE
    unit = KPI_BY_NAME[name].unit
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.1f}"


def format_interval(text: str | None, interval: Interval | None) -> str:
    """An interval key (local start, ISO text) shortened to what the interval needs: ``2026-11-01``
    for days and weeks, ``2026-11`` for months, ``2026-11-01 09:15`` for hours and quarter hours."""
    if text is None:
        return NONE
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        return text
    if interval in (Interval.DAY, Interval.WEEK):
        return start.strftime("%Y-%m-%d")
    if interval == Interval.MONTH:
        return start.strftime("%Y-%m")
    return start.strftime("%Y-%m-%d %H:%M")


def interval_texts(report: Report) -> dict[str, str]:
    """Interval key → display text for every row. Where two starts shorten to the same text (the
    repeated hour when clocks go back) both texts carry their UTC offset: ``02:00 +02:00``."""
    starts = {row.key.get(INTERVAL_KEY) for row in report.rows} - {None}
    texts = {iso: format_interval(iso, report.request.interval) for iso in starts if iso is not None}
    seen: dict[str, int] = {}
    for text in texts.values():
        seen[text] = seen.get(text, 0) + 1
    for iso, text in texts.items():
        if seen[text] > 1:
            start = datetime.fromisoformat(iso)
            texts[iso] = f"{text} {start.strftime('%z')[:3]}:{start.strftime('%z')[3:]}"
    return texts


def key_cells(report: Report, row: ReportRow, intervals: dict[str, str] | None = None) -> list[str]:
    """A row's group key as display texts, in `key_columns` order (``intervals``: `interval_texts`,
    computed once per report by callers that show many rows)."""
    cells = []
    for column in key_columns(report):
        value = row.key.get(column)
        if column == INTERVAL_KEY:
            texts = interval_texts(report) if intervals is None else intervals
            cells.append(NONE if value is None else texts.get(value, value))
        else:
            cells.append(NONE if value is None else str(value))
    return cells


def total_cells(report: Report) -> list[str]:
    """The key cells of the total row: ``total`` in the first column (a lone column when the report
    has no key columns)."""
    columns = key_columns(report) or [""]
    return [TOTAL] + [""] * (len(columns) - 1)


def format_duration(seconds: float) -> str:
    """``20 s``, ``5 min``, ``7 d``: a threshold in the largest unit that divides it."""
    for size, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:g} s"


def thresholds_text(thresholds: Thresholds) -> str:
    """``T 20 s, S 5 s, W 7 d``."""
    return (
        f"T {format_duration(thresholds.sl_threshold_s)}, S {format_duration(thresholds.short_abandon_s)}, "
        f"W {format_duration(thresholds.repeat_window_s)}"
    )


def period_text(report: Report) -> str:
    """``2026-11-01 00:00 → 2026-11-08 00:00 Europe/Paris (end excluded)``."""
    request = report.request
    start, end = (t.strftime("%Y-%m-%d %H:%M") for t in (request.start, request.end))
    return f"{start} → {end} {request.zone} (end excluded)"


def footer_text(report: Report) -> str:
    """Where the numbers come from, with which thresholds, and how long they took."""
    return (
        f"source: {report.source} · thresholds {thresholds_text(report.request.thresholds)} · "
        f"{report.elapsed_s:.2f} s"
    )


def render_table(report: Report) -> str:
    """The report as aligned columns: group keys left, numbers right, a total line, a footer."""
    kpis = report.request.kpis
    header = (key_columns(report) or [""]) + [KPI_BY_NAME[name].label for name in kpis]
    keys = len(header) - len(kpis)
    intervals = interval_texts(report)
    body = [
        (key_cells(report, row, intervals) or [""]) + [format_kpi(name, row.kpis.get(name)) for name in kpis]
        for row in report.rows
    ]
    total = total_cells(report) + [format_kpi(name, report.total.kpis.get(name)) for name in kpis]
    widths = [max(len(line[i]) for line in [header, *body, total]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [f"KPIs {period_text(report)}", "", line(header), rule]
    lines += [line(cells) for cells in body]
    if body:
        lines.append(rule)
    lines += [line(total), "", footer_text(report)]
    return "\n".join(lines) + "\n"


def raw_number(name: str, value: float | None) -> str:
    """One KPI value for programs: full precision, counts as whole numbers, empty when None."""
    if value is None:
        return ""
    if KPI_BY_NAME[name].unit == "count" and float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def render_csv(report: Report) -> str:
    """Header, one line per row, then the total line (``total`` in the first key column)."""
    kpis = report.request.kpis
    columns = key_columns(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(columns or ["group"]), *kpis])
    for row in report.rows:
        keys = [row.key.get(c) or "" for c in columns] or [""]
        writer.writerow([*keys, *(raw_number(n, row.kpis.get(n)) for n in kpis)])
    writer.writerow([*total_cells(report), *(raw_number(n, report.total.kpis.get(n)) for n in kpis)])
    return out.getvalue()


def request_dict(report: Report) -> dict[str, Any]:
    """The report's request, JSON-ready."""
    request = report.request
    thresholds = request.thresholds
    return {
        "from": request.start.isoformat(),
        "to": request.end.isoformat(),
        "zone": request.zone,
        "dimensions": [str(d) for d in request.dimensions],
        "interval": None if request.interval is None else str(request.interval),
        "kpis": list(request.kpis),
        "thresholds": {
            "sl_threshold_s": thresholds.sl_threshold_s,
            "short_abandon_s": thresholds.short_abandon_s,
            "repeat_window_s": thresholds.repeat_window_s,
        },
        "where": dict(request.where),
    }


def _row_dict(row: ReportRow, kpis: tuple[str, ...]) -> dict[str, Any]:
    return {
        "key": dict(row.key),
        "kpis": {name: row.kpis.get(name) for name in kpis},
        "measures": dict(row.measures),
    }


def _kpi_dict(name: str) -> dict[str, str]:
    kpi = KPI_BY_NAME[name]
    return {"label": kpi.label, "unit": kpi.unit, "doc": kpi.doc}


def report_dict(report: Report) -> dict[str, Any]:
    """``{request, rows, total, source, elapsed_s, kpis: {name: {label, unit, doc}}}``; a row is
    ``{key, kpis, measures}`` with raw numbers (``null`` where a KPI has no value)."""
    kpis = report.request.kpis
    return {
        "request": request_dict(report),
        "rows": [_row_dict(row, kpis) for row in report.rows],
        "total": _row_dict(report.total, kpis),
        "source": report.source,
        "elapsed_s": report.elapsed_s,
        "kpis": {
            name: {
                "label": KPI_BY_NAME[name].label,
                "unit": KPI_BY_NAME[name].unit,
                "doc": KPI_BY_NAME[name].doc,
            }
            for name in kpis
        },
    }


def render_json(report: Report) -> str:
    """`report_dict` as indented JSON text."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
