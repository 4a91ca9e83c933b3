"""IVR report queries over the journal (`call_events`), identical on SQLite and PostgreSQL.

Two passes, both limited to calls *started* in ``[start, end)`` (``calls.started_at``, indexed) and
to the ``ivr.*`` kinds:

1. the counters are aggregated in SQL: ``GROUP BY kind, tree, node, outcome`` with ``count(*)`` and
   ``count(DISTINCT call_id)``. JSON fields are read with SQLAlchemy's JSON indexing
   (``json_extract`` on SQLite, ``->>`` on PostgreSQL), so no backend-specific SQL is written here;
2. paths need each call's nodes in order, and ordered string aggregation is not portable, so the
   ``ivr.node`` events are streamed (``tree``, ``node``, ``type``, ``version`` only, in batches of
   `STREAM_BATCH`, ordered by call and sequence) and folded in Python one call at a time.

Definitions of every number are in `ccapp.ivr.report`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.calls.model import EventKind
from ccapp.errors import StorageError
from ccapp.ivr.report import CALLER_HANGUP, PATH_SEPARATOR, IvrReport, NodeStats, PathShare, TreeReport, share
from ccapp.storage.db import Database
from ccapp.storage.models import Base

events = Base.metadata.tables["call_events"]
calls = Base.metadata.tables["calls"]

#: Rows fetched per round trip while streaming node entries.
STREAM_BATCH = 5000

IVR_KINDS = (
    EventKind.IVR_NODE,
    EventKind.IVR_INPUT,
    EventKind.IVR_TIMEOUT,
    EventKind.IVR_NO_MATCH,
    EventKind.IVR_EXIT,
)

_tree = events.c.data["tree"].as_string()
_node = events.c.data["node"].as_string()


def _in_period(
    stmt: Select[Any], kinds: Iterable[str], start: datetime, end: datetime, tree: str | None
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = [
        calls.c.started_at >= start,
        calls.c.started_at < end,
        events.c.kind.in_([str(k) for k in kinds]),
    ]
    if tree is not None:
        conditions.append(_tree == tree)
    return stmt.select_from(events.join(calls, calls.c.call_id == events.c.call_id)).where(and_(*conditions))


async def calls_started(conn: AsyncConnection, start: datetime, end: datetime) -> int:
    """How many calls started in ``[start, end)``."""
    stmt = select(func.count()).where(calls.c.started_at >= start, calls.c.started_at < end)
    return int((await conn.execute(stmt)).scalar_one())


@dataclass(frozen=True, slots=True)
class Count:
    """One group of the counters query."""

    kind: str
    tree: str
    node: str
    outcome: str | None
    events: int
    calls: int


async def ivr_counts(
    conn: AsyncConnection, start: datetime, end: datetime, tree: str | None = None
) -> list[Count]:
    """``ivr.*`` events of calls started in ``[start, end)`` grouped by kind, tree, node and outcome.

    ``outcome`` is only set for ``ivr.exit``; ``calls`` counts distinct calls in the group.
    """
    outcome = events.c.data["outcome"].as_string()
    stmt = _in_period(
        select(
            events.c.kind,
            _tree,
            _node,
            outcome,
            func.count(),
            func.count(distinct(events.c.call_id)),
        ),
        IVR_KINDS,
        start,
        end,
        tree,
    ).group_by(events.c.kind, _tree, _node, outcome)
    result = await conn.execute(stmt)
    return [
        Count(kind, t or "", n or "", o if kind == EventKind.IVR_EXIT else None, int(ev), int(nc))
        for kind, t, n, o, ev, nc in result.all()
    ]


@dataclass(slots=True)
class PathFold:
    """Folds ``ivr.node`` entries, ordered by call then sequence, into paths, node types and depths.

    Pure: `add` takes one entry at a time; `finish` closes the last call.
    """

    paths: Counter[tuple[str, str]] = field(default_factory=Counter)
    tree_calls: Counter[str] = field(default_factory=Counter)
    #: smallest step (0 = first node of the tree in a call) at which each (tree, node) was entered
    depth: dict[tuple[str, str], int] = field(default_factory=dict)
    types: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    versions: dict[str, set[str]] = field(default_factory=dict)
    _call: str | None = None
    _walk: dict[str, list[str]] = field(default_factory=dict)

    def add(self, call_id: str, tree: str, node: str, type_: str | None, version: object) -> None:
        if call_id != self._call:
            self.finish()
            self._call = call_id
        walk = self._walk.setdefault(tree, [])
        key = (tree, node)
        if self.depth.get(key, len(walk) + 1) > len(walk):
            self.depth[key] = len(walk)
        walk.append(node)
        if type_:
            self.types.setdefault(key, set()).add(type_)
        if version is not None:
            self.versions.setdefault(tree, set()).add(str(version))

    def finish(self) -> None:
        for tree, walk in self._walk.items():
            self.paths[(tree, PATH_SEPARATOR.join(walk))] += 1
            self.tree_calls[tree] += 1
        self._walk = {}
        self._call = None


async def fold_paths(
    conn: AsyncConnection, start: datetime, end: datetime, tree: str | None = None
) -> PathFold:
    """Stream the ``ivr.node`` entries of calls started in ``[start, end)`` through a `PathFold`."""
    stmt = _in_period(
        select(
            events.c.call_id,
            _tree,
            _node,
            events.c.data["type"].as_string(),
            # Versions may be numbers or text; read as JSON so both backends return the same value.
            events.c.data["version"],
        ),
        (EventKind.IVR_NODE,),
        start,
        end,
        tree,
    ).order_by(events.c.call_id, events.c.seq)
    fold = PathFold()
    result = await conn.stream(stmt.execution_options(yield_per=STREAM_BATCH))
    async for partition in result.partitions():
        for call_id, t, n, type_, version in partition:
            fold.add(call_id, t or "", n or "", type_, version)
    fold.finish()
    return fold


def build_report(
    start: datetime,
    end: datetime,
    tree: str | None,
    started: int,
    counts: Iterable[Count],
    fold: PathFold,
    top: int,
) -> IvrReport:
    """Assemble the counters and the folded paths into an `IvrReport` (pure)."""
    nodes: dict[tuple[str, str], NodeStats] = {}
    for c in counts:
        n = nodes.setdefault((c.tree, c.node), NodeStats(c.tree, c.node))
        if c.kind == EventKind.IVR_NODE:
            n.entries, n.calls = n.entries + c.events, n.calls + c.calls
        elif c.kind == EventKind.IVR_INPUT:
            n.inputs += c.events
        elif c.kind == EventKind.IVR_TIMEOUT:
            n.timeouts += c.events
        elif c.kind == EventKind.IVR_NO_MATCH:
            n.no_matches += c.events
        elif c.kind == EventKind.IVR_EXIT:
            outcome = c.outcome or "unknown"
            n.exits[outcome] = n.exits.get(outcome, 0) + c.events
            if outcome == CALLER_HANGUP:
                n.drop_offs += c.calls
    for key, n in nodes.items():
        n.type = "|".join(sorted(fold.types.get(key, ())))

    trees: dict[str, TreeReport] = {}
    for (t, _), n in sorted(
        nodes.items(), key=lambda item: (item[0][0], fold.depth.get(item[0], 1 << 30), item[0][1])
    ):
        report = trees.setdefault(
            t, TreeReport(t, fold.tree_calls[t], _versions(fold.versions.get(t, set())))
        )
        report.nodes.append(n)
    for (t, path), count in sorted(fold.paths.items(), key=lambda item: (item[0][0], -item[1], item[0][1])):
        report = trees.setdefault(t, TreeReport(t, fold.tree_calls[t]))
        report.distinct_paths += 1
        if len(report.paths) < top:
            report.paths.append(PathShare(path, count, share(count, report.calls)))
    return IvrReport(start, end, tree, started, [trees[t] for t in sorted(trees)])


def _versions(values: set[str]) -> list[str]:
    return sorted(values, key=lambda v: (len(v), v))


async def ivr_report(
    db: Database, start: datetime, end: datetime, *, tree: str | None = None, top: int = 10
) -> IvrReport:
    """The IVR report of calls started in ``[start, end)`` (aware datetimes), optionally one tree only.

    ``top`` limits the paths listed per tree. Raises `StorageError` when the database fails.
    """
    try:
        async with db.engine.connect() as conn:
            started = await calls_started(conn, start, end)
            counts = await ivr_counts(conn, start, end, tree)
            fold = await fold_paths(conn, start, end, tree)
    except (SQLAlchemyError, OSError) as exc:
        # The DBAPI's own message; SQLAlchemy's wrapper would add the whole statement to it.
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(f"IVR report query failed on {db!r}: {reason}") from exc
    return build_report(start, end, tree, started, counts, fold, top)
