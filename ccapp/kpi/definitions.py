"""The KPIs of DESIGN.md section 5: additive *measures* and one formula per KPI over them. Pure.

A report is computed in two steps. SQL (``ccapp.storage.kpi_queries``, or the roll-ups of
``ccapp.storage.kpi_rollup``) sums the measures per group and base interval; measures are
additive, so groups and intervals can be merged by adding them (a local day is 96 UTC
15-minute slots, a total is the sum of its rows). Then `compute` turns measures into KPIs.

Measures, by the table they come from and the time that places them in an interval:

queue entries (``queue_calls``, by ``entered_at``) — thresholds T and S are `Thresholds`:
  ``entries``, ``short_abandons`` (abandoned after < S), ``answered``, ``answered_within_t``
  (wait <= T), ``all_abandoned``, ``abandoned_within_t`` (wait <= T), ``answered_timed`` (answered
  with a known wait), ``answered_wait_s``, ``handled`` (connected to an agent and talk over),
  ``handle_s`` (talk + hold + wrap-up of handled entries), ``callbacks`` (callback requested)
contacts (``contacts``, by ``started_at``) — W is the repeat window:
  ``contacts_handled``; ``contacts_resolved`` (handled, resolved, and no contact from the same number
  on the same topic within W after it); ``first_contacts`` (handled, and no contact on the same topic
  from the number within W before it); ``first_contacts_resolved``
transfers (``transfers``, by ``at``):
  ``transfers``, ``transfers_correct`` (target matches the escalation rule), ``transfers_judged``
  (a rule covered the topic)
IVR (``calls`` that ran an IVR tree, by ``started_at``):
  ``ivr_calls``, ``ivr_contained`` (ended in the IVR: never queued nor transferred to a person)
agent time (``agent_states`` spans, split at interval edges):
  ``handling_s`` (reserved, ringing, on_call, wrap_up), ``ready_s``, ``logged_in_s`` (any state but
  logged_out)
outbound (``dial_attempts``, by ``started_at``; ``agent_states`` with a campaign):
  ``dial_attempts``, ``leads`` (leads dialled, each counted at its first attempt in the period),
  ``rpc_leads`` (of those, right party reached in the period), ``rpc_contacts`` (attempts with the
  right party), ``agent_contacts`` (attempts connected to an agent), ``live_answers`` (result human),
  ``live_abandoned`` (live answers with no agent in time), ``campaign_logged_in_s``
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

QUEUE_MEASURES = (
    "entries",
    "short_abandons",
    "answered",
    "answered_within_t",
    "all_abandoned",
    "abandoned_within_t",
    "answered_timed",
    "answered_wait_s",
    "handled",
    "handle_s",
    "callbacks",
)
CONTACT_MEASURES = ("contacts_handled", "contacts_resolved", "first_contacts", "first_contacts_resolved")
TRANSFER_MEASURES = ("transfers", "transfers_correct", "transfers_judged")
IVR_MEASURES = ("ivr_calls", "ivr_contained")
AGENT_MEASURES = ("handling_s", "ready_s", "logged_in_s")
OUTBOUND_MEASURES = (
    "dial_attempts",
    "leads",
    "rpc_leads",
    "rpc_contacts",
    "agent_contacts",
    "live_answers",
    "live_abandoned",
    "campaign_logged_in_s",
)
MEASURES = (
    *QUEUE_MEASURES,
    *CONTACT_MEASURES,
    *TRANSFER_MEASURES,
    *IVR_MEASURES,
    *AGENT_MEASURES,
    *OUTBOUND_MEASURES,
)

#: the measures the ``kpi_queue_slots`` roll-up keeps (per queue and 15-minute UTC slot)
ROLLUP_MEASURES = (*QUEUE_MEASURES, *CONTACT_MEASURES)


class Dimension(StrEnum):
    """What a report can group by besides time."""

    QUEUE = "queue"
    AGENT = "agent"
    SKILL = "skill"
    TOPIC = "topic"
    CAMPAIGN = "campaign"


class Interval(StrEnum):
    """Report intervals, in the report's time zone (weeks start on Monday)."""

    MIN15 = "15m"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """T, S and W of DESIGN.md section 5, in seconds."""

    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    repeat_window_s: float = 7 * 86400.0


