"""``ccapp campaign import``: leads in E.164 with zones, every row left out reported by line, bad files
refused with a clear message, all or nothing (an injected error and a SIGKILL leave no lead), 100k rows."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ccapp.cli import main
from ccapp.dialer.importer import Progress, build_mapping, import_file, parse_map
from ccapp.storage import Database, upgrade
from ccapp.storage.dialer_leads import lead_imports
from ccapp.storage.dialer_store import DialerStore
from ccapp.storage.models import LeadImportRow, LeadRow

AREAS = (212, 312, 415, 617, 713, 206, 305, 404, 602, 303)
ROOT = Path(__file__).resolve().parents[3]


def numbers(count: int) -> list[str]:
    """``count`` distinct US numbers in national form (a few, like N11 exchanges, are invalid)."""
    return [f"({AREAS[i % 10]}) {201 + (i // 10) % 700}-{i // 7000:04d}" for i in range(count)]


def write_leads(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["phone", "name", "note"])
        for i, number in enumerate(numbers(count)):
            writer.writerow([number, f"Lead {i}", f"note {i}"])
    return path


@pytest.fixture
async def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    return url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["campaign", "import", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def count_rows(url: str, table: type) -> int:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        await db.dispose()


def leads_in(url: str) -> list[dict[str, object]]:
    async def load() -> list[dict[str, object]]:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                rows = await conn.execute(select(LeadRow).order_by(LeadRow.line))
                return [dict(r) for r in rows.mappings()]
        finally:
            await db.dispose()

    return asyncio.run(load())


def test_the_map_option_names_columns_and_refuses_unknown_keys() -> None:
    assert parse_map("phone=Tel, zone = TZ,name=Who") == {"phone": "Tel", "zone": "TZ", "name": "Who"}
    with pytest.raises(ValueError, match="--map key 'mail'"):
        parse_map("mail=E")
    with pytest.raises(ValueError, match="expected KEY=COLUMN"):
        parse_map("phone")


def test_well_known_columns_are_found_without_a_map_and_the_rest_is_extra_data() -> None:
    mapping = build_mapping(["Phone Number", "Mobile", "TZ", "Name", "Plan"], {"phone": "Phone Number"})
    assert (mapping.phone, mapping.time_zone, mapping.name, mapping.external_id) == (
        "Phone Number",
        "TZ",
        "Name",
        None,
    )
    assert mapping.extra == ("Mobile", "Plan")


def test_good_rows_are_imported_in_e164_with_their_zone_and_every_other_row_is_reported(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        textwrap.dedent("""\
            Tel,TZ,Who,Plan
            (212) 555-0101,,Ann,gold
            212.555.0101,,Ann again,
            12,,Short,
            +44 20 7946 0000,Europe/Nowhere,Zed,
            +44 20 7946 0001,Europe/London,Brit,
            +1 800 555 0199,,Toll free,
            ,,No number,
            """),
        encoding="utf-8",
    )
    report = tmp_path / "rejected.csv"
    code, out, err = run(
        capsys, str(leads), "--campaign", "sales", "--db", url, "--map", "phone=Tel,zone=TZ,name=Who",
        "--default-zone", "America/Chicago", "--report", str(report),
    )  # fmt: skip
    assert code == 0, err
    assert (
        "imported               3" in out
        and "duplicates             1" in out
        and "rejected               3" in out
    )
    assert "zone defaulted         1  (imported with America/Chicago)" in out
    rows = leads_in(url)
    assert [
        (r["line"], r["phone"], r["time_zone"], r["zone_source"], r["name"], r["status"]) for r in rows
    ] == [
        (2, "+12125550101", "America/New_York", "number", "Ann", "new"),
        (6, "+442079460001", "Europe/London", "column", "Brit", "new"),
        (7, "+18005550199", "America/Chicago", "default", "Toll free", "new"),
    ]
    assert rows[0]["data"] == '{"Plan": "gold"}'
    with report.open(encoding="utf-8") as stream:
        lines = list(csv.DictReader(stream))
    assert [(x["line"], x["outcome"], x["reason"]) for x in lines] == [
        ("3", "duplicate", "duplicate of line 2 (+12125550101)"),
        ("4", "rejected", "invalid number '12'"),
        ("5", "rejected", "unknown time zone 'Europe/Nowhere'"),
        ("7", "defaulted_zone", "zone unknown, campaign default America/Chicago"),
        ("8", "rejected", "empty phone number (column 'Tel')"),
    ]
    assert "line 4: rejected: invalid number '12'" in out


def test_numbers_the_campaign_already_has_are_reported_and_nothing_new_exits_1(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "a.csv"
    first.write_text("phone\n2125550101\n2125550102\n", encoding="utf-8")
    second = tmp_path / "b.csv"
    second.write_text("phone\n+1 212 555 0199\n(212) 555-0102\n", encoding="utf-8")
    assert run(capsys, str(first), "--campaign", "c", "--db", url)[0] == 0
    code, out, _ = run(capsys, str(second), "--campaign", "c", "--db", url)
    assert code == 0
    assert "line 3: duplicate: already in the campaign (line 3 of an earlier import) [+12125550102]" in out
    code, out, err = run(capsys, str(second), "--campaign", "c", "--db", url)
    assert (code, "duplicates             2" in out, err.strip().splitlines()[-1]) == (
        1,
        True,
        "error: nothing imported",
    )
    assert len(leads_in(url)) == 3
    assert run(capsys, str(first), "--campaign", "other", "--db", url)[0] == 0  # campaigns are separate


def test_a_file_without_the_phone_column_names_the_missing_and_the_found_columns(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Telephone Nr,Zone\n2125550101,America/New_York\n", encoding="utf-8")
    code, _, err = run(capsys, str(bad), "--campaign", "c", "--db", url)
    assert code == 1
    assert "has no column 'phone'" in err and "columns found: Telephone Nr, Zone" in err and "--map" in err
    code, _, err = run(
        capsys, str(bad), "--campaign", "c", "--db", url, "--map", "phone=Telephone Nr,name=Who"
    )
    assert code == 1 and "has no column 'Who'" in err
    assert asyncio.run(count_rows(url, LeadImportRow)) == 0


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(content)
    code, _, err = run(capsys, str(empty), "--campaign", "c", "--db", url)
    assert code == 1 and "empty" in err


def test_a_header_only_file_imports_nothing_and_exits_1(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = tmp_path / "h.csv"
    header.write_text("phone,name\n", encoding="utf-8")
    code, out, err = run(capsys, str(header), "--campaign", "c", "--db", url)
    assert (code, "0 rows read" in out, "nothing imported" in err) == (1, True, True)


def test_a_bom_is_ignored_and_a_latin_1_file_needs_its_encoding(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffphone,name\n2125550101,Zoë\n".encode())
    assert run(capsys, str(bom), "--campaign", "c", "--db", url)[0] == 0
    assert leads_in(url)[0]["name"] == "Zoë"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,name\n2125550102,Ann\n2125550103,Zoë\n".encode("latin-1"))
    code, _, err = run(capsys, str(latin), "--campaign", "c", "--db", url)
    assert code == 1
    assert (
        "latin.csv line 3: not utf-8-sig text (invalid continuation byte, byte 14 of the line)" in err
        and "--encoding" in err
    )
    assert len(leads_in(url)) == 1
    assert run(capsys, str(latin), "--campaign", "c", "--db", url, "--encoding", "latin-1")[0] == 0
    assert [r["name"] for r in leads_in(url)] == ["Zoë", "Ann", "Zoë"]


def test_bad_options_exit_2(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leads = write_leads(tmp_path / "l.csv", 3)
    assert run(capsys, str(leads), "--campaign", "c", "--db", url, "--map", "fax=F")[0] == 2
    code, _, err = run(capsys, str(leads), "--campaign", "c", "--db", url, "--default-zone", "Mars/Base")
    assert code == 2 and "'Mars/Base' is not an IANA time zone" in err
    code, _, err = run(
        capsys, str(leads), "--campaign", "c", "--db", url, "--report", str(tmp_path / "no" / "r.csv")
    )
    assert code == 2 and "--report" in err
    assert leads_in(url) == []


def test_the_campaign_settings_give_region_and_zone_and_flags_override(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ccapp.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            ari: {{username: ccapp, password: ari-pass}}
            ami: {{username: ccapp, password: ami-pass}}
            database: {{url: "{url}"}}
            queues: {{sales: {{}}}}
            campaigns:
              uk:
                queue: sales
                trunk: "PJSIP/{{number}}@t"
                default_region: GB
                default_zone: Europe/London
            """),
        encoding="utf-8",
    )
    leads = tmp_path / "uk.csv"
    leads.write_text("phone\n020 7946 0002\n+1 800 555 0199\n", encoding="utf-8")
    code, _out, err = run(capsys, str(leads), "--campaign", "uk", "-c", str(config))
    assert code == 0, err
    assert [(r["phone"], r["time_zone"]) for r in leads_in(url)] == [
        ("+442079460002", "Europe/London"),
        ("+18005550199", "Europe/London"),
    ]
    code, _, err = run(capsys, str(leads), "--campaign", "us", "-c", str(config))
    assert code == 2 and "no campaign 'us' in the configuration (campaigns: uk)" in err


