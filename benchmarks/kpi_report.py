"""Time the 90-day day-by-queue KPI report on data from benchmarks/kpi_data.py.

    .venv/bin/python benchmarks/kpi_report.py \\
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/ccapp_bench] \\
        [--sqlite /var/tmp/ccapp-bench/kpi.db] [--duckdb /var/tmp/ccapp-bench/kpi.duckdb] \\
        [--days 90] [--repeat 3] [--budget 120] [--only rollup,raw,reference,slots,adhoc]

For each backend given it times, best of ``--repeat`` runs (each run printed; a case stops
repeating once its runs took ``--budget`` seconds):

- ``rollup``: ccapp's ``build_report`` reading the ``kpi_queue_slots`` roll-ups (PostgreSQL, SQLite);
- ``raw``: ccapp's ``build_report(use_rollups=False)``: the raw rows, repeats read from
  ``contacts.prev_at``/``next_at`` (PostgreSQL, SQLite);
- ``reference``: one plain SQL query of the same report straight from the raw rows, finding repeat
  contacts with a ``LEAD()`` window per (number, topic) — not with the kept links (all three);
- ``slots``: the same report summed by plain SQL from the ``kpi_queue_slots`` rows (checks the
  roll-ups themselves, and shows what reading them costs without the engine);
- ``adhoc``: groupings the roll-ups do not cover — (topic, day) and (agent, week) — through ccapp's
  raw path, and the same measures in DuckDB with one SQL query each.

The report: offered, answered, service level, abandon rate, ASA, AHT and contact resolution (7-day
repeat rule) per queue and UTC day, with ccapp's default thresholds (T 20 s, S 5 s, W 7 days). Every
result is checked against the first one computed (floats to 1e-9 relative): rollup = raw =
reference on every backend, and ccapp's ad-hoc reports = DuckDB's. A compact table of seconds ends
the output; exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.kpi_data import DEFAULT_START  # noqa: E402
from ccapp.kpi.definitions import Dimension, Interval, Report, ReportRequest, Thresholds  # noqa: E402

KPIS = ("offered", "answered", "service_level", "abandon_rate", "asa_s", "aht_s", "contact_resolution")
REL_TOL = 1e-9
#: (queue, day) → {kpi: value}, or for ad-hoc reports (dimension value, interval start day) → ...
Table = dict[tuple[str | None, str], dict[str, float | None]]

# --------------------------------------------------------------------------- reference SQL

_Q_MEASURES = """
    count(*) AS entries,
    sum(CASE WHEN q.outcome = 'abandoned' AND q.wait_s < {S} THEN 1 ELSE 0 END) AS short_abandons,
    sum(CASE WHEN q.outcome = 'answered' THEN 1 ELSE 0 END) AS answered,
    sum(CASE WHEN q.outcome = 'answered' AND q.wait_s <= {T} THEN 1 ELSE 0 END) AS answered_within_t,
    sum(CASE WHEN q.outcome = 'abandoned' THEN 1 ELSE 0 END) AS all_abandoned,
    sum(CASE WHEN q.outcome = 'answered' AND q.wait_s IS NOT NULL THEN 1 ELSE 0 END) AS answered_timed,
    sum(CASE WHEN q.outcome = 'answered' AND q.wait_s IS NOT NULL THEN q.wait_s ELSE 0 END)
      AS answered_wait_s,
    sum(CASE WHEN q.connected_at IS NOT NULL AND q.talk_s IS NOT NULL THEN 1 ELSE 0 END) AS handled,
    sum(CASE WHEN q.connected_at IS NOT NULL AND q.talk_s IS NOT NULL
             THEN q.talk_s + coalesce(q.hold_s, 0) + coalesce(q.wrap_s, 0) ELSE 0 END) AS handle_s,
    0 AS contacts_handled, 0 AS contacts_resolved"""
_Q_ZEROS = """
    0, 0, 0, 0, 0, 0, 0, 0, 0,
    sum(CASE WHEN c.handled THEN 1 ELSE 0 END),
    sum(CASE WHEN c.handled AND c.resolved AND NOT {repeated} THEN 1 ELSE 0 END)"""
_KPIS_SQL = """
SELECT grp, day,
  offered,
  answered,
  answered_within_t * 1.0 / nullif(offered, 0) AS service_level,
  (all_abandoned - short_abandons) * 1.0 / nullif(offered, 0) AS abandon_rate,
  answered_wait_s * 1.0 / nullif(answered_timed, 0) AS asa_s,
  handle_s * 1.0 / nullif(handled, 0) AS aht_s,
  contacts_resolved * 1.0 / nullif(contacts_handled, 0) AS contact_resolution
