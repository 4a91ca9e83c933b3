"""Lead import on PostgreSQL: 100k rows in one transaction (rows/s printed), and a SIGKILL mid-write
leaves no lead and the import can be run again."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from ccapp.storage import Database
from ccapp.storage.models import LeadImportRow, LeadRow
from tests.unit.dialer.test_importer import count_rows, kill_during_writing, run, write_leads

pytestmark = pytest.mark.postgres


def test_100k_rows_import_on_postgresql(
    pg_url: str, pg_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = write_leads(tmp_path / "big.csv", 100_000)
    started = time.perf_counter()
    code, out, _ = run(capsys, str(leads), "--campaign", "c", "--db", pg_url)
    elapsed = time.perf_counter() - started
    assert code == 0, out
    assert asyncio.run(count_rows(pg_url, LeadRow)) > 99_000
    with capsys.disabled():
        print(f"\n100k-row import on PostgreSQL: {elapsed:.1f} s, {100_000 / elapsed:,.0f} rows/s")
    assert elapsed < 60


def test_an_import_killed_mid_write_on_postgresql_leaves_no_lead(
    pg_url: str, pg_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = write_leads(tmp_path / "big.csv", 100_000)
    assert kill_during_writing(pg_url, leads, "c") == -signal.SIGKILL
    assert asyncio.run(count_rows(pg_url, LeadRow)) == 0
    assert asyncio.run(count_rows(pg_url, LeadImportRow)) == 0
    assert run(capsys, str(leads), "--campaign", "c", "--db", pg_url)[0] == 0
    assert asyncio.run(count_rows(pg_url, LeadRow)) > 99_000
