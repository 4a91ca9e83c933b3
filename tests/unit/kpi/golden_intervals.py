"""Golden reports by local interval: two zones, DST days, quarter hours, agent time cut at now,
an empty period. Hand-computed rows over `tests.unit.kpi.golden` (see its docstring)."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.kpi.golden import FALL_BACK, NEW_YORK, PARIS, WIDE, request, utc
from tests.unit.kpi.golden_cases import CASES, D28, D29, A, Case, Interval, Q, Row

#: the two-zones cases: queue entries and contacts (k4 → k5, a repeat across Paris midnight, is one
#: New York day: resolution 0/3 on Paris's 28th, 1/4 on New York's)
ZONE_KPIS = ("offered", "contact_resolution", "fcr")


def contacts(handled: int, resolved: int, first: int, first_resolved: int) -> dict[str, float]:
    found = {
        "contacts_handled": handled,
        "contacts_resolved": resolved,
        "first_contacts": first,
        "first_contacts_resolved": first_resolved,
    }
    return {k: v for k, v in found.items() if v}


#: New York's 25-hour day
NIGHT = (FALL_BACK, FALL_BACK + timedelta(hours=25))

INTERVAL_CASES = [
    Case(
        "the same calls by New York days",
        request((), Interval.DAY, zone=NEW_YORK, period=WIDE, kpis=ZONE_KPIS),
        [
            Row(
                {"interval": "2026-03-27T00:00:00-04:00"}, {"entries": 1, "all_abandoned": 1}, {"offered": 1}
            ),
            Row(
                {"interval": "2026-03-28T00:00:00-04:00"},
                {
                    "entries": 7,
                    "short_abandons": 1,
                    "answered": 4,
                    "answered_within_t": 3,
                    "all_abandoned": 3,
                    "abandoned_within_t": 2,
                    "answered_timed": 4,
                    "answered_wait_s": 62.5,
                    "handled": 4,
                    "handle_s": 480,
                }
                | contacts(4, 1, 3, 0),
                {"offered": 6, "contact_resolution": 0.25, "fcr": 0.0},
            ),
            Row(
                {"interval": "2026-03-29T00:00:00-04:00"},
                {
                    "entries": 5,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 2,
                    "all_abandoned": 1,
                    "abandoned_within_t": 1,
                    "answered_timed": 2,
                    "answered_wait_s": 18,
                    "handled": 2,
                    "handle_s": 75,
                    "callbacks": 1,
                }
                | contacts(5, 4, 3, 2),
                {"offered": 4, "contact_resolution": 0.8, "fcr": 2 / 3},
            ),
        ],
    ),
    Case(
        "the same calls by Paris days",
        request((), Interval.DAY, zone=PARIS, period=WIDE, kpis=ZONE_KPIS),
        [
            Row(
                {"interval": "2026-03-27T00:00:00+01:00"}, {"entries": 1, "all_abandoned": 1}, {"offered": 1}
            ),
            Row(
                {"interval": D28},
                {
                    "entries": 5,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 2,
                    "all_abandoned": 2,
                    "abandoned_within_t": 2,
                    "answered_timed": 3,
                    "answered_wait_s": 42.5,
                    "handled": 3,
                    "handle_s": 410,
                }
                | contacts(3, 0, 3, 0),
                {"offered": 4, "contact_resolution": 0.0, "fcr": 0.0},
            ),
            Row(
                {"interval": D29},
                {
                    "entries": 6,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 2,
                    "all_abandoned": 2,
                    "abandoned_within_t": 1,
                    "answered_timed": 2,
                    "answered_wait_s": 28,
                    "handled": 2,
                    "handle_s": 115,
                    "callbacks": 1,
                }
                | contacts(5, 4, 2, 1),
                {"offered": 5, "contact_resolution": 0.8, "fcr": 0.5},
            ),
            Row(
                {"interval": "2026-03-30T00:00:00+02:00"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 10,
                    "handled": 1,
                    "handle_s": 30,
                }
                | contacts(1, 1, 1, 1),
                {"offered": 1, "contact_resolution": 1.0, "fcr": 1.0},
            ),
        ],
    ),
    Case(
        "by hour on the DST day: no 02:00 hour, offsets change at 03:00",
        request((), Interval.HOUR, period=(utc(28, 23), utc(29, 2)), kpis=("offered", "occupancy")),
        [
            Row(
                {"interval": "2026-03-29T00:00:00+01:00"},
                {"entries": 1, "all_abandoned": 1, "handling_s": 890, "ready_s": 2710, "logged_in_s": 3600},
                {"offered": 1, "occupancy": 890 / 3600},
            ),
            Row(
                {"interval": "2026-03-29T01:00:00+01:00"},
                {"ready_s": 3600, "logged_in_s": 3600},
                {"offered": 0},
            ),
            Row(
                {"interval": "2026-03-29T03:00:00+02:00"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 20,
                    "handled": 1,
                    "handle_s": 70,
                    "ready_s": 3600,
                    "logged_in_s": 3600,
                },
                {"offered": 1, "occupancy": 0.0},
            ),
        ],
    ),
    Case(
        "by queue and 15 minutes",
        request((Q,), Interval.MIN15, period=(utc(28, 10), utc(28, 10, 30)), kpis=("offered",)),
        [
            Row(
                {"queue": "sales", "interval": "2026-03-28T11:00:00+01:00"},
                {
                    "entries": 3,
                    "short_abandons": 1,
                    "answered": 2,
                    "answered_within_t": 1,
                    "all_abandoned": 1,
                    "abandoned_within_t": 1,
                    "answered_timed": 2,
                    "answered_wait_s": 37.5,
                    "handled": 2,
                    "handle_s": 350,
                },
            ),
            Row(
                {"queue": "sales", "interval": "2026-03-28T11:15:00+01:00"},
                {"entries": 1, "all_abandoned": 1, "abandoned_within_t": 1},
            ),
            Row(
                {"queue": "support", "interval": "2026-03-28T11:00:00+01:00"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 5,
                }
                | {"handled": 1, "handle_s": 60},
            ),
        ],
    ),
    Case(
        "agent time stops at now when the period is not over",
        request((A,), kpis=("utilization",), period=(utc(29, 21), utc(29, 23))),
        [Row({"agent": "a3"}, {"ready_s": 1800, "logged_in_s": 1800}, {"utilization": 0.0})],
        now=utc(29, 21, 30),
    ),
    Case(
        "by hour on New York's fall-back night: two 01:00 hours",
        request(
            (),
            Interval.HOUR,
            zone=NEW_YORK,
            period=NIGHT,
            kpis=("offered",),
        ),
        [
            Row(
                {"interval": "2026-11-01T01:00:00-04:00"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 4,
                },
                {"offered": 1},
            ),
            Row(
                {"interval": "2026-11-01T01:00:00-05:00"},
                {"entries": 1, "short_abandons": 1, "all_abandoned": 1, "abandoned_within_t": 1},
                {"offered": 0},
            ),
        ],
    ),
    Case(
        "by day on New York's fall-back night: one 25-hour day",
        request(
            (Q,),
            Interval.DAY,
            zone=NEW_YORK,
            period=NIGHT,
            kpis=("sl2",),
        ),
        [
            Row(
                {"queue": "sales", "interval": "2026-11-01T00:00:00-04:00"},
                {
                    "entries": 2,
                    "short_abandons": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "all_abandoned": 1,
                    "abandoned_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 4,
                },
                {"sl2": 1.0},
            ),
        ],
    ),
    Case(
        "where campaign is winter, by agent: agent time and outbound only",
        request((A,), kpis=("occupancy", "rpc_per_hour", "offered"), where={"campaign": "winter"}),
        [
            Row(
                {"agent": "a2"},
                {
                    "handling_s": 2400,
                    "ready_s": 1200,
                    "logged_in_s": 3600,
                    "dial_attempts": 2,
                    "leads": 1,
                    "rpc_leads": 1,
                    "rpc_contacts": 1,
                    "agent_contacts": 2,
                    "live_answers": 2,
                    "campaign_logged_in_s": 3600,
                },
                {"occupancy": 2 / 3, "rpc_per_hour": 1.0, "offered": 0},
            ),
            Row(
                {"agent": "a3"},
                {
                    "ready_s": 3600,
                    "logged_in_s": 3600,
                    "dial_attempts": 2,
                    "leads": 1,
                    "rpc_leads": 1,
                    "rpc_contacts": 1,
                    "agent_contacts": 2,
                    "live_answers": 2,
                    "campaign_logged_in_s": 3600,
                },
                {"occupancy": 0.0, "rpc_per_hour": 1.0},
            ),
            Row(
                {"agent": None},
                {"dial_attempts": 2, "leads": 2, "live_answers": 1, "live_abandoned": 1},
                {"occupancy": None, "rpc_per_hour": None},
            ),
        ],
    ),
    Case(
        "an empty period: no rows, ratios None",
        request((), period=(utc(10, 0), utc(11, 0))),
        [],
    ),
]

#: every golden case
ALL_CASES = [*CASES, *INTERVAL_CASES]
