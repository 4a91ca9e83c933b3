"""`ccapp kpi` end to end on SQLite: options → engine → table, CSV, JSON or HTML; one-line errors."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

from ccapp import cli
from ccapp.kpi.cli import ProgressBar
from ccapp.storage import Database, upgrade
from ccapp.storage.projection import write_batch
from tests.unit.storage.kpi_calls import closed_call

DAY = ["--from", "2026-03-02", "--to", "2026-03-03", "--tz", "UTC"]


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    """A migrated SQLite database with three calls on 2 March 2026 (UTC morning): sales answers
    one in 10 s and one in 30 s, support loses one after 40 s."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    records = [
        *closed_call("c1", 0, "+15550001", wait_s=10.0, agent="1001"),
        *closed_call("c2", 600, "+15550002", wait_s=30.0, agent="1002"),
        *closed_call("c3", 1200, "+15550003", queue="support", outcome="abandoned", wait_s=40.0),
    ]
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await write_batch(conn, records)
    finally:
        await db.dispose()
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["kpi", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# main() runs its own event loop, so these tests are plain functions using an async fixture.
def test_the_table_by_queue_shows_each_queue_and_the_total(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, *DAY, "--by", "queue", "--kpis", "offered,answered,service_level", "--db", db_url
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "KPIs 2026-03-02 00:00 → 2026-03-03 00:00 UTC (end excluded)"
    assert lines[2].split() == ["queue", "offered", "answered", "SL"]
    assert lines[4].split() == ["sales", "2", "2", "50.0%"]
    assert lines[5].split() == ["support", "1", "0", "0.0%"]
    assert lines[7].split() == ["total", "3", "2", "33.3%"]
    assert lines[-1].startswith("source: raw · thresholds T 20 s, S 5 s, W 7 d · ")


def test_csv_and_json_carry_raw_numbers(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *DAY, "--by", "queue", "--format", "csv", "--raw", "--db", db_url)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:5] == ["queue", "offered", "answered", "abandoned", "service_level"]
    assert rows[-1][:5] == ["total", "3", "2", "1", repr(1 / 3)]
    code, out, _ = run(capsys, *DAY, "--where", "queue=sales", "--format", "json", "--db", db_url)
    data = json.loads(out)
    assert data["request"]["where"] == {"queue": "sales"}
    assert data["total"]["kpis"]["service_level"] == 0.5
    assert data["total"]["kpis"]["asa_s"] == 20.0


def test_html_goes_to_the_output_file_with_its_charts(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    code, out, err = run(capsys, *DAY, "--format", "html", "--output", str(target), "--db", db_url)
    assert err == ""
    assert (code, out) == (0, "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for chart_id in ("chart-sl", "chart-aht", "chart-occupancy"):
        assert f'id="{chart_id}"' in page
    assert page.count('fill="#1f77b4"') > 1  # service-level bars, by hour for one day


def test_the_config_gives_the_database_and_the_default_zone(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ccapp.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            ari: {{username: ccapp, password: ari-pass}}
            ami: {{username: ccapp, password: ami-pass}}
            database: {{url: "{db_url}"}}
            kpi: {{time_zone: Europe/Paris, sl_threshold_s: 30}}
            """),
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "--from", "2026-03-02", "--to", "2026-03-03", "--format", "json", "-c", str(config)
    )
    assert code == 0
    request = json.loads(out)["request"]
    assert request["zone"] == "Europe/Paris"
    assert request["from"] == "2026-03-02T00:00:00+01:00"
    assert request["thresholds"]["sl_threshold_s"] == 30.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-11-08"], "error: --from: '2026-13-01' is not a date"),
        (
            ["--from", "2026-11-08", "--to", "2026-11-01"],
            "error: --to: must be after from (2026-11-08 00:00)",
        ),
        (
            ["--from", "2026-11-01T10:00+01:00", "--to", "2026-11-02"],
            "error: --from: '2026-11-01T10:00+01:00' has",
        ),
        (["--to", "2026-11-02"], "error: --from: required"),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--tz", "Mars/Olympus"],
            "error: --tz: 'Mars/Olympus'",
        ),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--by", "queue,fortnight"],
            "error: --by: unknown grouping",
        ),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--by", "day,hour"],
            "error: --by: at most one interval",
        ),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--kpis", "sl,aht_s"],
            "error: --kpis: unknown KPI 'sl'",
        ),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--where", "sales"],
            "error: --where: 'sales' is not",
        ),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "--where", "site=paris"],
            "error: --where: unknown dimension",
        ),
    ],
)
def test_bad_options_get_one_line_naming_the_option_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, "--db", f"sqlite+aiosqlite:///{tmp_path / 'never.db'}")
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert not (tmp_path / "never.db").exists()


def test_a_bad_format_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["kpi", *DAY, "--format", "xml", "--db", "sqlite+aiosqlite://"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_a_broken_config_exits_2_with_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ccapp.yaml"
    config.write_text("ari: {username: ccapp}\nkpi: {time_zone: Nowhere/Land}\n", encoding="utf-8")
    code, out, err = run(capsys, *DAY, "-c", str(config))
    assert (code, out) == (2, "")
    assert "kpi.time_zone" in err


def test_a_database_without_the_tables_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *DAY, "--db", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert (code, out) == (1, "")
    assert err.startswith("error: ")


def test_an_unwritable_output_exits_1(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *DAY, "--output", str(tmp_path / "missing" / "r.txt"), "--db", db_url)
    assert code == 1
    assert err.startswith(f"error: cannot write {tmp_path / 'missing' / 'r.txt'}: ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_in_place_on_a_terminal_and_is_erased() -> None:
    stream = Terminal()
    bar = ProgressBar(stream, width=10)
    for fraction in (0.0, 0.5, 0.5, 1.0):
        bar(fraction)
    assert stream.getvalue() == "\r[..........] 0%\r[#####.....] 50%\r[##########] 100%"
    bar.clear()
    assert stream.getvalue().endswith("\r" + " " * 18 + "\r")


def test_the_progress_bar_stays_silent_when_stderr_is_not_a_terminal(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(0.5)
    bar.clear()
    assert stream.getvalue() == ""
    _, _, err = run(capsys, *DAY, "--db", db_url)
    assert err == ""