Unit = Literal["count", "ratio", "seconds", "per_hour"]
Measures = Mapping[str, float]


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI: its name in reports, a short label, its unit and its formula over measures."""

    name: str
    label: str
    unit: Unit
    formula: Callable[[Measures], float | None]
    doc: str


def _m(measures: Measures, name: str) -> float:
    return float(measures.get(name, 0.0))


def _offered(m: Measures) -> float:
    return _m(m, "entries") - _m(m, "short_abandons")


def _abandoned(m: Measures) -> float:
    return _m(m, "all_abandoned") - _m(m, "short_abandons")


def _per_hour(m: Measures, part: str) -> float | None:
    hours = _m(m, "campaign_logged_in_s") / 3600.0
    return _m(m, part) / hours if hours else None


KPIS: tuple[Kpi, ...] = (
    Kpi("offered", "offered", "count", _offered, "queue entries − short abandons"),
    Kpi("answered", "answered", "count", lambda m: _m(m, "answered"), "entries an agent answered"),
    Kpi("abandoned", "abandoned", "count", _abandoned, "abandoned after waiting S or more"),
    Kpi("short_abandons", "short ab.", "count", lambda m: _m(m, "short_abandons"), "abandoned in < S"),
    Kpi(
        "service_level",
        "SL",
        "ratio",
        lambda m: _ratio(_m(m, "answered_within_t"), _offered(m)),
        "answered within T / offered",
    ),
    Kpi(
        "sl2",
        "SL2",
        "ratio",
        lambda m: _ratio(
            _m(m, "answered_within_t") + _m(m, "abandoned_within_t"),
            _m(m, "answered") + _m(m, "all_abandoned"),
        ),
        "app_queue's SL2: (answered + abandoned within T) / (answered + all abandoned)",
    ),
    Kpi(
        "asa_s",
        "ASA s",
        "seconds",
        lambda m: _ratio(_m(m, "answered_wait_s"), _m(m, "answered_timed")),
        "mean wait of answered calls",
    ),
    Kpi(
        "abandon_rate",
        "abandon",
        "ratio",
        lambda m: _ratio(_abandoned(m), _offered(m)),
        "abandoned (≥ S) / offered",
    ),
    Kpi(
        "handled", "handled", "count", lambda m: _m(m, "handled"), "entries connected to an agent, talk over"
    ),
    Kpi(
        "aht_s",
        "AHT s",
        "seconds",
        lambda m: _ratio(_m(m, "handle_s"), _m(m, "handled")),
        "mean talk + hold + wrap-up of handled calls",
    ),
    Kpi(
        "callback_rate",
        "callback",
        "ratio",
        lambda m: _ratio(_m(m, "callbacks"), _offered(m)),
        "callbacks requested / offered",
    ),
    Kpi(
        "contact_resolution",
        "resolved",
        "ratio",
        lambda m: _ratio(_m(m, "contacts_resolved"), _m(m, "contacts_handled")),
        "handled contacts resolved with no repeat (same number, same topic) within W / handled contacts",
    ),
    Kpi(
        "fcr",
        "FCR",
        "ratio",
        lambda m: _ratio(_m(m, "first_contacts_resolved"), _m(m, "first_contacts")),
        "contact resolution over first contacts of a topic only",
    ),
    Kpi(
        "transfer_rate",
        "transfer",
        "ratio",
        lambda m: _ratio(_m(m, "transfers"), _m(m, "handled")),
        "transfers / handled calls",
    ),
    Kpi(
        "escalation_accuracy",
        "escal. ok",
        "ratio",
        lambda m: _ratio(_m(m, "transfers_correct"), _m(m, "transfers")),
        "transfers whose target matches the escalation rule for the call's topic / all transfers",
    ),
    Kpi(
        "ivr_containment",
        "IVR cont.",
        "ratio",
        lambda m: _ratio(_m(m, "ivr_contained"), _m(m, "ivr_calls")),
        "IVR calls that ended in the IVR / IVR calls",
    ),
    Kpi(
        "occupancy",
        "occupancy",
        "ratio",
        lambda m: _ratio(_m(m, "handling_s"), _m(m, "handling_s") + _m(m, "ready_s")),
        "handling time / (handling time + ready idle time)",
    ),
    Kpi(
        "utilization",
        "utilization",
        "ratio",
        lambda m: _ratio(_m(m, "handling_s"), _m(m, "logged_in_s")),
        "handling time / logged-in time",
    ),
    Kpi(
        "rpc_rate",
        "RPC",
        "ratio",
        lambda m: _ratio(_m(m, "rpc_leads"), _m(m, "leads")),
        "leads with the right party reached / leads processed",
    ),
    Kpi(
        "rpc_per_hour",
        "RPC/h",
        "per_hour",
        lambda m: _per_hour(m, "rpc_contacts"),
        "right-party contacts / agent logged-in hours on the campaign",
    ),
    Kpi(
        "contacts_per_hour",
        "contacts/h",
        "per_hour",
        lambda m: _per_hour(m, "agent_contacts"),
        "attempts connected to an agent / agent logged-in hours on the campaign",
    ),
    Kpi(
        "live_abandon_rate",
        "live ab.",
        "ratio",
        lambda m: _ratio(_m(m, "live_abandoned"), _m(m, "live_answers")),
        "live answers with no agent in time / live answers",
    ),
)
KPI_BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}

#: the KPIs a report shows when it does not name any
DEFAULT_KPIS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "sl2",
    "asa_s",
    "abandon_rate",
    "aht_s",
    "contact_resolution",
    "fcr",
)


def compute(measures: Measures, names: tuple[str, ...] | None = None) -> dict[str, float | None]:
    """The KPIs ``names`` (all when None) of one group's summed measures."""
    kpis = KPIS if names is None else tuple(KPI_BY_NAME[n] for n in names)
    return {k.name: k.formula(measures) for k in kpis}


def add(into: dict[str, float], measures: Measures) -> None:
    """Add ``measures`` into ``into`` (merging groups or intervals)."""
    for name, value in measures.items():
        into[name] = into.get(name, 0.0) + value


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What a report covers: ``[start, end)`` (aware datetimes), grouped by dimensions and at most
    one interval, in the IANA time zone ``zone``; ``where`` keeps only rows whose dimension has that
    value (e.g. ``{"queue": "sales"}``)."""

    start: datetime
    end: datetime
    zone: str = "UTC"
    dimensions: tuple[Dimension, ...] = ()
    interval: Interval | None = None
    kpis: tuple[str, ...] = DEFAULT_KPIS
    thresholds: Thresholds = field(default_factory=Thresholds)
    where: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ReportRow:
    """One group of a report: its key (dimension → value, ``interval`` → local start as ISO text),
    its summed measures and its KPIs."""

    key: dict[str, str | None]
    measures: dict[str, float]
    kpis: dict[str, float | None]


@dataclass(slots=True)
class Report:
    """A computed report: rows in key order, the total over all of them, and how it was computed
    (``rollup`` or ``raw``) in how many seconds."""

    request: ReportRequest
    rows: list[ReportRow]
    total: ReportRow
    source: Literal["rollup", "raw"]
    elapsed_s: float
