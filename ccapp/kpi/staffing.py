"""`ccapp staffing`: agents needed for a service-level target, by Erlang C and Erlang A.

Parsing of the options, the plan (a pure function of the request) and its table and JSON forms.
The formulas are in `ccapp.kpi.erlang`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TextIO

from ccapp.kpi import erlang

# Rows shown around the answer: n−2 … n+3.
ROWS_BELOW, ROWS_ABOVE = 2, 3

_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


class OptionError(ValueError):
    """A bad command-line value; the message starts with the option's name."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
        self.option = option


@dataclass(frozen=True, slots=True)
class StaffingRequest:
    calls: float
    period_s: float
    aht_s: float
    target_sl: Fraction  # e.g. 4/5 for 80 %
    target_s: float
    patience_s: float | None = None
    shrinkage: Fraction = Fraction(0)

    @property
    def traffic(self) -> float:
        return erlang.traffic(self.calls, self.period_s, self.aht_s)


@dataclass(frozen=True, slots=True)
class Row:
    """The figures at one number of agents on the phones (Erlang A fields None without patience)."""

    agents: int
    scheduled: int
    occupancy: float
    p_wait: float
    service_level: float
    asa_s: float  # math.inf when n ≤ A
    a: erlang.ErlangA | None


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    request: StaffingRequest
    traffic: float
    agents: int  # Erlang C
    agents_a: int | None  # Erlang A, with a patience
    rows: tuple[Row, ...]

    def row(self, agents: int) -> Row:
        return next(r for r in self.rows if r.agents == agents)


def parse_duration(option: str, text: str) -> float:
    """'180', '180s', '30m', '30min', '1h' → seconds (a bare number is seconds)."""
    match = _DURATION.match(text.lower())
    if not match or match[2] not in _UNITS:
        raise OptionError(option, f"{text!r} is not a duration like 180, 180s, 30m or 1h")
    return float(match[1]) * _UNITS[match[2]]


def parse_target(text: str) -> tuple[Fraction, float]:
    """'80/20' or '80%/20s' → (4/5, 20.0): the share of calls to answer within so many seconds."""
    share, _, seconds = text.partition("/")
    match = _PERCENT.match(share)
    if not seconds or not match:
        raise OptionError("--target", f"{text!r} is not PERCENT/SECONDS like 80/20")
    percent = Fraction(match[1])
    if not 0 < percent < 100:
        raise OptionError("--target", f"the share {share.strip()} must be above 0 % and below 100 %")
    return percent / 100, parse_duration("--target", seconds)


def parse_shrinkage(text: str) -> Fraction:
    """'30%' or '30' → 3/10: the share of paid time not on the phones (breaks, training, …)."""
    match = _PERCENT.match(text)
    if not match or not Fraction(match[1]) < 100:
        raise OptionError("--shrinkage", f"{text!r} is not a percentage from 0 % to below 100 %, like 30%")
    return Fraction(match[1]) / 100


def parse_request(
    *,
    calls: str | None,
    per: str | None,
    aht: str | None,
    target: str | None,
    patience: str | None = None,
    shrinkage: str | None = None,
) -> StaffingRequest:
    """The request from the command line's strings; OptionError names the first bad option."""
    number = _NUMBER.match(_required("--calls", calls))
    if not number or float(number[1]) <= 0:
        raise OptionError("--calls", f"{calls!r} is not a number of calls above 0")
    period_s = parse_duration("--per", _required("--per", per))
    aht_s = parse_duration("--aht", _required("--aht", aht))
    for option, seconds in (("--per", period_s), ("--aht", aht_s)):
        if seconds <= 0:
            raise OptionError(option, "must be longer than 0 s")
    target_sl, target_s = parse_target(_required("--target", target))
    patience_s = None if patience is None else parse_duration("--patience", patience)
    if patience_s is not None and patience_s <= 0:
        raise OptionError("--patience", "must be longer than 0 s")
    return StaffingRequest(
        calls=float(number[1]),
        period_s=period_s,
        aht_s=aht_s,
        target_sl=target_sl,
        target_s=target_s,
        patience_s=patience_s,
        shrinkage=Fraction(0) if shrinkage is None else parse_shrinkage(shrinkage),
    )


def _required(option: str, value: str | None) -> str:
    if value is None:
        raise OptionError(option, "missing (it is required)")
    return value


def scheduled(agents: int, shrinkage: Fraction) -> int:
    """Agents to schedule so that ``agents`` are on the phones: ``⌈n / (1 − s)⌉``, in exact fractions.

    (14 / (1 − 0.3) in floats is 20.000000000000004, which would round up to 21.)
    """
    return math.ceil(Fraction(agents) / (1 - shrinkage))


def plan(request: StaffingRequest) -> StaffingPlan:
    """Erlang C (and with a patience Erlang A) agents, and the figures from n−2 to n+3."""
    load = request.traffic
    sl = float(request.target_sl)
    agents = erlang.agents_for(request.calls, request.period_s, request.aht_s, sl, request.target_s)
    agents_a = None
    if request.patience_s is not None:
        agents_a = erlang.agents_for_erlang_a(
            request.calls, request.period_s, request.aht_s, request.patience_s, sl, request.target_s
        )
    low = max(1, min(agents, agents_a or agents) - ROWS_BELOW)
    high = max(agents, agents_a or agents) + ROWS_ABOVE
    rows = tuple(_row(request, load, n) for n in range(low, high + 1))
    return StaffingPlan(request=request, traffic=load, agents=agents, agents_a=agents_a, rows=rows)


