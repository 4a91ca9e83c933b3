"""`SqlJournal`: the `CallJournal` that makes call events durable and writes them to SQL.

``append`` only queues the event. Two tasks owned by the journal do the rest:

- the *persister* drains the queue into the outbox: one write and one fsync (in a thread) per batch,
  then hands the events to the backlog. It never waits on the database, so a hung or down database
  cannot delay durability;
- the *deliverer* writes up to ``batch_size`` backlog events to SQL in one transaction (idempotent,
  see `ccapp.storage.projection`) and forgets outbox segments that are fully stored. When the
  database fails it retries with exponential back-off.

On start, events a previous process left in the outbox are replayed before new ones.

With ``rollups`` (the KPI thresholds), the deliverer keeps the KPI roll-up current as it writes; before
its first batch it rebuilds the roll-up if it was built with other thresholds (`ensure_rollups`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from pathlib import Path

from ccapp.calls.model import CallEvent
from ccapp.errors import StorageError
from ccapp.kpi.definitions import Thresholds
from ccapp.storage.db import Database
from ccapp.storage.kpi_rollup import ensure_rollups
from ccapp.storage.outbox import MAX_SEGMENT_BYTES, Outbox, Record, decode, encode, encode_record
from ccapp.storage.projection import write_batch

log = logging.getLogger(__name__)


class SqlJournal:
    """Durable, idempotent journal of call events on top of a `Database`."""

    def __init__(
        self,
        db: Database,
        outbox_dir: Path | str,
        *,
        batch_size: int = 500,
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        write_timeout: float = 30.0,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
        rollups: Thresholds | None = None,
    ) -> None:
        self._db = db
        self._rollups = rollups
        self._rollups_checked = rollups is None
        self._outbox = Outbox(outbox_dir, max_segment_bytes=max_segment_bytes)
        self._batch_size = batch_size
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._retry_delay = retry_initial
        self._retry_at = 0.0
        self._write_timeout = write_timeout
        self._queue: deque[CallEvent] = deque()
        # Undelivered events already in the outbox, with the segment number that holds each.
        self._backlog: deque[tuple[int, Record]] = deque()
        self._queued = asyncio.Event()
        self._backlogged = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._persister_done = False  # from now on, appends are written to the outbox inline
        self._stopped = False
        self._accepted = 0  # events appended or recovered
        self._done = 0  # events stored or dead-lettered
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._db_ok = True
        self._stats = dict.fromkeys(
            ("events_written", "events_replayed", "batches", "retries", "dead_letters", "outbox_errors"), 0
        )

    # -- the CallJournal port -------------------------------------------------------------------

    def append(self, event: CallEvent) -> None:
        """Queue ``event`` for durable storage. Never blocks on I/O and never raises."""
        try:
            self._accepted += 1
            self._queue.append(event)
            if self._persister_done:
                # Late events (after stop) must not be lost either: the next process replays them.
                self._spill_queue()
            else:
                self._queued.set()
        except Exception:  # a journal bug must not break the call that reported the event
            log.exception("journal: could not accept event %s/%s", event.call_id, event.seq)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the outbox left by a previous process, then start the writer tasks."""
        if self._tasks or self._stopping:
            raise RuntimeError("SqlJournal can be started once")
        recovered = await asyncio.to_thread(self._outbox.recover)
        self._backlog.extend(recovered)
        self._accepted += len(recovered)
        self._stats["events_replayed"] = len(recovered)
        self._tasks = [
            asyncio.create_task(self._persist_loop(), name="ccapp-journal-persister"),
            asyncio.create_task(self._deliver_loop(), name="ccapp-journal-deliverer"),
        ]

    # The timeout is part of the contract, not a cancellation: when it expires, stop still closes the
    # outbox cleanly and returns, so a caller-side asyncio.timeout would do the wrong thing here.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Store what can be stored within ``timeout`` seconds; the rest stays in the outbox."""
        self._stopping = True
        self._queued.set()
        self._backlogged.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=timeout)
            if late:
                log.warning("journal: stop timed out; %d events stay in the outbox", self.pending)
                for task in late:
                    task.cancel()
                await asyncio.wait(self._tasks)
            for task in self._tasks:
                if not task.cancelled() and task.exception() is not None:
                    log.error("journal: %s failed", task.get_name(), exc_info=task.exception())
        self._persister_done = True
        self._stopped = True
        self._spill_queue()
        self._outbox.close()
        self._fail_waiters()

    async def flush(self) -> None:
        """Wait until every event appended so far is in SQL (or dead-lettered).

        Raises `StorageError` when the journal is not running or stops first. Bound the wait with
        ``asyncio.timeout``: the database may be down for a long time.
        """
        target = self._accepted
        if self._done >= target:
            return
        if not self._tasks or any(task.done() for task in self._tasks):
            raise StorageError(f"journal is not running; {self.pending} events wait in the outbox")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (target, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    # -- state ----------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events accepted but not yet in SQL."""
        return len(self._queue) + len(self._backlog)

    @property
    def db_ok(self) -> bool:
        """False after the last SQL write failed, True again after one succeeds."""
        return self._db_ok

    @property
    def stats(self) -> dict[str, int]:
        """Counters: events_written, events_replayed, batches, retries, dead_letters, outbox_errors."""
        return dict(self._stats)

    # -- queue → outbox -------------------------------------------------------------------------

    async def _persist_loop(self) -> None:
        try:
            while True:
                if self._queue:
                    await self._persist()
                    continue
                if self._stopping:
                    return
                self._queued.clear()
                await self._queued.wait()
        except Exception:
            log.exception("journal: persister crashed; events go to the outbox inline from now on")
            raise
        finally:
            self._persister_done = True
            # Cancelled or crashed: whatever is still queued is written synchronously.
            self._spill_queue()
            self._backlogged.set()

    async def _persist(self) -> None:
        """Move every queued event to the outbox (fsynced) and the backlog."""
        lines, records = self._take_queue()
        if not lines:
            return
        try:
            segment = self._outbox.append(lines)
        except OSError:
            # Still deliverable from memory; only crash safety is lost for these events.
            self._stats["outbox_errors"] += 1
            log.exception("journal: outbox write failed for %d events", len(lines))
            segment = self._outbox.current
        # Into the backlog before the fsync: a non-empty backlog is what keeps the deliverer from
        # emptying this segment, and storing in SQL before the fsync completes is harmless.
        self._backlog.extend((segment, record) for record in records)
        self._backlogged.set()
        try:
            await asyncio.to_thread(self._outbox.sync)
        except OSError:
            self._stats["outbox_errors"] += 1
            log.exception("journal: outbox fsync failed")

    def _take_queue(self) -> tuple[list[str], list[Record]]:
        lines: list[str] = []
        records: list[Record] = []
        while self._queue:
            event = self._queue.popleft()
            try:
                line = encode(event)
                # Deliver exactly what a replay would read back, so both paths store the same thing.
                records.append(decode(line))
                lines.append(line)
            except Exception as exc:  # bad data in one event must not stop the others
                self._outbox.dead_letter(repr(event), f"cannot encode: {exc!r}")
                self._finish(1, dead=1)
        return lines, records

    def _spill_queue(self) -> None:
        """Write queued events to the outbox and fsync, synchronously (shutdown path only)."""
        if not self._queue:
            return
        lines, records = self._take_queue()
        try:
            segment = self._outbox.append(lines)
            self._backlog.extend((segment, record) for record in records)
            self._backlogged.set()
            if self._stopped:
                self._outbox.close()
            else:
                self._outbox.sync()
        except OSError:
            log.exception("journal: lost %d events: the outbox cannot be written", len(lines))

    # -- backlog → SQL --------------------------------------------------------------------------

    async def _deliver_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = self._stopping or loop.time() >= self._retry_at
            if self._backlog and due:
                if await self._deliver():
                    continue
                if self._stopping:
                    return  # the database is down: what is left stays in the outbox
            if self._stopping and self._persister_done and not self._backlog:
                return
            self._backlogged.clear()
            timeout = max(0.0, self._retry_at - loop.time()) if self._backlog else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._backlogged.wait()

    async def _write(self, records: list[Record]) -> int:
        async with asyncio.timeout(self._write_timeout), self._db.engine.begin() as conn:
            if self._rollups is None:
                return await write_batch(conn, records)
            return await write_batch(conn, records, rollups=self._rollups)

    async def _check_rollups(self) -> bool:
        """Rebuild the KPI roll-up once if its thresholds differ; False when the database failed."""
        if self._rollups_checked or self._rollups is None:
            return True
        try:
            await ensure_rollups(self._db, self._rollups)
        except Exception as exc:
            if not await self._db.ping():
                self._db_failed(exc)
                return False
            # not an outage: go on; upkeep then drops the stale roll-up and reports read raw rows
            log.exception("journal: could not rebuild the KPI roll-ups")
        self._rollups_checked = True
        return True

    async def _deliver(self) -> bool:
        """Write the oldest backlog batch to SQL; False when the database failed."""
        if not await self._check_rollups():
            return False
        batch = [record for _, record in list(self._backlog)[: self._batch_size]]
        try:
            written = await self._write(batch)
        except Exception as exc:  # drivers report bad data and outages alike; the ping tells apart
            if len(batch) > 1 and await self._db.ping():
                log.warning("journal: batch of %d refused (%s); isolating bad events", len(batch), exc)
                return await self._deliver_one_by_one(batch)
            self._db_failed(exc)
            return False
        self._delivered(len(batch), written, dead=0)
        return True

    async def _deliver_one_by_one(self, batch: list[Record]) -> bool:
        """Store each event alone; set aside those refused while their neighbours go in."""
        errors: list[Exception | None] = []
        written = 0
        first_error: Exception | None = None
        for record in batch:
            try:
                written += await self._write([record])
            except Exception as exc:
                first_error = first_error or exc
                if _schema_missing(exc) or not await self._db.ping():
                    # the database went away, or its tables are not (all) there yet — a migration
                    # may be running: not this event's fault. Resume from here later.
                    break
                errors.append(exc)
            else:
                errors.append(None)
        if None not in errors:
            # Nothing went in at all: a schema or server problem, not a bad event. Keep everything.
            self._db_failed(first_error or StorageError("nothing stored"))
            return False
        for record, error in zip(batch, errors, strict=False):
            if error is not None:
                # The driver's message only: SQLAlchemy's own text would repeat the bound values.
                orig = getattr(error, "orig", None) or error
                self._outbox.dead_letter(
                    encode_record(record), f"refused by the database: {type(orig).__name__}: {orig}"
                )
        self._delivered(len(errors), written, dead=sum(e is not None for e in errors))
        if len(errors) < len(batch):
            self._db_failed(first_error or StorageError("database went away"))
            return False
        return True

    def _delivered(self, count: int, written: int, *, dead: int) -> None:
        for _ in range(count):
            self._backlog.popleft()
        self._stats["events_written"] += written
        self._stats["batches"] += 1
        if not self._db_ok:
            log.warning("journal: database is back; %d events pending", self.pending)
        self._db_ok = True
        self._retry_delay = self._retry_initial
        self._retry_at = 0.0
        try:
            self._outbox.release(self._backlog[0][0] if self._backlog else None)
        except OSError:
            log.exception("journal: could not remove stored outbox segments (they will replay)")
        self._finish(count, dead=dead)

    def _db_failed(self, exc: Exception) -> None:
        self._stats["retries"] += 1
        if self._db_ok:
            log.warning("journal: database unavailable (%r); keeping events in the outbox", exc)
        else:
            log.debug("journal: database still unavailable: %r", exc)
        self._db_ok = False
        self._retry_at = asyncio.get_running_loop().time() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self._retry_max)

    # -- flush waiters --------------------------------------------------------------------------

    def _finish(self, count: int, *, dead: int) -> None:
        self._done += count
        self._stats["dead_letters"] += dead
        for target, waiter in self._waiters:
            if target <= self._done and not waiter.done():
                waiter.set_result(None)

    def _fail_waiters(self) -> None:
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StorageError(f"journal stopped; {self.pending} events in the outbox"))


#: driver messages meaning a table or column is missing: the schema, not the event, is wrong
_SCHEMA_MISSING = ("no such table", "no such column", "does not exist", "UndefinedTable", "UndefinedColumn")


def _schema_missing(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None) or exc
    text = f"{type(orig).__name__}: {orig}"
    return any(marker in text for marker in _SCHEMA_MISSING)
