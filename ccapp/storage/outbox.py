"""The journal's durable local outbox: append-only JSON-lines segment files in one folder.

Every event is written here (and fsynced) before it goes to SQL, so a database outage or a crash
loses nothing: on start the journal replays whatever the segments still hold. Replays are harmless
because SQL writes are idempotent. Files:

- ``segment-0000000001.jsonl`` … one event per line; the highest number is the one being appended;
- ``dead-letter.jsonl`` lines that can never be stored (undecodable, or refused by the database),
  kept for a human instead of blocking the journal forever.

Everything here is synchronous and owned by one writer task; the journal calls `sync` through
`asyncio.to_thread` so the event loop never waits on the disk.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any

from ccapp.calls.model import CallEvent

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl"
DEAD_LETTER = "dead-letter.jsonl"
#: A segment this big is closed and a new one started, so a long outage leaves several files that
#: can be deleted one by one as the database catches up.
MAX_SEGMENT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """A journal event as stored: plain JSON data, ``kind`` as its string value."""

    call_id: str
    seq: int
    at: datetime
    kind: str
    data: dict[str, Any]


def _json_default(value: object) -> object:
    # Event data comes from call handling code; anything odd is stored as text rather than refused.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _dump(call_id: str, seq: int, at: datetime, kind: object, data: Mapping[str, Any]) -> str:
    kind_text = kind.value if isinstance(kind, Enum) else str(kind)
    obj = {"call_id": call_id, "seq": seq, "at": at.isoformat(), "kind": kind_text, "data": dict(data)}
    # ASCII-only output: a lone surrogate in caller data cannot break the UTF-8 file.
    return json.dumps(obj, default=_json_default, separators=(",", ":"))


def encode(event: CallEvent) -> str:
    """One JSON line (without newline) for ``event``; datetimes as ISO-8601, kind as its value."""
    return _dump(event.call_id, event.seq, event.at, event.kind, event.data)


def encode_record(record: Record) -> str:
    """The outbox line of a decoded record."""
    return _dump(record.call_id, record.seq, record.at, record.kind, record.data)


def decode(line: str) -> Record:
    """Parse one outbox line; raises ValueError when it is not a valid event."""
    try:
        obj = json.loads(line)
        call_id, seq, at_text, kind = obj["call_id"], obj["seq"], obj["at"], obj["kind"]
        data = obj.get("data") or {}
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not an event: {exc!r}") from exc
    if not isinstance(call_id, str) or not call_id:
        raise ValueError("call_id must be a non-empty string")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a non-negative integer")
    if not isinstance(kind, str) or not kind:
        raise ValueError("kind must be a non-empty string")
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    if not isinstance(at_text, str):
        raise ValueError("at must be an ISO-8601 string")
    at = datetime.fromisoformat(at_text)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return Record(call_id, seq, at, kind, data)


def _segment_number(path: Path) -> int | None:
    name = path.name
    if not (name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX)):
        return None
    digits = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
    return int(digits) if digits.isdigit() else None


class Outbox:
    """Segment files in ``directory``. Not thread-safe: one writer at a time."""

    def __init__(self, directory: Path | str, *, max_segment_bytes: int = MAX_SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.max_segment_bytes = max_segment_bytes
        self.current = 0
        self._file: IO[bytes] | None = None
        self._new_file = False

    def _path(self, number: int) -> Path:
        return self.directory / f"{SEGMENT_PREFIX}{number:010d}{SEGMENT_SUFFIX}"

    def segments(self) -> list[int]:
        """Numbers of the segment files on disk, oldest first."""
        if not self.directory.is_dir():
            return []
        found = (_segment_number(p) for p in self.directory.iterdir())
        return sorted(n for n in found if n is not None)

    def recover(self) -> list[tuple[int, Record]]:
        """Read every segment left on disk (oldest first) and start appending to a fresh one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        recovered: list[tuple[int, Record]] = []
        numbers = self.segments()
        for number in numbers:
            raw = self._path(number).read_bytes()
            lines = raw.split(b"\n")
            for index, chunk in enumerate(lines):
                if not chunk.strip():
                    continue
                text = chunk.decode("utf-8", errors="replace")
                try:
                    recovered.append((number, decode(text)))
                except ValueError as exc:
                    # A last piece without its newline is a write torn by a crash (never fsynced);
                    # say so, then set it aside like any other undecodable line.
                    torn = " (torn write)" if index == len(lines) - 1 else ""
                    self.dead_letter(text, f"segment {number}{torn}: {exc}")
        # Never append after a possibly torn line: new events go to a new segment.
        self.current = (numbers[-1] + 1) if numbers else 1
        if recovered:
            log.info("outbox: %d events to replay from %d segment(s)", len(recovered), len(numbers))
        return recovered

    def append(self, lines: list[str]) -> int:
        """Append lines to the current segment (flushed to the OS, not yet synced); return its number."""
        if self._file is not None and self._file.tell() >= self.max_segment_bytes:
            self._close()
            self.current += 1
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.current = max(self.current, 1)
            self._file = open(self._path(self.current), "ab")  # noqa: SIM115 - kept open across batches
            self._new_file = True
        if lines:
            self._file.write(("\n".join(lines) + "\n").encode("ascii", errors="backslashreplace"))
            self._file.flush()
        return self.current

    def sync(self) -> None:
        """fsync the current segment (and, once, the folder that lists it). Blocking: run in a thread."""
        if self._file is None:
            return
        os.fsync(self._file.fileno())
        if self._new_file:
            self._new_file = False
            _fsync_dir(self.directory)

    def release(self, keep_from: int | None) -> None:
        """Forget segments whose events are all in SQL.

        ``keep_from`` is the oldest segment still holding undelivered events; None means none does.
        The current segment is emptied in place rather than deleted, so steady state costs no
        file creation; if the truncation is lost in a crash, the replay is merely idempotent.
        """
        for number in self.segments():
            if keep_from is not None and number >= keep_from:
                break
            if number == self.current and self._file is not None:
                self._file.truncate(0)
                self._file.seek(0)
                continue
            self._path(number).unlink(missing_ok=True)

    def dead_letter(self, line: str, reason: str) -> None:
        """Keep a line that can never be stored, with the reason, and log it."""
        log.error("outbox: dead-lettered an event: %s", reason)
        entry = json.dumps({"reason": reason, "line": line})
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.directory / DEAD_LETTER, "a", encoding="ascii") as fh:
                fh.write(entry + "\n")
        except OSError:
            # Never let the dead-letter file stop the journal; the log line above still has the reason.
            log.exception("outbox: cannot write the dead-letter file; dropped: %s", line[:500])

    def close(self) -> None:
        """Sync and close the current segment. Blocking."""
        if self._file is not None:
            try:
                self.sync()
            finally:
                self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems refuse fsync on a directory; the file's own fsync still happened.
        pass
    finally:
        os.close(fd)
