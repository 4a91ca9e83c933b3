"""Portable SQL pieces of the KPI queries: epoch seconds, durations, the zone's offset, a planner hint.

`epoch_s` and `seconds_between` are the only dialect-specific SQL of the KPI reports. SQLite stores
UTC text ``'YYYY-MM-DD HH:MM:SS[.ffffff]'``: whole seconds come from ``strftime('%s', …)`` of the
first 19 characters (its date functions would round a fraction to milliseconds) and the fraction
from the text itself. PostgreSQL uses ``date_part('epoch', …)`` and interval arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Float, case, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ccapp.kpi.buckets import Piece


class epoch_s(FunctionElement[int]):
    """Whole epoch seconds (floored) of a UTC timestamp column."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_s, "sqlite")
def _epoch_s_sqlite(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    # whole seconds only: SQLite's date functions round a fraction to milliseconds, which would
    # carry 59.9999 s into the next second (and the next bucket)
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


@compiles(epoch_s)
def _epoch_s_default(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part gives a double (extract a numeric, slower); microseconds stay far from the next second
    return f"CAST(floor(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class seconds_between(FunctionElement[float]):
    """``later - earlier`` in seconds (float) of two UTC timestamp columns."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # stored text is 'YYYY-MM-DD HH:MM:SS[.ffffff]': whole seconds from strftime, the fraction from
    # the text itself (SQLite's date functions round to milliseconds)
    whole = (
        f"(CAST(strftime('%s', substr({later}, 1, 19)) AS INTEGER)"
        f" - CAST(strftime('%s', substr({earlier}, 1, 19)) AS INTEGER))"
    )
    frac = f"(CAST(substr({later}, 20) AS REAL) - CAST(substr({earlier}, 20) AS REAL))"
    return f"({whole} + {frac})"


@compiles(seconds_between)
def _between_default(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(extract(epoch from ({later} - {earlier})) AS DOUBLE PRECISION)"


async def prefer_hash_aggregation(conn: AsyncConnection) -> None:
    """On PostgreSQL, steer this transaction's plans away from sorting for GROUP BY.

    The planner estimates a group per row for an expression over a timestamp (it knows the column's
    distinct values, not the bucket's), so it sorts (or index-scans and incrementally sorts) every
    row where a hash of a few thousand groups is 2-3 times faster (10 M queue entries by queue and
    day: 13.3 s → 5.6 s). Only for connections the report opened itself.
    """
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET LOCAL enable_sort = off")
        await conn.exec_driver_sql("SET LOCAL enable_incremental_sort = off")


def int_literal(n: int) -> ColumnElement[int]:
    # integers inlined, so a bucket expression is the same text in SELECT and GROUP BY
    return literal_column(str(int(n)), BigInteger())


def offset_expr(pieces: Sequence[Piece], e: ColumnElement[int]) -> ColumnElement[int]:
    """The zone's UTC offset at epoch seconds ``e``: a CASE over the transitions in the period."""
    if len(pieces) <= 1:
        return int_literal(pieces[0].offset if pieces else 0)
    whens = [(e < int_literal(nxt.since), int_literal(p.offset)) for p, nxt in pairwise(pieces)]
    return case(*whens, else_=int_literal(pieces[-1].offset))
