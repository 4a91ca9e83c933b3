"""KPI renderers on hand-built reports: table alignment and units, CSV and JSON raw numbers, totals."""

from __future__ import annotations

import csv
import io
import json

from ccapp.kpi.definitions import Interval, Thresholds
from ccapp.kpi.render import (
    format_duration,
    format_interval,
    format_kpi,
    render_csv,
    render_json,
    render_table,
    thresholds_text,
)
from tests.support.kpi_reports import by_hour, by_queue, measures


def table_lines(text: str) -> list[str]:
    return text.splitlines()


def test_ratios_are_percents_with_one_decimal_and_seconds_have_one_decimal() -> None:
    assert format_kpi("service_level", 0.8) == "80.0%"
    assert format_kpi("abandon_rate", 1 / 3) == "33.3%"
    assert format_kpi("asa_s", 12.345) == "12.3"
    assert format_kpi("offered", 1234.0) == "1 234"
    assert format_kpi("rpc_per_hour", 2.25) == "2.2"


def test_a_kpi_without_a_value_shows_a_dash() -> None:
    assert format_kpi("fcr", None) == "—"


def test_the_table_puts_keys_left_and_numbers_right_in_aligned_columns() -> None:
    text = render_table(by_queue({"sales": measures(100, 80, 5), "support-long-name": measures(4, 2, 1)}))
    lines = table_lines(text)
    header = next(line for line in lines if line.startswith("queue"))
    sales = next(line for line in lines if line.startswith("sales"))
    support = next(line for line in lines if line.startswith("support-long-name"))
    # every number column ends at the same place on every line
    for label in ("offered", "SL", "ASA s"):
        end = header.index(label) + len(label)
        assert sales[end - 1] != " " and sales[end : end + 1] in ("", " ")
        assert support[end - 1] != " "
    assert sales.split()[1:5] == ["100", "95", "5", "80.0%"]
    assert support.split()[4] == "50.0%"


def test_the_table_ends_with_a_total_and_a_footer_with_source_thresholds_and_time() -> None:
    lines = table_lines(render_table(by_queue(source="rollup")))
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1:5] == ["140", "127", "13", "71.4%"]
    assert lines[-1] == "source: rollup · thresholds T 20 s, S 5 s, W 7 d · 0.04 s"
    assert lines[0] == "KPIs 2026-11-01 00:00 → 2026-11-08 00:00 Europe/Paris (end excluded)"


def test_kpis_without_data_show_dashes_in_the_table() -> None:
    total = next(line for line in table_lines(render_table(by_queue())) if line.startswith("total"))
    assert total.split()[-2:] == ["—", "—"]  # contact resolution and FCR: no contacts


def test_an_empty_report_still_has_a_header_and_a_total() -> None:
    lines = table_lines(render_table(by_queue({})))
    assert lines[2].split()[:2] == ["queue", "offered"]
    assert lines[4].split()[:3] == ["total", "0", "0"]
    assert lines[4].split()[4] == "—"


def test_interval_keys_are_shortened_to_what_the_interval_needs() -> None:
    lines = table_lines(render_table(by_hour(2)))
    assert lines[2].split()[0] == "interval"
    assert lines[4].startswith("2026-11-01 08:00 ")
    assert format_interval("2026-11-02T00:00:00+01:00", Interval.HOUR) == "2026-11-02 00:00"
    assert format_interval("2026-11-02T00:00:00+01:00", Interval.DAY) == "2026-11-02"
    assert format_interval("2026-11-01T00:00:00+01:00", Interval.MONTH) == "2026-11"
    assert format_interval(None, Interval.DAY) == "—"


def test_thresholds_are_shown_in_their_largest_whole_unit() -> None:
    assert format_duration(20.0) == "20 s"
    assert format_duration(2.5) == "2.5 s"
    assert format_duration(300.0) == "5 min"
    assert format_duration(7200.0) == "2 h"
    assert format_duration(7 * 86400.0) == "7 d"
    assert thresholds_text(Thresholds(15.0, 3.0, 86400.0)) == "T 15 s, S 3 s, W 1 d"


def test_csv_has_a_header_the_rows_and_a_total_with_raw_numbers() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(by_queue()))))
    assert rows[0][:5] == ["queue", "offered", "answered", "abandoned", "service_level"]
    assert rows[1][:5] == ["sales", "100", "95", "5", "0.8"]
    assert rows[2][0] == "support"
    assert rows[3][0] == "total"
    assert float(rows[3][4]) == 100 / 140  # full precision
    assert rows[3][-2:] == ["", ""]  # no value: empty


def test_csv_quotes_user_text_with_commas_and_quotes() -> None:
    text = render_csv(by_queue({'sales, "north"': measures(10, 5, 1)}))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == 'sales, "north"'


def test_csv_by_interval_keeps_the_iso_start() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(by_hour(1)))))
    assert rows[0] == ["interval", "offered", "service_level", "abandon_rate", "aht_s"]
    assert rows[1][0] == "2026-11-01T08:00:00+01:00"
    assert rows[2][0] == "total"


def test_json_has_request_rows_total_source_time_and_kpi_definitions() -> None:
    data = json.loads(render_json(by_queue(source="rollup")))
    assert set(data) == {"request", "rows", "total", "source", "elapsed_s", "kpis"}
    assert data["request"]["from"] == "2026-11-01T00:00:00+01:00"
    assert data["request"]["to"] == "2026-11-08T00:00:00+01:00"
    assert data["request"]["dimensions"] == ["queue"]
    assert data["request"]["thresholds"]["sl_threshold_s"] == 20.0
    assert data["source"] == "rollup"
    assert data["rows"][0]["key"] == {"queue": "sales"}
    assert data["rows"][0]["kpis"]["service_level"] == 0.8
    assert data["rows"][0]["measures"]["entries"] == 100.0
    assert data["total"]["kpis"]["fcr"] is None
    assert data["kpis"]["service_level"] == {
        "label": "SL",
        "unit": "ratio",
        "doc": "answered within T / offered",
    }


def test_the_repeated_hour_of_a_dst_change_shows_both_offsets() -> None:
    from dataclasses import replace

    from tests.support.kpi_reports import report

    request = replace(by_hour(1).request, kpis=("offered",))
    fall_back = report(
        request,
        {
            ("2026-10-25T02:00:00+02:00",): measures(3, 3, 0),
            ("2026-10-25T02:00:00+01:00",): measures(4, 4, 0),
            ("2026-10-25T03:00:00+01:00",): measures(5, 5, 0),
        },
    )
    lines = table_lines(render_table(fall_back))
    assert [line.split()[:3] for line in lines[4:7]] == [
        ["2026-10-25", "02:00", "+02:00"],
        ["2026-10-25", "02:00", "+01:00"],
        ["2026-10-25", "03:00", "5"],
    ]
