"""`ccapp ivr report` end to end on SQLite: config → database → table or JSON on stdout."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ccapp import cli
from tests.unit.storage.ivr_scenario import EXPECTED, store_scenario

PERIOD = ["--from", "2026-11-01", "--to", "2026-12-01", "--tz", "Europe/Berlin"]


@pytest.fixture(autouse=True)
def _no_logging_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() points the root logger at the stderr of the moment, which pytest swaps per test.
    monkeypatch.setattr("ccapp.logs.setup_logging", lambda *args, **kwargs: None)


def write_config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "ccapp.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            ari: {{username: ccapp, password: ari-pass}}
            ami: {{username: ccapp, password: ami-pass}}
            database: {{url: "{database_url}"}}
            """),
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def config(db_url: str, tmp_path: Path) -> Path:
    from ccapp.storage import Database

    db = Database(db_url)
    try:
        await store_scenario(db, tmp_path / "outbox")
    finally:
        await db.dispose()
    return write_config(tmp_path, db_url)


# main() runs its own event loop, so these tests are plain functions using an async fixture.
def test_json_report_of_november_in_berlin(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ivr", "report", *PERIOD, "--format", "json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


def test_table_report_aligns_nodes_and_lists_top_paths(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(config), "ivr", "report", *PERIOD, "--tree", "main", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "IVR report 2026-11-01 00:00 CET to 2026-12-01 00:00 CET (end excluded), tree main\n"
        "calls started: 9\n\ntree main, version 3: 7 call(s)\n"
    )
    assert (
        textwrap.dedent("""\
        node     type     entries  calls  inputs  timeouts  no-match  drop-offs  exits
        welcome  play           7      7       0         0         0          1  caller_hangup=1
        menu     menu           7      6       5         4         1          1  caller_hangup=1 max_tries=1
        pin      collect        1      1       1         0         0          0  -
        sales    queue          2      2       0         0         0          0  queue=2
        support  queue          2      2       0         0         0          0  queue=2
        """)
        in out
    )
    assert out.endswith(
        textwrap.dedent("""\
        top 3 of 5 path(s)
        calls   share  path
            2  28.6 %  welcome > menu
            2  28.6 %  welcome > menu > support
            1  14.3 %  welcome
        """)
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-01"], "argument --from: '2026-13-01' is not a date"),
        (["--from", "2026-11-01", "--to", "1.12.2026"], "argument --to: '1.12.2026' is not a date"),
        (["--from", "2026-11-01T00:00+01:00", "--to", "2026-12-01"], "has a UTC offset"),
        ([*PERIOD[:4], "--tz", "Mars/Olympus"], "argument --tz: 'Mars/Olympus' is not a known time zone"),
        ([*PERIOD, "--top", "0"], "argument --top: '0' is not a positive whole number"),
        (["--to", "2026-12-01"], "the following arguments are required: --from"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ivr", "report", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_end_not_after_the_start_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ivr", "report", "--from", "2026-12-01", "--to", "2026-11-01", "-c", str(config)])
    assert code == cli.EXIT_USAGE
    assert "--to (2026-11-01T00:00:00+00:00) must be after --from (2026-12-01T00:00:00+00:00)" in (
        capsys.readouterr().err
    )


def test_a_database_without_tables_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert cli.main(["ivr", "report", *PERIOD, "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: IVR report query failed on Database(")
    assert "no such table" in err
