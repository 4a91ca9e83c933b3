"""Dial-time do-not-call check: one indexed query per number, so an entry added a moment ago (by the
API, the CLI or another ccapp) is honoured at once — no cache to go stale."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, select

from ccapp.storage.db import Database
from ccapp.storage.models import Base

dnc_entries: Table = Base.metadata.tables["dnc_entries"]


def candidates(number: str) -> list[str]:
    """Entries that would block E.164 ``number``: itself and every prefix of it as ``+digits*``."""
    return [number] + [number[:k] + "*" for k in range(2, len(number) + 1)]


async def dnc_blocked(db: Database, number: str, lists: Iterable[str]) -> str | None:
    """The name of one of ``lists`` that blocks ``number`` (alphabetically first), or None."""
    names = sorted(set(lists))
    if not names:
        return None
    c = dnc_entries.c
    query = (
        select(c.list_name)
        .where(c.list_name.in_(names), c.entry.in_(candidates(number)))
        .order_by(c.list_name)
        .limit(1)
    )
    async with db.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else str(row[0])