FROM (
  SELECT grp, day, sum(entries) - sum(short_abandons) AS offered, sum(short_abandons) AS short_abandons,
    sum(answered) AS answered, sum(answered_within_t) AS answered_within_t,
    sum(all_abandoned) AS all_abandoned, sum(answered_timed) AS answered_timed,
    sum(answered_wait_s) AS answered_wait_s, sum(handled) AS handled, sum(handle_s) AS handle_s,
    sum(contacts_handled) AS contacts_handled, sum(contacts_resolved) AS contacts_resolved
  FROM parts GROUP BY grp, day
) t
ORDER BY grp, day
"""


class Dialect:
    """The few expressions that differ between PostgreSQL, SQLite and DuckDB."""

    def __init__(self, name: str) -> None:
        self.name = name

    def ts(self, dt: datetime) -> str:
        text = dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return {"pg": f"'{text}+00'::timestamptz", "sqlite": f"'{text}'", "duckdb": f"TIMESTAMP '{text}'"}[
            self.name
        ]

    def day(self, col: str) -> str:
        return {
            "pg": f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            "sqlite": f"substr({col}, 1, 10)",
            "duckdb": f"strftime({col}, '%Y-%m-%d')",
        }[self.name]

    def week(self, col: str) -> str:
        return {
            "pg": f"to_char(date_trunc('week', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
            "sqlite": f"date({col}, '-' || ((CAST(strftime('%w', {col}) AS INTEGER) + 6) % 7) || ' days')",
            "duckdb": f"strftime(date_trunc('week', {col}), '%Y-%m-%d')",
        }[self.name]

    def within(self, later: str, earlier: str, seconds: float) -> str:
        """``later`` is at most ``seconds`` after ``earlier`` (SQLite: julianday keeps milliseconds)."""
        return {
            "pg": f"({later} <= {earlier} + interval '{seconds} seconds')",
            "sqlite": f"((julianday({later}) - julianday({earlier})) * 86400.0 <= {seconds})",
            "duckdb": f"({later} <= {earlier} + INTERVAL '{seconds} seconds')",
        }[self.name]


def reference_sql(d: Dialect, start: datetime, end: datetime, th: Thresholds) -> str:
    """The day-by-queue report in one plain SQL query over the raw rows; repeats by a LEAD() window."""
    repeated = f"(c.nxt IS NOT NULL AND {d.within('c.nxt', 'c.started_at', th.repeat_window_s)})"
    return f"""
WITH nx AS (
  SELECT queue, started_at, handled, resolved,
         lead(started_at) OVER (PARTITION BY caller_number, topic ORDER BY started_at) AS nxt
  FROM contacts
),
parts AS (
  SELECT q.queue AS grp, {d.day("q.entered_at")} AS day,
    {_Q_MEASURES.format(S=th.short_abandon_s, T=th.sl_threshold_s)}
  FROM queue_calls q
  WHERE q.entered_at >= {d.ts(start)} AND q.entered_at < {d.ts(end)}
  GROUP BY 1, 2
  UNION ALL
  SELECT c.queue, {d.day("c.started_at")}, {_Q_ZEROS.format(repeated=repeated)}
  FROM nx c
  WHERE c.started_at >= {d.ts(start)} AND c.started_at < {d.ts(end)}
  GROUP BY 1, 2
)
{_KPIS_SQL}"""


def slots_sql(d: Dialect, start: datetime, end: datetime) -> str:
    """The same report summed straight from the ``kpi_queue_slots`` roll-up rows (UTC days)."""
    return f"""
