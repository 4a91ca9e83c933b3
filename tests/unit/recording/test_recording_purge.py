"""Retention purge: files of expired recordings go, then their rows are marked deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ccapp.config.settings import Settings
from ccapp.recording.purge import purge_command, purge_expired
from ccapp.recording.store import RecordingStore
from ccapp.storage import Database, upgrade
from ccapp.storage.models import RecordingRow

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def row(recording_id: str, path: str | None) -> dict[str, Any]:
    return {"recording_id": recording_id, "call_id": "c", "path": path, "deleted_at": None}


class FakeQueries:
    """``expired_recordings`` / ``mark_recording_deleted`` over a list of rows."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.before: datetime | None = None
        self.marked: list[tuple[str, datetime]] = []

    async def expired_recordings(self, db: Any, before: datetime) -> list[dict[str, Any]]:
        self.before = before
        return list(self.rows)

    async def mark_recording_deleted(self, db: Any, recording_id: str, at: datetime) -> bool:
        if any(r == recording_id for r, _ in self.marked):
            return False
        self.marked.append((recording_id, at))
        return True


def stored(store: RecordingStore, call_id: str) -> str:
    path = store.path_for(call_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return str(path)


async def test_expired_files_are_deleted_and_rows_marked(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store", "/var/spool/asterisk/recording", "shared")
    first, second = "a" * 32, "b" * 32
    queries = FakeQueries([row("r1", stored(store, first)), row("r2", stored(store, second))])
    assert await purge_expired(None, store, NOW, 90, queries=queries) == 2  # type: ignore[arg-type]
    assert queries.before == NOW - timedelta(days=90)
    assert queries.marked == [("r1", NOW), ("r2", NOW)]
    assert not store.path_for(first).exists()
    assert not store.path_for(second).exists()


async def test_a_file_already_gone_or_never_stored_still_marks_the_row(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, "/var/spool/asterisk/recording", "shared")
    queries = FakeQueries([row("r1", str(store.path_for("c" * 32))), row("r2", None)])
    assert await purge_expired(None, store, NOW, 30, queries=queries) == 2  # type: ignore[arg-type]
    assert [r for r, _ in queries.marked] == ["r1", "r2"]


async def test_a_saved_path_outside_the_store_is_never_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RecordingStore(tmp_path / "store", "/var/spool/asterisk/recording", "shared")
    victim = tmp_path / ("d" * 32 + ".wav")
    victim.write_bytes(b"keep")
    queries = FakeQueries([row("r1", str(victim)), row("r2", "/etc/passwd")])
    assert await purge_expired(None, store, NOW, 30, queries=queries) == 0  # type: ignore[arg-type]
    assert victim.read_bytes() == b"keep"
    assert queries.marked == []
    assert "not purged" in caplog.text


async def test_retention_must_be_at_least_a_day(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, "/var/spool/asterisk/recording", "shared")
    with pytest.raises(ValueError, match="at least 1"):
        await purge_expired(None, store, NOW, 0, queries=FakeQueries([]))  # type: ignore[arg-type]


# -- against the real storage queries (SQLite) and the CLI entry point ---------------------------------


def settings_for(tmp_path: Path, url: str) -> Settings:
    return Settings.model_validate(
        {
            "ari": {"username": "ccapp", "password": "x"},
            "ami": {"username": "ccapp", "password": "x"},
            "database": {"url": url},
            "recording": {"dir": str(tmp_path / "store"), "retention_days": 30},
        }
    )


async def test_purge_command_purges_expired_rows_of_the_real_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    settings = settings_for(tmp_path, url)
    store = RecordingStore(settings.recording.dir, "/var/spool/asterisk/recording", "shared")
    old, recent = "e" * 32, "f" * 32
    rows = [
        {
            "recording_id": "old",
            "call_id": old,
            "started_at": NOW - timedelta(days=31),
            "path": stored(store, old),
        },
        {
            "recording_id": "new",
            "call_id": recent,
            "started_at": NOW - timedelta(days=29),
            "path": stored(store, recent),
        },
    ]
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(RecordingRow.__table__), rows)  # type: ignore[arg-type]
        assert await purge_command(settings, NOW) == 0
        assert "purged 1 recording(s) older than 30 days" in capsys.readouterr().out
        assert not store.path_for(old).exists()
        assert store.path_for(recent).exists()
        async with db.engine.connect() as conn:
            deleted = dict(
                (await conn.execute(sa.select(RecordingRow.recording_id, RecordingRow.deleted_at))).all()
            )
        assert deleted["old"] is not None
        assert deleted["new"] is None
        assert await purge_expired(db, store, NOW, 30) == 0  # a second run finds nothing
    finally:
        await db.dispose()


async def test_purge_command_reports_a_database_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables
    assert await purge_command(settings, NOW) == 1
    assert "recordings purge failed" in capsys.readouterr().err