async def test_an_error_while_writing_rolls_everything_back_and_is_journalled(
    url: str, tmp_path: Path
) -> None:
    leads = write_leads(tmp_path / "l.csv", 5000)
    db = Database(url)

    def fail_mid_insert(phase: str, fraction: float, detail: str) -> None:
        if phase == "writing" and 0 < fraction < 1:
            raise RuntimeError("injected")

    try:
        with pytest.raises(RuntimeError, match="injected"):
            await import_file(
                db, leads, campaign="c", spec={}, default_region="US", default_zone="America/New_York",
                now=lambda: T0, progress=fail_mid_insert,
            )  # fmt: skip
        assert await count_rows(url, LeadRow) == 0
        [failed] = await lead_imports(db, "c")
        assert (failed["status"], failed["imported"], failed["rows"]) == ("failed", 0, 5000)
        events = await DialerStore(db).campaign_events("c")
        assert events[-1]["detail"]["error"] == "RuntimeError: injected"
        report = await import_file(
            db,
            leads,
            campaign="c",
            spec={},
            default_region="US",
            default_zone="America/New_York",
            now=lambda: T0,
        )
        assert report.imported == 5000 - report.rejected
    finally:
        await db.dispose()


T0 = __import__("datetime").datetime(2026, 3, 2, 14, 0, tzinfo=__import__("datetime").UTC)


