"""`ccapp ivr report`: what callers did in the IVR over a period, as a text table or JSON.

Pure: the result types, the period arithmetic and the formatting. The numbers come from
`ccapp.storage.ivr_queries`, which fills an `IvrReport` from the journal.

Definitions (per tree and node, over calls *started* in ``[start, end)``):

- *entries*: ``ivr.node`` events (a caller looping back through a menu enters it again);
- *calls*: distinct calls that entered the node at least once;
- *inputs*, *timeouts*, *no-matches*: ``ivr.input``, ``ivr.timeout``, ``ivr.no_match`` events;
- *drop-offs*: distinct calls whose caller hung up inside the node (``ivr.exit`` with outcome
  ``caller_hangup`` there);
- *exits*: ``ivr.exit`` events by outcome;
- *path*: a call's nodes of one tree in journal order, joined with `PATH_SEPARATOR`; its *share*
  is the percentage of the tree's calls (calls that entered at least one of its nodes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PATH_SEPARATOR = " > "
#: The ``ivr.exit`` outcome of a caller hanging up inside a node.
CALLER_HANGUP = "caller_hangup"


@dataclass(slots=True)
class NodeStats:
    """The counters of one node of one tree."""

    tree: str
    node: str
    #: node type from ``ivr.node`` (several joined with "|" when versions in the period differ)
    type: str = ""
    entries: int = 0
    calls: int = 0
    inputs: int = 0
    timeouts: int = 0
    no_matches: int = 0
    drop_offs: int = 0
    #: ``ivr.exit`` events at this node by outcome
    exits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PathShare:
    """How many calls of a tree took exactly this path."""

    path: str
    calls: int
    share: float  # percent of the tree's calls


@dataclass(slots=True)
class TreeReport:
    """One tree's nodes (in walk order: earliest step first), exits and most common paths."""

    tree: str
    calls: int
    versions: list[str] = field(default_factory=list)
    nodes: list[NodeStats] = field(default_factory=list)
    paths: list[PathShare] = field(default_factory=list)
    #: distinct paths in the period (``paths`` holds the top N of them)
    distinct_paths: int = 0

    @property
    def outcomes(self) -> dict[str, int]:
        """``ivr.exit`` events of the whole tree by outcome, most frequent first."""
        total: dict[str, int] = {}
        for node in self.nodes:
            for outcome, n in node.exits.items():
                total[outcome] = total.get(outcome, 0) + n
        return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))


@dataclass(slots=True)
class IvrReport:
    """The IVR report of a period ``[start, end)`` (call start times), optionally of one tree."""

    start: datetime
    end: datetime
    tree: str | None
    #: every call started in the period, IVR or not
    calls_started: int
    trees: list[TreeReport] = field(default_factory=list)


def share(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole`` (0 when ``whole`` is 0)."""
    return 100.0 * part / whole if whole else 0.0


def parse_when(text: str) -> datetime:
    """A local date (``YYYY-MM-DD``, meaning its midnight) or date-time (``YYYY-MM-DDTHH:MM``), naive.

    Raises ValueError with a message fit for an operator.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if value.tzinfo is not None:
        raise ValueError(f"{text!r} has a UTC offset; give local times and the zone with --tz")
    return value


def parse_zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``UTC``, ``Europe/Berlin`` …); raises ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone (IANA name like Europe/Berlin)") from None


def period(start: datetime, end: datetime, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The local times ``start`` and ``end`` placed in ``tz``: the period ``[start, end)``.

    Raises ValueError when ``end`` is not after ``start``.
    """
    start, end = start.replace(tzinfo=tz), end.replace(tzinfo=tz)
    if end <= start:
        raise ValueError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    return start, end


# -- JSON ------------------------------------------------------------------------------------------


def to_dict(report: IvrReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (times ISO-8601 with offset, shares rounded to 0.01 %)."""
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "tree": report.tree,
        "calls_started": report.calls_started,
        "trees": [
            {
                "tree": t.tree,
                "calls": t.calls,
                "versions": t.versions,
                "outcomes": t.outcomes,
                "nodes": [
                    {
                        "node": n.node,
                        "type": n.type,
                        "entries": n.entries,
                        "calls": n.calls,
                        "inputs": n.inputs,
                        "timeouts": n.timeouts,
                        "no_matches": n.no_matches,
                        "drop_offs": n.drop_offs,
                        "exits": dict(sorted(n.exits.items())),
                    }
                    for n in t.nodes
                ],
                "distinct_paths": t.distinct_paths,
                "paths": [{"path": p.path, "calls": p.calls, "share": round(p.share, 2)} for p in t.paths],
            }
            for t in report.trees
        ],
    }


def to_json(report: IvrReport) -> str:
    """The report as an indented JSON document."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)


# -- text table ------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> list[str]:
    """``rows`` under ``headers``, each column aligned per ``align`` ("l" left, "r" right; one per column)."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return [
        "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align, strict=True)
        ).rstrip()
        for r in cells
    ]


def _exits_text(exits: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(exits.items(), key=lambda i: (-i[1], i[0]))) or "-"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z").strip() if value.tzinfo else value.isoformat()


def format_table(report: IvrReport) -> str:
    """The report as an operator reads it: a header, then per tree its nodes, outcomes and top paths."""
    scope = f"tree {report.tree}" if report.tree else "all trees"
    lines = [
        f"IVR report {_when(report.start)} to {_when(report.end)} (end excluded), {scope}",
        f"calls started: {report.calls_started}",
    ]
    if not report.trees:
        lines.append("no IVR activity in this period")
    for t in report.trees:
        versions = f", version {', '.join(t.versions)}" if t.versions else ""
        lines += ["", f"tree {t.tree}{versions}: {t.calls} call(s)"]
        lines += table(
            ("node", "type", "entries", "calls", "inputs", "timeouts", "no-match", "drop-offs", "exits"),
            [
                (
                    n.node,
                    n.type or "-",
                    n.entries,
                    n.calls,
                    n.inputs,
                    n.timeouts,
                    n.no_matches,
                    n.drop_offs,
                    _exits_text(n.exits),
                )
                for n in t.nodes
            ],
            "llrrrrrrl",
        )
        outcomes = t.outcomes
        if outcomes:
            total = sum(outcomes.values())
            lines += ["", "exits by outcome"]
            lines += table(
                ("outcome", "exits", "share"),
                [(k, v, f"{share(v, total):.1f} %") for k, v in outcomes.items()],
                "lrr",
            )
        if t.paths:
            lines += ["", f"top {len(t.paths)} of {t.distinct_paths} path(s)"]
            lines += table(
                ("calls", "share", "path"),
                [(p.calls, f"{p.share:.1f} %", p.path) for p in t.paths],
                "rrl",
            )
    return "\n".join(lines)
