"""Retention purge: files of expired recordings go, then their rows are marked deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccapp.recording.purge import purge_expired
from ccapp.recording.store import RecordingStore

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@dataclass
class Row:
    recording_id: str
    path: str | None


class FakeQueries:
    """``expired_recordings`` / ``mark_recording_deleted`` over a list of rows."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.before: datetime | None = None
        self.marked: list[tuple[str, datetime]] = []

    async def expired_recordings(self, db: Any, before: datetime) -> list[Row]:
        self.before = before
        return list(self.rows)

    async def mark_recording_deleted(self, db: Any, recording_id: str, at: datetime) -> None:
        self.marked.append((recording_id, at))


def stored(store: RecordingStore, call_id: str) -> str:
    path = store.path_for(call_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return str(path)


async def test_expired_files_are_deleted_and_rows_marked(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store", "/var/spool/asterisk/recording", "shared")
    first, second = "a" * 32, "b" * 32
    queries = FakeQueries([Row("r1", stored(store, first)), Row("r2", stored(store, second))])
    assert await purge_expired(None, store, NOW, 90, queries=queries) == 2  # type: ignore[arg-type]
    assert queries.before == NOW - timedelta(days=90)
    assert queries.marked == [("r1", NOW), ("r2", NOW)]
    assert not store.path_for(first).exists()
    assert not store.path_for(second).exists()


async def test_a_file_already_gone_or_never_stored_still_marks_the_row(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, "/var/spool/asterisk/recording", "shared")
    queries = FakeQueries([Row("r1", str(store.path_for("c" * 32))), Row("r2", None)])
    assert await purge_expired(None, store, NOW, 30, queries=queries) == 2  # type: ignore[arg-type]
    assert [r for r, _ in queries.marked] == ["r1", "r2"]


async def test_a_saved_path_outside_the_store_is_never_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RecordingStore(tmp_path / "store", "/var/spool/asterisk/recording", "shared")
    victim = tmp_path / ("d" * 32 + ".wav")
    victim.write_bytes(b"keep")
    queries = FakeQueries([Row("r1", str(victim)), Row("r2", "/etc/passwd")])
    assert await purge_expired(None, store, NOW, 30, queries=queries) == 0  # type: ignore[arg-type]
    assert victim.read_bytes() == b"keep"
    assert queries.marked == []
    assert "not purged" in caplog.text


async def test_retention_must_be_at_least_a_day(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, "/var/spool/asterisk/recording", "shared")
    with pytest.raises(ValueError, match="at least 1"):
        await purge_expired(None, store, NOW, 0, queries=FakeQueries([]))  # type: ignore[arg-type]