def _row(request: StaffingRequest, load: float, n: int) -> Row:
    a = None
    if request.patience_s is not None:
        try:
            a = erlang.erlang_a(n, load, request.aht_s, request.patience_s, request.target_s)
        except erlang.QueueTooLongError:
            a = None
    return Row(
        agents=n,
        scheduled=scheduled(n, request.shrinkage),
        occupancy=min(1.0, load / n),
        p_wait=erlang.erlang_c(n, load),
        service_level=erlang.service_level(n, load, request.aht_s, request.target_s),
        asa_s=erlang.asa(n, load, request.aht_s),
        a=a,
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _secs(value: float) -> str:
    return "—" if math.isinf(value) else f"{value:.1f} s"


def _num(value: float) -> str:
    return f"{value:g}"


def _period(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{_num(seconds / size)} {unit}"
    return f"{_num(seconds)} s"


def format_table(result: StaffingPlan) -> str:
    """The plan for a terminal: the answer first, then how the figures move around it."""
    req = result.request
    lines = [
        f"{_num(req.calls)} calls per {_period(req.period_s)}, AHT {_num(req.aht_s)} s, "
        f"target {_num(float(req.target_sl) * 100)} % answered within {_num(req.target_s)} s, "
        f"shrinkage {_num(float(req.shrinkage) * 100)} %",
        f"traffic {result.traffic:.2f} erlangs",
        "",
    ]
    c = result.row(result.agents)
    lines.append(
        f"Erlang C: {result.agents} agents on the phones, {c.scheduled} scheduled — "
        f"P(wait) {_pct(c.p_wait)}, SL {_pct(c.service_level)}, ASA {_secs(c.asa_s)}, "
        f"occupancy {_pct(c.occupancy)}"
    )
    if result.agents_a is not None:
        a_row = result.row(result.agents_a)
        a = a_row.a
        assert a is not None
        lines.append(
            f"Erlang A (mean patience {_num(req.patience_s or 0)} s): {result.agents_a} agents on the "
            f"phones, {a_row.scheduled} scheduled — P(wait) {_pct(a.p_wait)}, P(abandon) "
            f"{_pct(a.p_abandon)}, SL {_pct(a.service_level)}, ASA {_secs(a.asa_s)}"
        )
    lines.append("")
    header = ["agents", "scheduled", "occupancy", "C P(wait)", "C SL", "C ASA"]
    if result.agents_a is not None:
        header += ["A P(wait)", "A P(abandon)", "A SL", "A ASA"]
    table = [[*header, ""]]
    for row in result.rows:
        cells = [str(row.agents), str(row.scheduled), _pct(row.occupancy), _pct(row.p_wait)]
        cells += [_pct(row.service_level), _secs(row.asa_s)]
        if result.agents_a is not None:
            a = row.a
            cells += ["—"] * 4 if a is None else [_pct(a.p_wait), _pct(a.p_abandon)]
            cells += [] if a is None else [_pct(a.service_level), _secs(a.asa_s)]
        marks = [name for name, n in (("C", result.agents), ("A", result.agents_a)) if n == row.agents]
        table.append([*cells, "◀ " + " and ".join(marks) if marks else ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        cells = [cell.rjust(width) for cell, width in zip(r, widths, strict=False)]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    return "\n".join(lines)


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def to_json(result: StaffingPlan) -> str:
    """The plan as JSON: shares as fractions, times in seconds, ∞ as null."""
    req = result.request

    def row(r: Row) -> dict[str, Any]:
        out: dict[str, Any] = {
            "agents": r.agents,
            "scheduled": r.scheduled,
            "occupancy": r.occupancy,
            "erlang_c": {"p_wait": r.p_wait, "service_level": r.service_level, "asa_s": _finite(r.asa_s)},
        }
        if req.patience_s is not None:
            out["erlang_a"] = (
                None
                if r.a is None
                else {
                    "p_wait": r.a.p_wait,
                    "p_abandon": r.a.p_abandon,
                    "service_level": r.a.service_level,
                    "asa_s": _finite(r.a.asa_s),
                    "mean_wait_s": r.a.mean_wait_s,
                }
            )
        return out

    doc: dict[str, Any] = {
        "calls": req.calls,
        "period_s": req.period_s,
        "aht_s": req.aht_s,
        "target_service_level": float(req.target_sl),
        "target_s": req.target_s,
        "patience_s": req.patience_s,
        "shrinkage": float(req.shrinkage),
        "traffic_erlangs": result.traffic,
        "erlang_c": row(result.row(result.agents)),
        "erlang_a": None if result.agents_a is None else row(result.row(result.agents_a)),
        "rows": [row(r) for r in result.rows],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def staffing_command(options: dict[str, str | None], fmt: str, out: TextIO, err: TextIO) -> int:
    """Run `ccapp staffing`: 0 with the plan on ``out``, 2 with one line on ``err`` for bad input."""
    try:
        for option in ("weeks", "from", "to", "tz", "next_day", "db", "staffing_config"):
            if options.get(option):
                name = "--config" if option == "staffing_config" else "--" + option.replace("_", "-")
                raise OptionError(name, "only with --from-history queue=NAME")
        request = parse_request(
            calls=options.get("calls"),
            per=options.get("per"),
            aht=options.get("aht"),
            target=options.get("target"),
            patience=options.get("patience"),
            shrinkage=options.get("shrinkage"),
        )
        if fmt not in ("table", "json"):
            raise OptionError("--format", f"{fmt!r} is not table or json")
    except OptionError as exc:
        print(f"error: {exc}", file=err)
        return 2
    result = plan(request)
    print(to_json(result) if fmt == "json" else format_table(result), file=out)
    return 0