def kill_during_writing(url: str, leads: Path, campaign: str) -> int:
    """Start ``ccapp campaign import`` and SIGKILL it once it has written some leads; its exit code."""
    command = [sys.executable, "-m", "ccapp.cli", "campaign", "import", str(leads), "--campaign", campaign]
    with subprocess.Popen(
        [*command, "--db", url], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("writing") and not line.startswith("writing 0%"):
                os.kill(proc.pid, signal.SIGKILL)
                break
        return proc.wait(timeout=60)


def test_an_import_killed_mid_write_leaves_no_lead_and_can_be_run_again(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = write_leads(tmp_path / "big.csv", 100_000)
    assert kill_during_writing(url, leads, "c") == -signal.SIGKILL
    assert asyncio.run(count_rows(url, LeadRow)) == 0
    assert asyncio.run(count_rows(url, LeadImportRow)) == 0
    code, _out, _ = run(capsys, str(leads), "--campaign", "c", "--db", url)
    assert code == 0
    assert asyncio.run(count_rows(url, LeadRow)) > 99_000


def test_100k_rows_import_in_reasonable_time(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = write_leads(tmp_path / "big.csv", 100_000)
    started = time.perf_counter()
    code, out, _ = run(
        capsys, str(leads), "--campaign", "c", "--db", url, "--report", str(tmp_path / "r.csv")
    )
    elapsed = time.perf_counter() - started
    assert code == 0
    imported = asyncio.run(count_rows(url, LeadRow))
    assert imported > 99_000 and re.search(rf"imported +{imported}\n", out)
    with capsys.disabled():
        print(f"\n100k-row import on SQLite: {elapsed:.1f} s, {100_000 / elapsed:,.0f} rows/s")
    assert elapsed < 60


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_a_line_per_10_percent_elsewhere() -> None:
    log = io.StringIO()
    progress = Progress(log)
    for done in range(0, 101, 5):
        progress("writing", done / 100, f"{done}/100 leads")
    progress.done()
    assert log.getvalue().splitlines()[:3] == [
        "writing 0% 0/100 leads",
        "writing 10% 10/100 leads",
        "writing 20% 20/100 leads",
    ]
    assert len(log.getvalue().splitlines()) == 11
    tty = Terminal()
    bar = Progress(tty, width=10)
    bar("reading", 0.5, "50 lines")
    bar("reading", 0.5, "50 lines")
    bar.done()
    assert tty.getvalue() == "\rreading  [#####.....]  50% 50 lines                \n"