WITH parts AS (
  SELECT queue AS grp, {d.day("slot")} AS day, sum(entries) AS entries, sum(short_abandons) AS short_abandons,
    sum(answered) AS answered, sum(answered_within_t) AS answered_within_t,
    sum(all_abandoned) AS all_abandoned,
    sum(answered_timed) AS answered_timed, sum(answered_wait_s) AS answered_wait_s, sum(handled) AS handled,
    sum(handle_s) AS handle_s, sum(contacts_handled) AS contacts_handled,
    sum(contacts_resolved) AS contacts_resolved
  FROM kpi_queue_slots WHERE slot >= {d.ts(start)} AND slot < {d.ts(end)}
  GROUP BY 1, 2
)
{_KPIS_SQL}"""


def adhoc_sql(d: Dialect, dim: str, interval: str, start: datetime, end: datetime, th: Thresholds) -> str:
    """Ad-hoc grouping (``topic``/``agent`` by ``day``/``week``) the way ccapp's raw path defines it:
    queue measures per entry (topic joined from the call's contact), contact measures from the links."""
    bucket = d.day if interval == "day" else d.week
    q_dim = "c.topic" if dim == "topic" else "q.agent_id"
    c_dim = "c.topic" if dim == "topic" else "c.agent_id"
    join = "LEFT JOIN contacts c ON c.call_id = q.call_id" if dim == "topic" else ""
    w = th.repeat_window_s
    repeated = f"(c.next_at IS NOT NULL AND {d.within('c.next_at', 'c.started_at', w)})"
    return f"""
WITH parts AS (
  SELECT {q_dim} AS grp, {bucket("q.entered_at")} AS day,
    {_Q_MEASURES.format(S=th.short_abandon_s, T=th.sl_threshold_s)}
  FROM queue_calls q {join}
  WHERE q.entered_at >= {d.ts(start)} AND q.entered_at < {d.ts(end)}
  GROUP BY 1, 2
  UNION ALL
  SELECT {c_dim}, {bucket("c.started_at")}, {_Q_ZEROS.format(repeated=repeated)}
  FROM contacts c
  WHERE c.started_at >= {d.ts(start)} AND c.started_at < {d.ts(end)}
  GROUP BY 1, 2
)
{_KPIS_SQL}"""


def _table(rows: list[Any]) -> Table:
    out: Table = {}
    for row in rows:
        values = tuple(row)
        out[(values[0], str(values[1]))] = {
            k: None if v is None else float(v) for k, v in zip(KPIS, values[2:], strict=True)
        }
    return out


# --------------------------------------------------------------------------- runners


async def pg_sql(url: str, sql: str) -> Table:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await con.execute("SET work_mem = '256MB'")
        return _table(await con.fetch(sql))
    finally:
        await con.close()


def sqlite_sql(path: Path, sql: str) -> Table:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA cache_size=-1000000")
        return _table(con.execute(sql).fetchall())
    finally:
        con.close()


def duckdb_sql(path: Path, sql: str) -> Table:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return _table(con.execute(sql).fetchall())
    finally:
        con.close()


def report_table(report: Report, dim: str) -> Table:
    return {
        (row.key.get(dim), str(row.key.get("interval"))[:10]): {k: row.kpis.get(k) for k in KPIS}
        for row in report.rows
    }


async def ccapp_report(url: str, request: ReportRequest, use_rollups: bool) -> tuple[Table, str]:
    from ccapp.kpi.engine import build_report
    from ccapp.storage import Database

    db = Database(url)
    try:
        report = await build_report(db, request, use_rollups=use_rollups)
    finally:
        await db.dispose()
    dim = str(request.dimensions[0])
    return report_table(report, dim), report.source


# --------------------------------------------------------------------------- checks and timing


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def differences(expected: Table, got: Table, limit: int = 5) -> list[str]:
    """Human-readable differences between two report tables (at most ``limit``)."""
    out: list[str] = []
    for key in sorted(set(expected) | set(got), key=lambda k: (k[0] is None, k[0] or "", k[1])):
        if key not in got or key not in expected:
            out.append(f"{key}: only in {'expected' if key in expected else 'got'}")
        else:
            out.extend(
                f"{key} {k}: {expected[key][k]!r} != {got[key][k]!r}"
                for k in KPIS
                if not same(expected[key][k], got[key][k])
            )
        if len(out) >= limit:
            break
    return out[:limit]


class Bench:
    """Runs and times each case, checks it against the first result of its group, keeps a summary."""

    def __init__(self, repeat: int, budget_s: float = 120.0) -> None:
        self.repeat = repeat
        self.budget_s = budget_s
        self.seconds: dict[tuple[str, str], float] = {}
        self.expected: dict[str, tuple[str, Table]] = {}
        self.failures: list[str] = []

    def run(self, group: str, backend: str, case: str, fn: Callable[[], Table]) -> None:
        times: list[float] = []
        result: Table = {}
        name = f"{backend} {case}"
        for _ in range(self.repeat):
            t0 = time.perf_counter()
            try:
                result = fn()
            except Exception as exc:  # a broken case is reported, the others still run
                self.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
                print(f"  {backend:<7} {case:<22} FAILED: {self.failures[-1]}", flush=True)
                return
            times.append(time.perf_counter() - t0)
            print(f"  {backend:<7} {case:<22} {times[-1]:8.3f} s", flush=True)
            if sum(times) > self.budget_s:
                print(f"  (not repeated: over the {self.budget_s:.0f} s budget of one case)")
                break
        self.seconds[(case, backend)] = min(times)
        if group not in self.expected:
            self.expected[group] = (name, result)
            print(f"  {group}: {len(result)} rows (the reference for this group)")
            return
        ref_name, ref = self.expected[group]
        diffs = differences(ref, result)
        if diffs:
            self.failures.append(f"{name} differs from {ref_name}")
            print(f"  MISMATCH {name} vs {ref_name}:", *diffs, sep="\n    ")
        else:
            print(f"  {group}: {name} = {ref_name} ({len(result)} rows, 1e-9 relative)")

    def summary(self) -> str:
        cases = list(dict.fromkeys(c for c, _ in self.seconds))
        backends = [b for b in ("pg", "sqlite", "duckdb") if any(k[1] == b for k in self.seconds)]
        lines = [f"{'best of ' + str(self.repeat) + ', s':<24}" + "".join(f"{b:>10}" for b in backends)]
        for case in cases:
            cells = [self.seconds.get((case, b)) for b in backends]
            lines.append(f"{case:<24}" + "".join(f"{'–':>10}" if c is None else f"{c:10.3f}" for c in cells))
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg")
    parser.add_argument("--sqlite", type=Path)
    parser.add_argument("--duckdb", type=Path)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="rollup,raw,reference,slots,adhoc")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="stop repeating a case once its runs took this long (s)"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    start = DEFAULT_START
    end = start + timedelta(days=args.days)
    th = Thresholds()
    request = ReportRequest(start, end, "UTC", (Dimension.QUEUE,), Interval.DAY, KPIS, th)
    urls: dict[str, str] = {}
    if args.pg:
        urls["pg"] = args.pg
    if args.sqlite:
        urls["sqlite"] = f"sqlite+aiosqlite:///{args.sqlite}"
    print(f"KPI report {start:%Y-%m-%d} .. {end:%Y-%m-%d} UTC by queue and day; load: {os.getloadavg()}")
    bench = Bench(args.repeat, args.budget)

    def engine_case(url: str, req: ReportRequest, rollups: bool) -> Callable[[], Table]:
        def call() -> Table:
            table, source = asyncio.run(ccapp_report(url, req, rollups))
            if source != ("rollup" if rollups else "raw"):
                bench.failures.append(f"{url}: report came from {source}")
            return table

        return call

    for backend, url in urls.items():
        if "rollup" in only:
            bench.run("queue-day", backend, "ccapp rollup", engine_case(url, request, True))
        if "raw" in only:
            bench.run("queue-day", backend, "ccapp raw", engine_case(url, request, False))
    ref = {name: Dialect(name) for name in ("pg", "sqlite", "duckdb")}
    if "reference" in only:
        if args.pg:
            sql = reference_sql(ref["pg"], start, end, th)
            bench.run("queue-day", "pg", "plain SQL (LEAD)", lambda: asyncio.run(pg_sql(args.pg, sql)))
        if args.sqlite:
            sql_s = reference_sql(ref["sqlite"], start, end, th)
            bench.run("queue-day", "sqlite", "plain SQL (LEAD)", lambda: sqlite_sql(args.sqlite, sql_s))
        if args.duckdb:
            sql_d = reference_sql(ref["duckdb"], start, end, th)
            bench.run("queue-day", "duckdb", "plain SQL (LEAD)", lambda: duckdb_sql(args.duckdb, sql_d))
    if "slots" in only:
        if args.pg:
            sql_p = slots_sql(ref["pg"], start, end)
            bench.run("queue-day", "pg", "plain SQL on slots", lambda: asyncio.run(pg_sql(args.pg, sql_p)))
        if args.sqlite:
            sql_q = slots_sql(ref["sqlite"], start, end)
            bench.run("queue-day", "sqlite", "plain SQL on slots", lambda: sqlite_sql(args.sqlite, sql_q))
    if "adhoc" in only:
        for dim, interval in (("topic", "day"), ("agent", "week")):
            group = f"{dim}-{interval}"
            req = ReportRequest(start, end, "UTC", (Dimension(dim),), Interval(interval), KPIS, th)
            for backend, url in urls.items():
                bench.run(group, backend, f"ad hoc {group}", engine_case(url, req, False))
            if args.duckdb:
                sql_a = adhoc_sql(ref["duckdb"], dim, interval, start, end, th)
                bench.run(group, "duckdb", f"ad hoc {group}", partial(duckdb_sql, args.duckdb, sql_a))
    print()
    print(bench.summary())
    print(f"load after: {os.getloadavg()}")
    for failure in bench.failures:
        print(f"FAILED: {failure}")
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
