"""The HTML report page: self-contained, escaped, one chart per subject with titles and empty states."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

from ccapp.kpi.definitions import Dimension, Interval
from ccapp.kpi.html import (
    ABANDON_COLOUR,
    AHT_COLOUR,
    OCCUPANCY_COLOUR,
    SL_COLOUR,
    Extras,
    agents_request,
    auto_interval,
    is_trend,
    render_page,
    trend_request,
)
from ccapp.kpi.svg import nice_max
from tests.support.kpi_reports import HISTOGRAM, by_agent, by_hour, by_queue, measures

AGENTS = {"1001": (3000.0, 1000.0, 5000.0), "1002": (2000.0, 2000.0, 4500.0)}


class Tags(HTMLParser):
    """Start tags and their attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def full_page() -> str:
    return render_page(by_queue(), Extras(trend=by_hour(), histogram=HISTOGRAM, agents=by_agent(AGENTS)))


def figure(page: str, chart_id: str) -> str:
    match = re.search(rf'<figure class="chart" id="{chart_id}">.*?</figure>', page, re.S)
    assert match, chart_id
    return match.group(0)


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = full_page()
    assert "http" not in page.replace('http-equiv="Content-Security-Policy"', "")
    assert "//" not in page
    assert "<script" not in page
    assert "default-src 'none'" in page
    for _, attrs in tags(page):
        assert "src" not in attrs and "href" not in attrs


def test_each_chart_has_a_caption_an_svg_title_and_an_aria_label() -> None:
    page = full_page()
    for chart_id, title in [
        ("chart-sl", "Service level and abandonment per interval"),
        ("chart-aht", "Handle time distribution (handled calls)"),
        ("chart-occupancy", "Agent occupancy and utilization"),
    ]:
        part = figure(page, chart_id)
        assert f'<figcaption id="{chart_id}-caption">{title}</figcaption>' in part
        assert f'role="img" aria-label="{title}"' in part
        assert f'<title id="{chart_id}-title">{title}</title>' in part


def test_charts_draw_one_bar_per_value_in_their_colours() -> None:
    page = full_page()
    assert figure(page, "chart-sl").count(f'fill="{SL_COLOUR}"') == 8 + 1  # 8 hours + the legend
    assert figure(page, "chart-sl").count(f'fill="{ABANDON_COLOUR}"') == 8 + 1
    assert figure(page, "chart-aht").count(f'fill="{AHT_COLOUR}"') == len(HISTOGRAM) + 1
    assert figure(page, "chart-occupancy").count(f'fill="{OCCUPANCY_COLOUR}"') == 2 + 1


def test_bars_carry_their_value_as_a_tooltip_and_the_chart_lists_them_for_screen_readers() -> None:
    part = figure(full_page(), "chart-occupancy")
    assert "<title>1001 — occupancy: 75.0%</title>" in part
    assert "1002: occupancy 50.0%, utilization 44.4%" in part


def test_user_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>&'
    report = by_queue({evil: measures(10, 5, 1)})
    page = render_page(report, Extras(agents=by_agent({evil: (10.0, 10.0, 20.0)})))
    assert "<script" not in page
    assert "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;</td>" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp; — occupancy: 50.0%" in page
    assert not any(tag == "script" for tag, _ in tags(page))


def test_empty_charts_say_so_in_words() -> None:
    page = render_page(by_queue({}), Extras())
    for chart_id in ("chart-sl", "chart-aht", "chart-occupancy"):
        part = figure(page, chart_id)
        assert "<svg" not in part
        assert '<p class="empty" role="note">No ' in part


def test_a_histogram_of_zeros_is_empty() -> None:
    page = render_page(by_queue(), Extras(histogram=[(0.0, 30.0, 0), (30.0, None, 0)]))
    assert "No handled calls" in figure(page, "chart-aht")


def test_the_table_has_the_rows_and_the_total_with_numbers_right_aligned() -> None:
    page = full_page()
    assert '<td>sales</td><td class="num">100</td>' in page
    assert '<tfoot><tr><td>total</td><td class="num">140</td>' in page
    assert '<th scope="col" class="num" title="answered within T / offered">SL</th>' in page


def test_a_by_interval_report_with_sl_and_abandonment_is_its_own_trend() -> None:
    report = by_hour(3)
    assert is_trend(report.request)
    page = render_page(report, Extras())
    assert figure(page, "chart-sl").count(f'fill="{SL_COLOUR}"') == 3 + 1


def test_the_trend_runs_by_hour_up_to_two_days_by_day_then_by_week() -> None:
    request = by_queue().request
    assert not is_trend(request)
    assert auto_interval(replace(request, end=request.start + timedelta(days=2))) == Interval.HOUR
    assert auto_interval(request) == Interval.DAY
    assert auto_interval(replace(request, end=request.start + timedelta(days=200))) == Interval.WEEK
    assert auto_interval(replace(request, interval=Interval.MIN15)) == Interval.MIN15
    trend = trend_request(replace(request, where={"queue": "sales"}))
    assert (trend.dimensions, trend.interval, trend.kpis) == (
        (),
        Interval.DAY,
        ("service_level", "abandon_rate"),
    )
    assert trend.where == {"queue": "sales"}


def test_the_agent_chart_keeps_only_an_agent_filter() -> None:
    request = replace(by_queue().request, where={"queue": "sales", "agent": "1001"})
    agents = agents_request(request)
    assert agents.dimensions == (Dimension.AGENT,)
    assert agents.where == {"agent": "1001"}
    assert agents.kpis == ("occupancy", "utilization")


def test_axis_tops_are_round_numbers() -> None:
    assert [nice_max(v) for v in (0, 3, 7, 12, 30, 260)] == [1.0, 5.0, 10.0, 20.0, 50.0, 500.0]
