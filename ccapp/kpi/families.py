"""Measure families: which tables a report reads, and which KPIs need which measures. Pure.

A family is the measures one table gives and the dimensions that table can group by. A family
contributes to a report only when it has every dimension the report groups or filters by, and only
when one of the requested KPIs reads one of its measures (found by running the formulas on a probe).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ccapp.kpi import agent_time
from ccapp.kpi.definitions import (
    AGENT_MEASURES,
    CONTACT_MEASURES,
    IVR_MEASURES,
    KPI_BY_NAME,
    OUTBOUND_MEASURES,
    QUEUE_MEASURES,
    TRANSFER_MEASURES,
    ReportRequest,
)


@dataclass(frozen=True, slots=True)
class Family:
    """Measures that come from one table, and the dimensions that table can group by."""

    name: str
    measures: tuple[str, ...]
    dimensions: frozenset[str]


FAMILIES = (
    Family("queue", QUEUE_MEASURES, frozenset({"queue", "agent", "skill", "topic"})),
    Family("contact", CONTACT_MEASURES, frozenset({"queue", "agent", "topic"})),
    Family("transfer", TRANSFER_MEASURES, frozenset({"queue", "agent", "topic"})),
    Family("ivr", IVR_MEASURES, frozenset()),
    Family("agent", AGENT_MEASURES, frozenset(agent_time.DIMENSIONS)),
    Family("outbound", OUTBOUND_MEASURES, frozenset({"campaign", "agent"})),
)


class _Probe(Mapping[str, float]):
    """Records which measures a formula reads."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __getitem__(self, key: str) -> float:
        self.seen.add(key)
        return 1.0

    def get(self, key: str, default: object = None) -> float:
        self.seen.add(key)
        return 1.0

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def needed_measures(kpis: Sequence[str]) -> set[str]:
    """The measures the formulas of ``kpis`` read (ValueError naming an unknown KPI)."""
    unknown = [k for k in kpis if k not in KPI_BY_NAME]
    if unknown:
        raise ValueError(f"unknown KPI(s): {', '.join(unknown)}")
    probe = _Probe()
    for name in kpis:
        KPI_BY_NAME[name].formula(probe)
    return probe.seen


def families_for(request: ReportRequest) -> list[Family]:
    """The families that contribute to ``request`` (see the module docstring)."""
    needed = needed_measures(request.kpis)
    asked = {str(d) for d in request.dimensions} | set(request.where)
    return [f for f in FAMILIES if asked <= f.dimensions and needed & set(f.measures)]
