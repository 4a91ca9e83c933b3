"""The outbox's segment files: append, recover, release, rotate, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ccapp.calls.model import CallEvent, EventKind
from ccapp.storage.outbox import DEAD_LETTER, Outbox, encode

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def line(call_id: str, seq: int) -> str:
    return encode(CallEvent(call_id, seq, T0, EventKind.PROMPT, {"prompts": ["x"]}))


def dead_letters(directory: Path) -> list[dict[str, str]]:
    path = directory / DEAD_LETTER
    return [json.loads(raw) for raw in path.read_text().splitlines()] if path.exists() else []


def test_appended_lines_are_recovered_in_order_by_the_next_process(tmp_path: Path) -> None:
    first = Outbox(tmp_path)
    assert first.recover() == []
    assert first.append([line("c1", 1), line("c1", 2)]) == 1
    first.sync()
    first.close()

    second = Outbox(tmp_path)
    recovered = second.recover()
    assert [(segment, r.call_id, r.seq) for segment, r in recovered] == [(1, "c1", 1), (1, "c1", 2)]
    # Never appends behind what it recovered: a new segment takes the new events.
    assert second.append([line("c1", 3)]) == 2
    second.close()


def test_a_torn_last_line_and_garbage_go_to_the_dead_letter_file(tmp_path: Path) -> None:
    good = line("c1", 1)
    (tmp_path / "segment-0000000007.jsonl").write_text(f"{good}\nnot json\n\n{good[:20]}")
    (tmp_path / "unrelated.txt").write_text("ignored")
    outbox = Outbox(tmp_path)
    recovered = outbox.recover()
    assert [(segment, r.seq) for segment, r in recovered] == [(7, 1)]
    reasons = [d["reason"] for d in dead_letters(tmp_path)]
    assert len(reasons) == 2
    assert "torn write" in reasons[1]
    assert outbox.current == 8


def test_release_deletes_stored_segments_and_empties_the_current_one(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, max_segment_bytes=1)
    outbox.recover()
    assert outbox.append([line("c1", 1)]) == 1
    assert outbox.append([line("c1", 2)]) == 2  # rotated: the first segment reached its size
    assert outbox.append([line("c1", 3)]) == 3
    outbox.release(keep_from=2)
    assert outbox.segments() == [2, 3]
    outbox.release(keep_from=None)
    assert outbox.segments() == [3]
    assert (tmp_path / "segment-0000000003.jsonl").stat().st_size == 0
    outbox.append([line("c1", 4)])
    outbox.close()
    assert [r.seq for _, r in Outbox(tmp_path).recover()] == [4]
