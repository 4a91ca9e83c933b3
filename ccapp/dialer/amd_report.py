"""AMD vs dispositions: how often answering-machine detection is wrong, per campaign. Pure.

For each dial attempt: AMD's *verdict* (``dial_attempts.amd``: HUMAN, MACHINE, NOTSURE or none) and,
where known, the *truth* (was it a person or a machine):

* from a truth mapping (phone → ``human``/``machine``), when given: the test bed knows it from the
  test PSTN number it called;
* else from the agent's disposition of the call (``dial_attempts.outcome``): ``answering_machine``, or
  ``machine`` with ``right_party`` false, means the agent heard a machine; any other disposition means a
  person. An attempt no agent dispositioned has no truth.

Rates (docs/campaigns.md, "AMD vs dispositions"):

* **false-machine rate** = MACHINE verdicts that were a person / MACHINE verdicts with a known truth.
  In production machine calls are hung up (or get a message), so no one hears them: the truth is known
  only for the *audit sample*, the MACHINE calls the dialer still sends to an agent
  (``amd_audit_fraction`` of them); the rate is an estimate from that sample, and ``machine_checked``
  says how big it was.
* **false-human rate** = HUMAN or NOTSURE verdicts that were a machine / such verdicts with a known
  truth (every one an agent dispositioned).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields

VERDICTS = ("HUMAN", "MACHINE", "NOTSURE")
MACHINE_OUTCOMES = frozenset({"answering_machine"})
TOTAL = "total"


@dataclass(frozen=True, slots=True)
class AmdAttempt:
    """The columns of one dial attempt the report needs."""

    campaign_id: str
    phone: str | None
    amd: str | None
    outcome: str | None
    right_party: bool | None = None


@dataclass(slots=True)
class AmdStats:
    """One campaign's (or the total's) counts and rates; a rate is None when nothing was checked."""

    campaign: str
    attempts: int = 0
    with_verdict: int = 0
    human: int = 0
    machine: int = 0
    notsure: int = 0
    machine_checked: int = 0
    false_machine: int = 0
    human_checked: int = 0
    false_human: int = 0

    @property
    def false_machine_rate(self) -> float | None:
        return self.false_machine / self.machine_checked if self.machine_checked else None

    @property
    def false_human_rate(self) -> float | None:
        return self.false_human / self.human_checked if self.human_checked else None

    def as_dict(self) -> dict[str, object]:
        """Counts and both rates (fractions)."""
        data: dict[str, object] = asdict(self)
        data["false_machine_rate"] = self.false_machine_rate
        data["false_human_rate"] = self.false_human_rate
        return data

    def add(self, other: AmdStats) -> None:
        for f in fields(self):
            if f.name != "campaign":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def verdict_of(amd: str | None) -> str | None:
    """AMD's status normalised (``human`` → ``HUMAN``); None for no or an unknown verdict."""
    value = (amd or "").strip().upper()
    return value if value in VERDICTS else None


def truth_of(attempt: AmdAttempt, truth: Mapping[str, str] | None = None) -> str | None:
    """``human``, ``machine`` or None (unknown): the mapping first, else the agent's disposition."""
    if truth is not None and attempt.phone is not None and attempt.phone in truth:
        return truth[attempt.phone]
    if attempt.outcome is None:
        return None
    said_machine = attempt.outcome == "machine" and attempt.right_party is False
    return "machine" if attempt.outcome in MACHINE_OUTCOMES or said_machine else "human"


def amd_report(attempts: Iterable[AmdAttempt], truth: Mapping[str, str] | None = None) -> list[AmdStats]:
    """Per-campaign stats sorted by campaign, then the total over all campaigns (named ``total``)."""
    by_campaign: dict[str, AmdStats] = {}
    for attempt in attempts:
        stats = by_campaign.setdefault(attempt.campaign_id, AmdStats(attempt.campaign_id))
        stats.attempts += 1
        verdict = verdict_of(attempt.amd)
        if verdict is None:
            continue
        stats.with_verdict += 1
        setattr(stats, verdict.lower(), getattr(stats, verdict.lower()) + 1)
        actual = truth_of(attempt, truth)
        if actual is None:
            continue
        if verdict == "MACHINE":
            stats.machine_checked += 1
            stats.false_machine += actual == "human"
        else:
            stats.human_checked += 1
            stats.false_human += actual == "machine"
    rows = [by_campaign[name] for name in sorted(by_campaign)]
    total = AmdStats(TOTAL)
    for row in rows:
        total.add(row)
    return [*rows, total]


COLUMNS = (
    "campaign",
    "attempts",
    "with_verdict",
    "human",
    "machine",
    "notsure",
    "machine_checked",
    "false_machine",
    "false_machine_rate",
    "human_checked",
    "false_human",
    "false_human_rate",
)


def _percent(value: object) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


def _align(index: int, cell: str, width: int) -> str:
    return cell.ljust(width) if index == 0 else cell.rjust(width)


def render_table(rows: list[AmdStats]) -> str:
    """An aligned table for people (rates as percents, ``—`` when nothing was checked)."""
    cells = [list(COLUMNS)]
    for row in rows:
        data = row.as_dict()
        cells.append([_percent(data[c]) if c.endswith("_rate") else str(data[c]) for c in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    return "\n".join(lines) + "\n"


def render_csv(rows: list[AmdStats]) -> str:
    """CSV for programs: rates as fractions, empty when nothing was checked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        data = row.as_dict()
        writer.writerow(["" if data[c] is None else data[c] for c in COLUMNS])
    return out.getvalue()


def render_json(rows: list[AmdStats]) -> str:
    """JSON: ``{"campaigns": [...], "total": {...}}``, rates as fractions or null."""
    *campaigns, total = rows
    body = {"campaigns": [r.as_dict() for r in campaigns], "total": total.as_dict()}
    return json.dumps(body, indent=2) + "\n"


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json}
