"""`ccapp calls`: the latest call records, legs and journal, as an operator reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ccapp.storage import Database
from ccapp.storage.queries import list_events, list_legs, recent_calls


def _t(value: Any) -> str:
    return value.strftime("%H:%M:%S.%f")[:-3] if isinstance(value, datetime) else "-"


async def print_calls(url: str, *, limit: int = 10, events: bool = False) -> int:
    """Print the newest ``limit`` calls (oldest of them first)."""
    db = Database(url)
    try:
        calls = list(reversed(await recent_calls(db, limit)))
        print(f"{len(calls)} call(s)")
        for c in calls:
            dur = c["duration_s"]
            print(
                f"call {c['call_id']}  {c['via']}/{c['entry']}  from {c['caller_number'] or '-'} "
                f"to {c['called_number'] or '-'}  start {_t(c['started_at'])} answer {_t(c['answered_at'])} "
                f"end {_t(c['ended_at'])}  {'-' if dur is None else f'{dur:.1f} s'}  "
                f"digits {c['digits'] or '-'}  "
                f"cause {c['hangup_cause']} ({c['hangup_cause_text'] or '-'})  outcome {c['outcome']}"
            )
            for leg in await list_legs(db, c["call_id"]):
                print(
                    f"   leg {leg['channel']}  answered {_t(leg['answered_at'])} "
                    f"ended {_t(leg['ended_at'])}  cause {leg['hangup_cause']}"
                )
            if events:
                for e in await list_events(db, c["call_id"]):
                    print(f"   #{e['seq']:<2} {_t(e['at'])} {e['kind']:<13} {e['data']}")
    finally:
        await db.dispose()
    return 0
